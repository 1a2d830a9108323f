"""Pull: edits the company makes in NocoDB come back into Atiende.

Only chosen columns come back (customer Nombre/Correo/Telefono/RUT; ticket Prioridad,
Tipo_Incidencia, Responsable). A value counts as an edit only when it differs from
what we last wrote there (``NocoRow.pushed``): our own writes, echoed by NocoDB's
webhooks, never come back as edits. Each applied edit is a line in the ticket's
history, made "in NocoDB" by its user. Estado is the process's to change: an Estado
edited in NocoDB (e.g. Resuelto without the customer's conformity) is not applied;
the row is put back, the history notes why, and the team is told.
"""

from __future__ import annotations

import logging
from typing import Any

from tortoise.transactions import in_transaction

from bot.nocodb.alerts import Alert
from bot.nocodb.api import NocoApi
from bot.nocodb.mapping import CLIENTES, TICKETS, Schema, parse_when
from bot.nocodb.push import Pusher
from bot.people.customers import normalise_email, normalise_phone
from bot.process.domain import Estado, InteractionKind, Prioridad, TipoIncidencia
from bot.process.errors import InvalidInput
from bot.process.events import EventKind
from bot.process.views import Actor
from bot.storage.nocodb_queue import changed
from db.models import Customer, NocoRow, TeamMember, Ticket

log = logging.getLogger(__name__)

PULLED = {CLIENTES: ("Nombre", "Correo", "Telefono", "RUT"),
          TICKETS: ("Prioridad", "Tipo_Incidencia", "Responsable")}
KIND = {CLIENTES: "cliente", TICKETS: "ticket"}
MAX_ROWS = 500  # rows handled from one webhook
UNKNOWN_USER = "un usuario"
CUSTOMER_ATTR = {"Nombre": "name", "Correo": "email", "Telefono": "phone", "RUT": "rut"}


def _norm(value: object) -> Any:
    if isinstance(value, str):
        return value.strip() or None
    return value


def _user(payload: dict[str, Any], row: dict[str, Any]) -> str:
    for source in (row, payload):
        for key in ("UpdatedBy", "LastModifiedBy", "nc_updated_by", "user"):
            value = source.get(key)
            if isinstance(value, dict):
                value = value.get("email") or value.get("display_name")
            if isinstance(value, str) and value.strip():
                return value.strip()[:100]
    return UNKNOWN_USER


class Puller:
    def __init__(self, api: NocoApi, services: Any, pusher: Pusher,
                 alert: Alert | None = None) -> None:
        self._api = api
        self._services = services
        self._tickets = services.tickets
        self._pusher = pusher
        self._alert = alert

    async def receive(self, payload: dict[str, Any]) -> int:
        """A webhook body (``records.after.update``/``bulkUpdate``): returns edits handled."""
        raw_data = payload.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        raw_rows = data.get("rows")
        rows: list[Any] = raw_rows if isinstance(raw_rows, list) else []
        schema = await self._pusher.ensure_schema()
        table = schema.table_of(str(data.get("table_id", "")))
        if table not in PULLED:
            return 0
        handled = 0
        for row in rows[:MAX_ROWS]:
            if isinstance(row, dict):
                handled += await self.apply(schema, table, row, _user(payload, row))
        if handled:
            self._pusher.wake()
        return handled

    async def reconcile(self, page_size: int = 200) -> int:
        """Rows updated since the last pass (any webhook that never arrived)."""
        schema = await self._pusher.ensure_schema()
        handled = 0
        for table in PULLED:
            table_id = schema.tables.get(table)
            if table_id is None:
                continue
            mark = (await self._services.kv.get("nocodb", f"reconciled:{table}") or {}).get("at")
            since = parse_when(mark)
            newest = mark
            offset = 0
            while True:
                page = await self._api.records(table_id, sort="-UpdatedAt", limit=page_size,
                                               offset=offset)
                rows = page.get("list", [])
                for row in rows:
                    stamp = parse_when(row.get("UpdatedAt"))
                    if stamp is None or (since is not None and stamp < since):
                        rows = []
                        break
                    newest = max(newest or "", row["UpdatedAt"])
                    handled += await self.apply(schema, table, row, _user({}, row))
                if len(rows) < page_size:
                    break
                offset += page_size
            if newest:
                await self._services.kv.set("nocodb", f"reconciled:{table}", {"at": newest})
        if handled:
            self._pusher.wake()
        return handled

    async def apply(self, schema: Schema, table: str, row: dict[str, Any], user: str) -> int:
        """One NocoDB row: apply what the company changed in it; returns 1 if anything."""
        ref = row.get(schema.key(table))
        if not isinstance(ref, int | float):
            return 0
        mapping = await NocoRow.get_or_none(kind=KIND[table], ref_id=int(ref))
        if mapping is None:
            return 0  # not ours (or not pushed yet)
        # Only columns we have written count: before our first write (just imported or
        # found by id) the row still holds the company's values, which our push replaces.
        pushed = mapping.pushed
        edits = {}
        for name in PULLED[table]:
            title = schema.col(table, name)
            if title in row and name in pushed and _norm(row[title]) != _norm(pushed[name]):
                edits[name] = _norm(row[title])
        title = schema.col(table, "Estado")
        estado = _norm(row.get(title)) if title in row else None
        refused_estado = table == TICKETS and title in row and "Estado" in pushed and \
            estado != _norm(pushed["Estado"])
        if not edits and not refused_estado:
            return 0
        if user == UNKNOWN_USER:
            user = await self._api.last_editor(schema.tables[table], mapping.row_id) or user
        actor = Actor.system(f"{user} (NocoDB)")
        if table == TICKETS:
            if refused_estado:
                await self._refuse_estado(mapping, int(ref), estado, actor)
                return 1
            if edits:
                return await self._ticket_edits(mapping, int(ref), edits, actor, user)
        elif edits:
            return await self._customer_edits(mapping, int(ref), edits, actor, user)
        return 0

    async def _put_back(self, mapping: NocoRow, name: str, value: Any) -> None:
        """Make the pusher rewrite our value: what NocoDB holds now differs from it."""
        pushed = dict(mapping.pushed)
        pushed[name] = value
        await NocoRow.filter(id=mapping.id).update(pushed=pushed)
        mapping.pushed = pushed

    async def _refuse_estado(self, mapping: NocoRow, number: int, estado: Any,
                             actor: Actor) -> None:
        ticket = await Ticket.get_or_none(id=number)
        if ticket is None:
            return
        if estado == Estado.RESOLVED.value and ticket.conformity_kind is None:
            why = ("un ticket se resuelve solo con la conformidad del cliente "
                   "(Proponer solución)")
        else:
            why = "el Estado lo cambia el proceso de Atiende, no NocoDB"
        text = (f"{actor.name} cambió el Estado a «{estado or '—'}» en NocoDB: no se aplicó "
                f"({why}); NocoDB vuelve a mostrar «{ticket.estado}».")
        await self._put_back(mapping, "Estado", estado)
        work = self._tickets.work
        async with work.begin(actor, number, event=EventKind.NOTE) as uow:
            await uow.record(InteractionKind.NOTE, text,
                             meta={"source": "nocodb", "refused": "Estado"})
            uow.save = False  # a note about NocoDB, not a change of ours
            await changed(True, "ticket", number, self._services.clock.now())
        log.warning("nocodb edit refused ticket=#%s Estado=%s", number, estado)
        if self._alert is not None:
            await self._alert(f"Ticket #{number}: cambio revertido en NocoDB", text)

    async def _ticket_edits(self, mapping: NocoRow, number: int, edits: dict[str, Any],
                            actor: Actor, user: str) -> int:
        meta = {"source": "nocodb", "nocodb_user": user}
        refused: list[str] = []
        async with self._tickets.work.begin(actor, number) as uow:
            ticket = uow.ticket
            for name, value in edits.items():
                if name == "Responsable":
                    member = await TeamMember.get_or_none(name=value, active=True) \
                        if value else None
                    current = ticket.assignee
                    if member is None:
                        refused.append(f"Responsable «{value or '—'}» no es un miembro activo")
                        await self._put_back(mapping, name, value)
                    elif current is None or current.id != member.id:
                        await uow.change("Responsable", current.name if current else None,
                                         member.name, meta)
                        ticket.assignee = member
                    continue
                enum = Prioridad if name == "Prioridad" else TipoIncidencia
                attr = "prioridad" if name == "Prioridad" else "tipo"
                try:
                    new = enum(value) if value else None
                except ValueError:
                    refused.append(f"{name} «{value}» no es un valor del proceso")
                    await self._put_back(mapping, name, value)
                    continue
                if new is not None and getattr(ticket, attr) != new:
                    await uow.change(name, getattr(ticket, attr), new, meta)
                    setattr(ticket, attr, new)
                elif new is None:
                    refused.append(f"{name} no puede quedar vacío")
                    await self._put_back(mapping, name, value)
            uow.save = bool(uow.changes)
            if not uow.changes and not refused:
                uow.event = None  # already applied: nobody needs telling again
            if refused:
                await changed(True, "ticket", number, self._services.clock.now())
        if not uow.changes and not refused:
            return 0  # already applied (a repeated webhook, or a pass that saw it before)
        log.info("nocodb edits applied ticket=#%s by=%s %s", number, user, uow.changes)
        if refused and self._alert is not None:
            await self._alert(f"Ticket #{number}: cambio revertido en NocoDB",
                              f"{actor.name}: " + "; ".join(refused))
        return 1

    async def _customer_edits(self, mapping: NocoRow, customer_id: int, edits: dict[str, Any],
                              actor: Actor, user: str) -> int:
        now = self._services.clock.now()
        refused: list[str] = []
        touched: list[int] = []
        async with in_transaction():
            customer = await Customer.get_or_none(id=customer_id)
            if customer is None:
                return 0
            changes: list[tuple[str, Any, Any]] = []
            for name, value in edits.items():
                attr = CUSTOMER_ATTR[name]
                try:
                    new = _customer_value(name, value)
                except InvalidInput as exc:
                    refused.append(str(exc))
                    await self._put_back(mapping, name, value)
                    continue
                if new and attr in ("email", "phone") and await Customer.filter(
                        **{attr: new}).exclude(id=customer_id).exists():
                    refused.append(f"{name} «{new}» ya es de otro cliente")
                    await self._put_back(mapping, name, value)
                    continue
                if getattr(customer, attr) != new:
                    changes.append((name, getattr(customer, attr), new))
                    setattr(customer, attr, new if new is not None or attr not in (
                        "name",) else "")
            if changes:
                await customer.save()
                tickets = await Ticket.filter(customer_id=customer_id).order_by("-id")
                open_ones = [t for t in tickets if Estado(t.estado).is_open] or tickets[:1]
                for ticket in open_ones:  # the history of each, in this same transaction
                    history = self._tickets.work.joined(actor, ticket)
                    for name, old, new in changes:
                        await history.change(f"Cliente.{name}", old, new,
                                             {"source": "nocodb", "nocodb_user": user})
                    touched.append(ticket.id)
            if changes or refused:
                await changed(True, "cliente", customer_id, now)
        for number in touched:
            await self._tickets.work.publish(EventKind.UPDATED, number, actor)
        if refused and self._alert is not None:
            await self._alert(f"Cliente {customer_id}: cambio revertido en NocoDB",
                              f"{actor.name}: " + "; ".join(refused))
        return 1 if changes or refused else 0


def _customer_value(name: str, value: Any) -> Any:
    if value is None:
        if name == "Nombre":
            raise InvalidInput("el Nombre del cliente no puede quedar vacío")
        return None
    text = str(value).strip()
    if name == "Correo":
        return normalise_email(text)
    if name == "Telefono":
        return normalise_phone(text)
    return text[:200] if name == "Nombre" else text[:20]
