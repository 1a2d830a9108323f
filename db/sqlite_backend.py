"""Tortoise's SQLite engine, with write transactions that start ``BEGIN IMMEDIATE``.

With a plain ``BEGIN`` a transaction that reads and then writes fails at once with
"database is locked" when another process (a second ``atiende`` process, a CLI command,
a test) committed in between; ``busy_timeout`` cannot help it. ``BEGIN IMMEDIATE`` takes
the write lock up front, so the second writer simply waits for ``busy_timeout``.
Named as the engine in ``db.connection.tortoise_config``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> SqliteTransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient


def get_client_class(db_info: dict[str, Any]) -> type[SqliteClient]:
    return ImmediateSqliteClient
