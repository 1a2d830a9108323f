"""Push: every queued change reaches NocoDB, batched, in order, never lost.

A pass reads the oldest queued rows, coalesces them per record, loads each record's
current state, and upserts by our id (Atiende_Id / Ticket): a record we have not
mapped yet is first looked up by its key, so a crash after NocoDB inserted a row but
before we noted its id never makes a second row. Customers go before their tickets,
tickets before their interactions (links need the parent's row). Queue rows are
deleted only after NocoDB accepted them; 429, 5xx and network errors leave them for
the next pass, with backoff, and the team is told once when the outage lasts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from bot.clock import Clock
from bot.nocodb.alerts import Alert
from bot.nocodb.api import NocoApi, NocoRejected, NocoUnavailable
from bot.nocodb.mapping import KINDS, Schema, link_of, record_fields, spans
from bot.nocodb.schema import resolve
from bot.settings import Settings
from db.models import Customer, Interaction, NocoRow, NocoSync, Ticket

log = logging.getLogger(__name__)

BATCH = 500  # rows per bulk request
IN_FLIGHT = 2  # bulk requests at once
PASS_LIMIT = 5000  # queue rows read per pass
LOOKUP_PAGE = 1000
SPAN_GAP = 1000  # ids further apart than this are looked up in separate ranges
BACKOFF = (1, 2, 5, 10, 30, 60)


def backoff(failures: int) -> float:
    return float(BACKOFF[min(max(failures - 1, 0), len(BACKOFF) - 1)])


class Pusher:
    """Drains ``nocodb_sync`` into the base; ``run`` is the background loop."""

    def __init__(self, api: NocoApi, settings: Settings, clock: Clock,
                 alert: Alert | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._api = api
        self._settings = settings
        self._clock = clock
        self._alert = alert
        self._sleep = sleep
        self._wake = asyncio.Event()
        self.schema: Schema | None = None
        self.failures = 0
        self.unreachable_since: datetime | None = None
        self.alerted = False
        self.rejected: list[str] = []  # records NocoDB refused (logged; see `nocodb check`)
        self.last_batch = 0

    def wake(self) -> None:
        self._wake.set()

    async def ensure_schema(self) -> Schema:
        if self.schema is None:
            self.schema = await resolve(self._api, self._settings)
        return self.schema

    # --- the loop ----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, idle_seconds: float = 2.0) -> None:
        while not stop.is_set():
            delay = idle_seconds
            try:
                await self.push_once()
                if self.last_batch:
                    continue
            except NocoUnavailable as exc:
                delay = await self.unreachable(exc)
            except Exception:
                log.exception("nocodb push pass failed")
            self._wake.clear()
            waiters = {asyncio.ensure_future(self._wake.wait()),
                       asyncio.ensure_future(stop.wait())}
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def drain(self, max_failures: int = 1000) -> int:
        """Push until the queue is empty (backfill, tests); waits out outages."""
        total = 0
        while True:
            try:
                pushed = await self.push_once()
            except NocoUnavailable as exc:
                delay = await self.unreachable(exc)
                if self.failures >= max_failures:
                    raise
                await self._sleep(delay)
                continue
            total += pushed
            if not self.last_batch:
                return total

    async def unreachable(self, exc: Exception) -> float:
        """Count the failure; tell the team once the outage is longer than the setting."""
        self.failures += 1
        now = self._clock.now()
        if self.unreachable_since is None:
            self.unreachable_since = now
        log.warning("nocodb unreachable (failure %s): %s", self.failures, exc)
        limit = timedelta(seconds=self._settings.nocodb_unreachable_alert_seconds)
        if not self.alerted and now - self.unreachable_since >= limit:
            self.alerted = True
            if self._alert is not None:
                minutes = round(limit.total_seconds() / 60)
                await self._alert("NocoDB no responde",
                                  f"NocoDB no responde hace más de {minutes} min ({exc}). "
                                  "Los cambios quedan en cola y se enviarán al volver; "
                                  "no se pierde nada.")
        return backoff(self.failures)

    def _reachable(self) -> None:
        if self.unreachable_since is not None:
            log.info("nocodb reachable again after %s failures", self.failures)
        self.failures = 0
        self.unreachable_since = None
        self.alerted = False

    # --- one pass --------------------------------------------------------------------
    async def push_once(self, limit: int | None = None,
                        force: Iterable[tuple[str, int]] = ()) -> int:
        """Push the oldest queued changes; returns how many records were pushed."""
        queued = await NocoSync.all().order_by("id").limit(limit or PASS_LIMIT).values("id", "kind", "ref_id")
        self.last_batch = len(queued)  # queue rows taken (all may turn out unchanged)
        if not queued:
            return 0
        schema = await self.ensure_schema()
        wanted: dict[str, set[int]] = defaultdict(set)
        for row in queued:
            wanted[row["kind"]].add(row["ref_id"])
        interactions = await Interaction.filter(id__in=wanted["interaccion"])
        wanted["ticket"] |= await _unmapped("ticket", {i.ticket_id for i in interactions})
        tickets = await Ticket.filter(id__in=wanted["ticket"]).select_related("assignee")
        wanted["cliente"] |= await _unmapped("cliente", {t.customer_id for t in tickets})
        customers = await Customer.filter(id__in=wanted["cliente"])
        forced = set(force)
        pushed = await self._upsert(schema, "cliente", customers, forced)
        pushed += await self._upsert(schema, "ticket", tickets, forced)
        pushed += await self._upsert(schema, "interaccion", interactions, forced)
        await NocoSync.filter(id__in=[r["id"] for r in queued]).delete()
        self._reachable()
        return pushed

    async def _upsert(self, schema: Schema, kind: str, records: list[Any],
                      forced: set[tuple[str, int]]) -> int:
        if not records:
            return 0
        table = KINDS[kind]
        table_id = schema.tables.get(table)
        if table_id is None:
            raise NocoRejected(f"no table {table} in the base (run: atiende nocodb setup)")
        mapped = {r.ref_id: r for r in await NocoRow.filter(
            kind=kind, ref_id__in=[rec.id for rec in records])}
        missing = [rec.id for rec in records if rec.id not in mapped]
        if missing:
            mapped.update(await self._lookup(schema, kind, table_id, missing))
        parents = await self._parents(kind, records)
        inserts: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
        updates: list[tuple[NocoRow, dict[str, Any], dict[str, Any]]] = []
        for rec in records:
            values = record_fields(kind, rec)
            body = {schema.col(table, k): v for k, v in values.items()}
            link = link_of(schema, kind, rec, parents)
            if link is not None:
                body[link[0]] = link[1]
                values["_parent"] = link[1]
            row = mapped.get(rec.id)
            if row is None:
                inserts.append((rec.id, body, values))
            elif row.pushed != values or (kind, rec.id) in forced:
                updates.append((row, {"Id": row.row_id, **body}, values))
        now = self._clock.now()
        db = asyncio.Lock()  # our own writes one at a time; NocoDB's requests overlap them

        async def insert(part: list[Any]) -> None:
            chunk = await self._accepted(kind, part,
                                         lambda rows: self._api.insert(table_id, rows))
            async with db:
                await NocoRow.bulk_create([
                    NocoRow(kind=kind, ref_id=ref, row_id=int(res["Id"]), pushed=values,
                            pushed_at=now) for (ref, _, values), res in chunk])

        async def update(part: list[Any]) -> None:
            done = await self._accepted(kind, part,
                                        lambda rows: self._api.update(table_id, rows))
            async with db, in_transaction():
                for (row, _, values), _res in done:
                    await NocoRow.filter(id=row.id).update(pushed=values, pushed_at=now)

        await _overlapped(insert, inserts)
        await _overlapped(update, updates)
        return len(inserts) + len(updates)

    async def _accepted(self, kind: str, chunk: list[Any],
                        send: Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]
                        ) -> list[tuple[Any, dict[str, Any]]]:
        """Send a chunk; when NocoDB refuses it (one bad value refuses the whole request),
        send its rows one by one so one bad record never holds the others back."""
        try:
            return list(zip(chunk, await send([body for _, body, _ in chunk]), strict=True))
        except NocoRejected as exc:
            if len(chunk) == 1:
                log.error("nocodb refused %s %s: %s", kind, _ref(chunk[0][0]), exc)
                self.rejected.append(f"{kind} {_ref(chunk[0][0])}: {exc}")
                return []
        accepted: list[tuple[Any, dict[str, Any]]] = []
        for item in chunk:
            accepted += await self._accepted(kind, [item], send)
        return accepted

    async def _lookup(self, schema: Schema, kind: str, table_id: str,
                      refs: list[int]) -> dict[int, NocoRow]:
        """Rows NocoDB already has for these ids (inserted before a crash or an outage).

        One ranged query per span of ids (new records are mostly consecutive), so a
        backfill asks once per pass instead of once per record."""
        table = KINDS[kind]
        key = schema.key(table)
        wanted = set(refs)
        found: dict[int, NocoRow] = {}
        for low, high in spans(sorted(refs), SPAN_GAP):
            where = f"({key},gte,{low})~and({key},lte,{high})"
            offset = 0
            while True:
                page = await self._api.records(table_id, where=where, fields=f"Id,{key}",
                                               limit=LOOKUP_PAGE, offset=offset)
                for item in page.get("list", []):
                    ref = item.get(key)
                    if isinstance(ref, int | float) and int(ref) in wanted \
                            and int(ref) not in found:
                        found[int(ref)] = NocoRow(kind=kind, ref_id=int(ref),
                                                  row_id=int(item["Id"]), pushed={},
                                                  pushed_at=self._clock.now())
                if page.get("pageInfo", {}).get("isLastPage", True) or not page.get("list"):
                    break
                offset += LOOKUP_PAGE
        if found:
            await NocoRow.bulk_create(list(found.values()))
            found = {r.ref_id: r for r in await NocoRow.filter(
                kind=kind, ref_id__in=list(found))}
        return found

    async def _parents(self, kind: str, records: list[Any]) -> dict[int, int]:
        """Our parent id -> its NocoDB row id (customers of tickets, tickets of interactions)."""
        if kind == "ticket":
            parent_kind, ids = "cliente", {r.customer_id for r in records}
        elif kind == "interaccion":
            parent_kind, ids = "ticket", {r.ticket_id for r in records}
        else:
            return {}
        rows = await NocoRow.filter(kind=parent_kind, ref_id__in=list(ids))
        return {r.ref_id: r.row_id for r in rows}


async def _overlapped(work: Callable[[list[Any]], Awaitable[None]], items: list[Any]) -> None:
    """Send BATCH-sized chunks, IN_FLIGHT at a time: while NocoDB stores one, the next
    is on its way. Every chunk finishes (and is noted) before the first error is raised,
    so nothing NocoDB accepted is forgotten."""
    chunks = [items[s:s + BATCH] for s in range(0, len(items), BATCH)]
    for start in range(0, len(chunks), IN_FLIGHT):
        results = await asyncio.gather(*(work(c) for c in chunks[start:start + IN_FLIGHT]),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


def _ref(item: Any) -> int:
    return int(item.ref_id if isinstance(item, NocoRow) else item)


async def _unmapped(kind: str, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    known = set(await NocoRow.filter(kind=kind, ref_id__in=list(ids))
                .values_list("ref_id", flat=True))
    return ids - known


__all__ = ["Pusher", "backoff"]
