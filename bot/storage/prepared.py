"""Hot reads whose SQL is built once.

Tortoise builds a query's SQL anew at every call: for a ticket with its customer and
assignee, joined on the customer's phone, that is about half a millisecond of CPU, more
than the database takes to answer it, and the intake asks it for every message. A
``PreparedSelect`` builds the query of one shape once per SQL dialect, with probe values
in place of the arguments, remembers where the probes sit among the parameters, and then
runs that SQL with the real values, hydrating the rows exactly as the queryset would
(related models included).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)


class PreparedSelect(Generic[M]):
    """``build(*args)`` returns the queryset; each argument must reach the SQL as one
    parameter unchanged (text or a whole number, compared as is)."""

    def __init__(self, model: type[M], build: Callable[..., QuerySet[M]],
                 probes: Sequence[str | int]) -> None:
        self._model = model
        self._build = build
        self._probes = tuple(probes)
        self._shapes: dict[str, tuple[str, list[Any], list[int], QuerySet[M]]] = {}

    def _shape(self, db: BaseDBAsyncClient) -> tuple[str, list[Any], list[int], QuerySet[M]]:
        dialect = db.capabilities.dialect
        shape = self._shapes.get(dialect)
        if shape is None:
            query = self._build(*self._probes)
            query._db = db
            query._make_query()
            sql, params = query.query.get_parameterized_sql()
            slots = [params.index(p) for p in self._probes]
            if any(params.count(p) != 1 for p in self._probes):
                raise ValueError(f"each probe must appear once in {params!r}")
            shape = self._shapes[dialect] = (sql, list(params), slots, query)
        return shape

    async def all(self, *values: str | int) -> list[M]:
        db = self._model._meta.db  # the transaction's connection inside one
        sql, template, slots, query = self._shape(db)
        params = list(template)
        for slot, value in zip(slots, values, strict=True):
            params[slot] = value
        executor = db.executor_class(
            model=self._model, db=db, prefetch_map=query._prefetch_map,
            prefetch_queries=query._prefetch_queries,
            # Tortoise's own annotation is narrower than what it stores there
            select_related_idx=cast("list[Any]", query._select_related_idx))
        rows: list[M] = await executor.execute_select(
            sql, params, custom_fields=list(query._annotations))
        return rows

    async def first(self, *values: str | int) -> M | None:
        """The first row (the shape should carry its own ``limit(1)``)."""
        rows = await self.all(*values)
        return rows[0] if rows else None
