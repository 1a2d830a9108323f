"""Counting the SQL statements a piece of work sends, on SQLite and on PostgreSQL.

``count_statements()`` wraps the execute methods of Tortoise's database clients (the
plain connection and the transaction wrappers) for as long as the block runs, and records
each statement's SQL. What it counts: every data statement (SELECT, INSERT, UPDATE,
DELETE; a bulk insert counts once), each one a round trip to the database (on SQLite a
hop to the aiosqlite thread). Transaction control (``BEGIN``/``COMMIT``/``ROLLBACK``, and
``SAVEPOINT``/``RELEASE`` of a nested transaction, by the client method's name) is
recorded apart, in ``transactions``, since its cost differs per database. A statement
counts once even when one client method calls another. A count is a property of the
code, not a timing, so tests may assert on it; the bench uses it as well.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

_EXECUTES = ("execute_insert", "execute_many", "execute_query", "execute_query_dict",
             "execute_script")
_CONTROL = ("begin", "commit", "rollback",  # and a nested transaction's savepoints:
            "savepoint", "release_savepoint", "savepoint_rollback")
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("_inside", default=False)


@dataclass
class Statements:
    sql: list[str] = field(default_factory=list)
    transactions: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.sql)

    def reset(self) -> None:
        self.sql.clear()
        self.transactions.clear()

    def __str__(self) -> str:
        return "\n".join(f"{i + 1:>3}. {s[:200]}" for i, s in enumerate(self.sql))


def _clients() -> list[type[BaseDBAsyncClient]]:
    found: list[type[BaseDBAsyncClient]] = []
    todo = [BaseDBAsyncClient]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _counted(original: Callable[..., Any], sink: list[str], label: str | None) -> Any:
    @wraps(original)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _inside.get():
            return await original(self, *args, **kwargs)
        sink.append(label or (str(args[0]) if args else str(kwargs.get("query", ""))))
        token = _inside.set(True)
        try:
            return await original(self, *args, **kwargs)
        finally:
            _inside.reset(token)
    return wrapper


@contextmanager
def count_statements() -> Iterator[Statements]:
    """Count every statement sent while the block runs (in every task of the loop)."""
    seen = Statements()
    patched: list[tuple[type[Any], str, Any]] = []
    for cls in _clients():
        for name in (*_EXECUTES, *_CONTROL):
            original = cls.__dict__.get(name)
            if original is None:
                continue
            sink, label = (seen.sql, None) if name in _EXECUTES else (seen.transactions, name)
            patched.append((cls, name, original))
            setattr(cls, name, _counted(original, sink, label))
    try:
        yield seen
    finally:
        for cls, name, original in reversed(patched):
            setattr(cls, name, original)
