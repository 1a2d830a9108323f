"""Editing and merging customers, with a record of who changed what.

An edit validates each value (RUT check digit, email, phone, lengths), refuses data that
belongs to another customer (the team should merge them instead), and records every
changed field in ``clientes_cambios``. A merge moves the tickets of one customer to the
other in one transaction: the tickets keep their numbers and each one's history says
who merged and when; the dropped customer's email, phone and RUT fill the kept one's
empty fields, and what could not be kept is written in the merge's record, so nothing
the customer told us is lost. Open tickets' cards are redrawn after the commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.customers import customer_view, normalise_email, normalise_phone
from bot.domain import Estado, InteractionKind
from bot.errors import CustomerNotFound, InvalidInput, NotAllowed
from bot.events import EventKind, TicketEvent
from bot.nocodb import queue as nocodb_queue
from bot.presenters import TICKET_RELATED, ticket_view
from bot.rut import format_rut, normalise_rut
from bot.views import Actor, CustomerChangeView, CustomerView
from db.models import Customer, CustomerChange, CustomerContact, Interaction, Ticket

if TYPE_CHECKING:
    from bot.customers import CustomerService

# field -> (label shown to the team, maximum length; None: normalised elsewhere)
FIELDS: dict[str, tuple[str, int | None]] = {
    "name": ("Nombre", 200),
    "first_name": ("Nombre de pila", 100),
    "form_of_address": ("Tratamiento", 20),
    "rut": ("RUT", None),
    "email": ("Correo", None),
    "phone": ("Teléfono", None),
    "company": ("Empresa", 200),
    "notes": ("Notas", 2000),
}
UNIQUE = ("email", "phone", "rut")
ON_CARD = ("name", "email", "phone")  # the card's "Cliente" line shows these
MERGE = "Fusión"
MAX_REDRAWN = 50  # open tickets whose cards follow one customer change


def _clean(service: CustomerService, field: str, raw: str) -> str | None:
    """One typed value, validated and normalised (None clears a unique field)."""
    if field not in FIELDS:
        raise InvalidInput(f"No se puede editar «{field}» de un cliente.")
    label, limit = FIELDS[field]
    text = raw.strip()
    if field in UNIQUE:
        if not text:
            return None
        if field == "rut":
            return normalise_rut(text)
        return normalise_email(text) if field == "email" else normalise_phone(text, service.region)
    if field != "notes":
        text = " ".join(text.split())  # one line: names end up in greetings and subjects
    if limit is not None and len(text) > limit:
        raise InvalidInput(f"{label}: admite hasta {limit} caracteres.")
    return text


def _shown(field: str, value: str | None) -> str:
    if value and field == "rut":
        return format_rut(value)
    return value or ""


def _require_member(actor: Actor, what: str) -> None:
    if not actor.is_member:
        raise NotAllowed(f"Solo los miembros del equipo pueden {what}.")


async def edit(service: CustomerService, actor: Actor, customer_id: int,
               values: dict[str, str | None]) -> CustomerView:
    _require_member(actor, "editar clientes")
    wanted = {f: _clean(service, f, v) for f, v in values.items() if v is not None}
    changed: list[tuple[str, str, str]] = []
    async with in_transaction():
        customer = await Customer.filter(id=customer_id).select_for_update().first()
        if customer is None:
            raise CustomerNotFound(str(customer_id))
        before = customer_view(customer)
        for field, value in wanted.items():
            old = getattr(customer, field)
            if (old or None) == (value or None):
                continue
            if field in UNIQUE and value is not None:
                other = await Customer.filter(**{field: value}).exclude(id=customer.id).first()
                if other is not None:
                    raise InvalidInput(
                        f"El {FIELDS[field][0].lower() if field != 'rut' else 'RUT'} "
                        f"{_shown(field, value)} ya es del cliente «{customer_view(other).display}»"
                        f" (n.º {other.id}). Si son la misma persona, fusione los dos clientes.")
            setattr(customer, field, value if field in UNIQUE else (value or ""))
            changed.append((field, _shown(field, old), _shown(field, value)))
        if not changed:
            return before
        if not customer.email and not customer.phone and (before.email or before.phone):
            raise InvalidInput("El cliente debe conservar un correo o un teléfono para poder "
                               "responderle.")
        try:
            await customer.save(update_fields=[f for f, _, _ in changed])
        except IntegrityError:  # taken by another customer a moment ago
            raise InvalidInput("Otro cliente acaba de tomar ese dato; vuelva a intentarlo.") \
                from None
        for field, old, new in changed:
            await _audit(service, customer.id, actor, FIELDS[field][0], old, new)
        await nocodb_queue.changed(service.sync_nocodb, "cliente", customer.id,
                                   service.clock.now())
    after = customer_view(customer)
    on_card = [(f"Cliente · {FIELDS[f][0]}", old, new) for f, old, new in changed if f in ON_CARD]
    if on_card:
        await _redraw(service, customer.id, actor, on_card)
    return after


async def merge(service: CustomerService, keep_id: int, drop_id: int,
                actor: Actor) -> CustomerView:
    _require_member(actor, "fusionar clientes")
    if keep_id == drop_id:
        raise InvalidInput("No se puede fusionar un cliente consigo mismo: indique dos clientes "
                           "distintos.")
    async with in_transaction():
        locked = {c.id: c for c in await Customer.filter(id__in=sorted((keep_id, drop_id)))
                  .order_by("id").select_for_update()}
        for wanted in (keep_id, drop_id):
            if wanted not in locked:
                raise CustomerNotFound(str(wanted))
        keep, drop = locked[keep_id], locked[drop_id]
        kept_view, dropped_view = customer_view(keep), customer_view(drop)
        old_label = f"{dropped_view.display} (cliente {drop.id})"[:200]
        new_label = f"{kept_view.display} (cliente {keep.id})"[:200]
        now = service.clock.now()
        moved = await Ticket.filter(customer_id=drop.id).order_by("id").select_for_update()
        for ticket in moved:
            ticket.customer_id = keep.id
            ticket.version += 1
            ticket.updated_at = now
            await ticket.save(update_fields=["customer_id", "version", "updated_at"])
            await Interaction.create(
                ticket=ticket, kind=InteractionKind.EVENT, channel=ticket.channel,
                author_member_id=actor.member.id if actor.member else None,
                author_name=actor.name, field="Cliente", old_value=old_label,
                new_value=new_label, created_at=now,
                body=f"Clientes fusionados por {actor.name}: {old_label} → {new_label}.",
                meta={"merge": {"kept": keep.id, "dropped": drop.id}})
        filled = _fill(keep, drop)
        record = (f"cliente {drop.id}: {dropped_view.display}"
                  + "".join(f" · {_shown(f, getattr(drop, f))}" for f in UNIQUE if getattr(drop, f))
                  + f" · {len(moved)} ticket(s): "
                  + (", ".join(f"#{t.id}" for t in moved) or "ninguno"))
        await CustomerChange.filter(customer_id=drop.id).update(customer_id=keep.id)
        await CustomerContact.filter(customer_id=drop.id).update(customer_id=keep.id)
        leftover = [(kind, value) for kind, value in (("email", drop.email),
                                                      ("phone", drop.phone))
                    if value and getattr(keep, kind) != value]
        await drop.delete()  # first: its email/phone/RUT are unique and may move to keep
        if filled:
            await keep.save(update_fields=[f for f, _ in filled])
        for kind, value in leftover:  # the other address still speaks for the same person
            if getattr(keep, kind) != value:
                await CustomerContact.get_or_create(
                    value=value, defaults={"customer_id": keep.id, "kind": kind,
                                           "created_at": now})
        await nocodb_queue.changed(service.sync_nocodb, "cliente", keep.id, now)
        if service.sync_nocodb:
            await nocodb_queue.many("ticket", [t.id for t in moved], now)
        await _audit(service, keep.id, actor, MERGE, record, f"cliente {keep.id}")
        for field, value in filled:
            await _audit(service, keep.id, actor, FIELDS[field][0], "", _shown(field, value))
    await _publish_moved(service, [t.id for t in moved], actor, old_label, new_label)
    return customer_view(keep)


def _fill(keep: Customer, drop: Customer) -> list[tuple[str, str]]:
    """Copy what ``keep`` lacks from ``drop``; notes are appended, never replaced."""
    filled: list[tuple[str, str]] = []
    for field in ("name", "first_name", "form_of_address", "company", *UNIQUE):
        if not getattr(keep, field) and getattr(drop, field):
            setattr(keep, field, getattr(drop, field))
            filled.append((field, getattr(drop, field)))
    extra = (drop.notes or "").strip()
    if extra and extra not in (keep.notes or ""):
        keep.notes = "\n".join(part for part in ((keep.notes or "").strip(), extra) if part)
        filled.append(("notes", extra))
    return filled


async def _audit(service: CustomerService, customer_id: int, actor: Actor, field: str,
                 old: str, new: str) -> None:
    await CustomerChange.create(
        customer_id=customer_id, author_member_id=actor.member.id if actor.member else None,
        author_name=actor.name, field=field, old_value=old, new_value=new,
        created_at=service.clock.now())


async def _redraw(service: CustomerService, customer_id: int, actor: Actor,
                  changes: list[tuple[str, str, str]]) -> None:
    """After an edit: the open tickets' cards show the new data (and say what changed)."""
    if service.bus is None:
        return
    tickets = await Ticket.filter(customer_id=customer_id).exclude(
        estado__in=[Estado.RESOLVED, Estado.DISCARDED]).order_by("-id").limit(MAX_REDRAWN) \
        .select_related(*TICKET_RELATED)
    for ticket in tickets:
        await service.bus.publish(TicketEvent(EventKind.UPDATED, ticket_view(ticket), actor,
                                              changes=tuple(changes)))


async def _publish_moved(service: CustomerService, numbers: list[int], actor: Actor,
                         old: str, new: str) -> None:
    if service.bus is None or not numbers:
        return
    for ticket in await Ticket.filter(id__in=numbers).order_by("id") \
            .select_related(*TICKET_RELATED):
        await service.bus.publish(TicketEvent(EventKind.UPDATED, ticket_view(ticket), actor,
                                              changes=(("Cliente", old, new),)))


async def recent(customer_id: int, limit: int = 10) -> list[CustomerChangeView]:
    rows = await CustomerChange.filter(customer_id=customer_id).order_by("-id").limit(limit)
    return [CustomerChangeView(r.customer_id, r.author_name, r.field,
                               r.old_value, r.new_value, r.created_at) for r in rows]
