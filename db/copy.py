"""Moving house: copy a whole installation's database (SQLite) into an empty PostgreSQL.

The target gets the schema by the same migrations (``upgrade``), then every table in
dependency order (a row's foreign keys point at rows already copied), in batches, with
the values converted by the models' own fields (SQLite's text dates and 0/1 booleans
become PostgreSQL's timestamps and booleans). Identity sequences are then moved past the
copied ids, so the next ticket keeps counting where the old installation stopped.

Verification reads every table back from the target and compares, per table, the row
count and a SHA-256 over the rows in primary-key order (values normalised: instants in
UTC, JSON with sorted keys), the same function on both sides.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from tortoise import Tortoise, connections
from tortoise.fields.relational import RelationalField
from tortoise.models import Model

from db import models
from db.connection import tortoise_config, upgrade

BATCH = 500


class CopyRefused(Exception):
    """The copy cannot start (the target is not empty, or not PostgreSQL)."""


@dataclass(frozen=True)
class TableCopy:
    table: str
    rows: int
    checksum: str
    verified: bool


def ordered_models() -> list[type[Model]]:
    """Our models, each after the models its foreign keys point to."""
    found = [m for m in vars(models).values()
             if isinstance(m, type) and issubclass(m, Model) and m is not Model
             and m.__module__ == models.__name__ and not m._meta.abstract]
    done: list[type[Model]] = []

    def visit(model: type[Model], path: tuple[type[Model], ...] = ()) -> None:
        if model in done or model in path:
            return
        for name in model._meta.fk_fields | model._meta.o2o_fields:
            field = model._meta.fields_map[name]
            assert isinstance(field, RelationalField)  # a foreign key or one-to-one
            related = field.related_model
            if related is not model:
                visit(related, (*path, model))
        done.append(model)

    for model in sorted(found, key=lambda m: m._meta.db_table):
        visit(model)
    return done


def _columns(model: type[Model]) -> list[tuple[str, Any]]:
    """(column, field) for every stored column, in a fixed order."""
    meta = model._meta
    return sorted(((meta.fields_db_projection[name], meta.fields_map[name])
                   for name in meta.fields_db_projection), key=lambda c: c[0])


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):  # the instant, whatever zone each side reports
        return value.isoformat() if value.tzinfo is None else value.timestamp()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


class _Digest:
    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.rows = 0

    def add(self, row: list[Any]) -> None:
        self.sha.update(json.dumps([_canonical(v) for v in row], sort_keys=True,
                                   ensure_ascii=False, default=str).encode())
        self.sha.update(b"\n")
        self.rows += 1


async def _rows(conn: Any, model: type[Model]) -> AsyncIterator[list[Any]]:
    """Rows of ``model`` in primary-key order, as Python values, in batches."""
    cols = _columns(model)
    pk = model._meta.db_pk_column
    select = ", ".join(f'"{c}"' for c, _ in cols)
    offset = 0
    while True:
        batch = await conn.execute_query_dict(
            f'SELECT {select} FROM "{model._meta.db_table}" ORDER BY "{pk}" '
            f"LIMIT {BATCH} OFFSET {offset}")
        for raw in batch:
            yield [field.to_python_value(raw[c]) for c, field in cols]
        if len(batch) < BATCH:
            return
        offset += BATCH


async def copy_database(source_url: str, target_url: str,
                        progress: Callable[[TableCopy], None] = lambda _: None,
                        ) -> list[TableCopy]:
    """Copy every table of ``source_url`` into the empty PostgreSQL ``target_url``."""
    if not target_url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        raise CopyRefused("El destino debe ser una base PostgreSQL (postgres://…).")
    await upgrade(source_url)  # the source's schema is the current one, as the target's
    await upgrade(target_url)
    config = tortoise_config(source_url)
    config["connections"]["target"] = target_url
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        source, target = connections.get("default"), connections.get("target")
        order = ordered_models()
        for model in order:
            table = model._meta.db_table
            found = await target.execute_query_dict(f'SELECT 1 FROM "{table}" LIMIT 1')
            if found:
                raise CopyRefused(f"La base de destino no está vacía (tabla {table}): "
                                  "copie solo a una base nueva.")
        report = []
        for model in order:
            report.append(await _copy_table(source, target, model))
            progress(report[-1])
        return report
    finally:
        await Tortoise.close_connections()


async def _copy_table(source: Any, target: Any, model: type[Model]) -> TableCopy:
    table = model._meta.db_table
    cols = _columns(model)
    names = ", ".join(f'"{c}"' for c, _ in cols)
    marks = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
    insert = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
    written = _Digest()
    batch: list[list[Any]] = []
    async for row in _rows(source, model):
        written.add(row)
        batch.append([field.to_db_value(v, model) for v, (_, field) in zip(row, cols, strict=True)])
        if len(batch) >= BATCH:
            await target.execute_many(insert, batch)
            batch = []
    if batch:
        await target.execute_many(insert, batch)
    pk_field = model._meta.pk
    if getattr(pk_field, "generated", False):
        pk = model._meta.db_pk_column
        await target.execute_script(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{pk}'), "
            f'COALESCE(MAX("{pk}"), 1), MAX("{pk}") IS NOT NULL) FROM "{table}"')
    read = _Digest()
    async for row in _rows(target, model):
        read.add(row)
    checksum = written.sha.hexdigest()
    return TableCopy(table, written.rows, checksum,
                     verified=read.rows == written.rows and read.sha.hexdigest() == checksum)
