"""Conditional UPDATEs whose SQL is built once per shape.

``Model.filter(...).update(...)`` builds its statement anew at every call: pypika copies
the query at each step, and for the two UPDATEs every customer message makes (the
ticket's optimistic save, the inbox item's "processed" mark) that costs more CPU than
the database takes to run them. ``update_where`` builds ``UPDATE t SET a=?, b=? WHERE
c=? AND d=?`` once per (dialect, model, columns set, columns matched) and converts each
value as Tortoise's own update does (the field's ``to_db_value``; no model here uses
``auto_now``, the one case where an update would differ).

Only plain columns by field name (a relation by its ``<name>_id``), compared for
equality: anything else stays a queryset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from bot.storage.sql import connection, meta, placeholders

_SQL: dict[tuple[str, type[Model], tuple[str, ...], tuple[str, ...]], str] = {}


def _statement(db: BaseDBAsyncClient, model: type[Model], sets: tuple[str, ...],
               where: tuple[str, ...]) -> str:
    key = (db.capabilities.dialect, model, sets, where)
    sql = _SQL.get(key)
    if sql is None:
        columns = meta(model).fields_db_projection
        unknown = [name for name in (*sets, *where) if name not in columns]
        if unknown or not sets or not where:
            raise ValueError(f"update_where needs plain columns of {model.__name__}: {unknown}")
        marks = iter(placeholders(db, len(sets) + len(where)))
        assigned = ",".join(f'"{columns[name]}"={next(marks)}' for name in sets)
        matched = " AND ".join(f'"{columns[name]}"={next(marks)}' for name in where)
        sql = _SQL[key] = f'UPDATE "{meta(model).db_table}" SET {assigned} WHERE {matched}'
    return sql


async def update_where(model: type[Model], where: Mapping[str, Any],
                       values: Mapping[str, Any]) -> int:
    """``model.filter(**where).update(**values)``; returns the rows changed."""
    db = connection(model)
    sql = _statement(db, model, tuple(values), tuple(where))
    fields = meta(model).fields_map
    params = [fields[name].to_db_value(value, model) for name, value in values.items()]
    params += [fields[name].to_db_value(value, model) for name, value in where.items()]
    changed, _ = await db.execute_query(sql, params)
    return int(changed)
