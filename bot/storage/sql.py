"""What hand-written SQL needs from Tortoise: a model's metadata, its connection, and
the dialect's placeholders.

A few statements every customer message makes are written by hand, once per dialect
(``sender_rows.py``, ``thread_refs.py``, ``updates.py``): Tortoise would build them anew
at every call. They share these three helpers, so the one reach into Tortoise's model
metadata (``Model._meta``) is here.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import MetaInfo, Model


def meta(model: type[Model]) -> MetaInfo:
    """Tortoise's metadata of ``model``: its table, columns and fields."""
    return model._meta


def connection(model: type[Model]) -> BaseDBAsyncClient:
    """The connection ``model`` uses now: inside a transaction, the transaction's."""
    return model._meta.db


def placeholders(db: BaseDBAsyncClient, count: int, first: int = 1) -> list[str]:
    """``count`` parameter marks in ``db``'s dialect: "?" each (SQLite), or "$n"
    numbered from ``first`` (PostgreSQL)."""
    if db.capabilities.dialect == "postgres":
        return [f"${n}" for n in range(first, first + count)]
    return ["?"] * count
