"""``services.records``: the one door the CLI and the chat front ends use for backups,
personal-data requests and case files. Front ends get paths, bytes and plain results.

Who may: a person's data (export, anonymise) only the administrator, or the operator
at the command line (a system actor); a ticket's case file any active team member.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.process.clock import Clock
from bot.process.domain import Estado
from bot.process.errors import CustomerNotFound, NotAllowed
from bot.process.settings import Settings
from bot.process.views import Actor, CustomerView
from bot.records import scrub
from bot.records.backup import attachments_dir
from bot.records.casefile import build_case_file, write_archive
from bot.records.casefile_html import render_case_file
from bot.records.people import find_person
from bot.records.privacy import (
    ANONYMOUS_PREFIX,
    AnonymisationResult,
    anonymise_person,
    export_person,
)
from bot.storage.kv import KeyValueStore
from bot.storage.presenters import customer_view
from bot.tickets.queries import TicketQueries
from db.models import Customer, Ticket

KV = "records"
COMPACT_PENDING = "compact_pending"
ADMIN_ONLY = "Solo la administración puede atender solicitudes de datos personales."


@dataclass(frozen=True)
class PersonSummary:
    """What the administrator confirms before acting on a person's data."""

    customer: CustomerView
    tickets: int
    open_tickets: tuple[int, ...]


class RecordsService:
    def __init__(self, settings: Settings, clock: Clock, queries: TicketQueries,
                 kv: KeyValueStore) -> None:
        self._settings = settings
        self._clock = clock
        self._queries = queries
        self._kv = kv

    # --- case file ----------------------------------------------------------------------
    async def write_case_file(self, number: int, target: Path) -> Path:
        """The ticket's case file archive, written into ``target``."""
        zone = self._settings.zone
        case = await build_case_file(self._queries, number, self._clock.now(),
                                     self._settings.company_name)
        html = render_case_file(case, zone)
        return await asyncio.to_thread(write_archive, case, html, target, zone)

    async def case_file_bytes(self, actor: Actor, number: int) -> tuple[str, bytes]:
        """For a chat upload: ``(file name, content)``."""
        if not actor.is_member:
            raise NotAllowed("Solo los miembros del equipo pueden pedir un expediente.")
        with tempfile.TemporaryDirectory() as tmp:
            path = await self.write_case_file(number, Path(tmp))
            return path.name, path.read_bytes()

    # --- personal data ------------------------------------------------------------------
    def _check(self, actor: Actor) -> None:
        if actor.member is not None and not actor.is_admin:
            raise NotAllowed(ADMIN_ONLY)

    async def person(self, actor: Actor, ref: str) -> PersonSummary:
        self._check(actor)
        customer = await find_person(ref)
        estados = await Ticket.filter(customer_id=customer.id).values_list("id", "estado")
        open_ids = tuple(n for n, estado in estados if Estado(estado).is_open)
        return PersonSummary(customer_view(customer), len(estados), open_ids)

    async def export_person(self, actor: Actor, ref: str, target: Path,
                            customer_id: int | None = None) -> Path:
        self._check(actor)
        customer = await self._customer(ref, customer_id)
        return await export_person(customer, target, self._settings.zone, actor.name,
                                   self._clock.now())

    async def export_person_bytes(self, actor: Actor, ref: str,
                                  customer_id: int | None = None) -> tuple[str, bytes]:
        with tempfile.TemporaryDirectory() as tmp:
            path = await self.export_person(actor, ref, Path(tmp), customer_id)
            return path.name, path.read_bytes()

    async def anonymise(self, actor: Actor, ref: str, *, force: bool = False,
                        customer_id: int | None = None) -> AnonymisationResult:
        """Anonymise one person everywhere in the data directory (see ``privacy`` and
        ``scrub``); ``customer_id`` pins the person a confirmation was shown for."""
        self._check(actor)
        customer = await self._customer(ref, customer_id)
        result = await self._anonymise(customer, actor, force)
        result.database_scrubbed = await self.compact()
        return result

    async def compact(self) -> bool:
        """Rewrite the database without old values; a failure is remembered so the
        daily jobs try again (``compact_pending``)."""
        done = await scrub.compact_database()
        if done:
            await self._kv.delete(KV, COMPACT_PENDING)
        else:
            await self._kv.set(KV, COMPACT_PENDING, {"since": self._clock.now().isoformat()})
        return done

    async def compact_if_pending(self) -> bool:
        """For the daily jobs: True when a pending compaction was completed now."""
        if await self._kv.get(KV, COMPACT_PENDING) is None:
            return False
        return await self.compact()

    @staticmethod
    async def _customer(ref: str, customer_id: int | None) -> Customer:
        if customer_id is None:
            return await find_person(ref)
        customer = await Customer.get_or_none(id=customer_id)
        if customer is None:
            raise CustomerNotFound(str(customer_id))
        return customer

    async def _anonymise(self, customer: Customer, actor: Actor,
                         force: bool) -> AnonymisationResult:
        await scrub.enable_secure_delete()
        result = await anonymise_person(customer, actor.name, self._clock.now(), force=force)
        result.files_deleted, result.files_shared = await scrub.delete_files(
            result.files_to_delete, attachments_dir(self._settings))
        return result

    async def retention_sweep(self) -> list[int]:
        """Anonymise customers with no ticket activity for the configured years (and none
        open); the database is compacted once at the end."""
        years = self._settings.anonymise_after_years
        if not years:
            return []
        cutoff = self._clock.now() - timedelta(days=365 * years + years // 4)
        actor = Actor.system(f"retención ({years} años)")
        open_estados = [e for e in Estado if e.is_open]
        done: list[int] = []
        for customer in await Customer.filter(created_at__lt=cutoff):
            if customer.name.startswith(ANONYMOUS_PREFIX) and not (customer.email
                                                                   or customer.phone):
                continue  # done already
            recent = Ticket.filter(customer_id=customer.id, updated_at__gte=cutoff)
            still_open = Ticket.filter(customer_id=customer.id, estado__in=open_estados)
            if await recent.exists() or await still_open.exists():
                continue
            await self._anonymise(customer, actor, False)
            done.append(customer.id)
        if done:
            await self.compact()
        return done
