"""Merging two customers (issue 11): the same person wrote by email and by WhatsApp."""

from __future__ import annotations

import pytest

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, InteractionKind, Rol
from bot.process.errors import CustomerNotFound, InvalidInput, NotAllowed
from bot.process.events import EventKind, TicketEvent
from bot.process.views import Actor
from bot.services import Services, build_services
from db.connection import close_database, open_database, upgrade
from tests.conftest import Team


async def two_of_one_person(services: Services) -> tuple[int, int, list[int], list[int]]:
    """Ana by email (2 tickets) and by WhatsApp (1 ticket, with a RUT and notes)."""
    by_mail = await services.intake.receive(IncomingMessage(
        Canal.EMAIL, "No me llegó la boleta", "<m1@example.cl>", email="ana@example.cl",
        name="Ana Pérez", subject="Boleta"))
    second = await services.intake.receive(IncomingMessage(
        Canal.EMAIL, "Otra consulta", "<m2@example.cl>", email="ana@example.cl",
        name="Ana Pérez", subject="Plan"))
    by_phone = await services.intake.receive(IncomingMessage(
        Canal.WHATSAPP, "hola, sigo sin boleta", "wamid.1", phone="56912345678",
        name="Anita"))
    assert by_mail.ticket and second.ticket and by_phone.ticket
    keep, drop = by_mail.ticket.customer.id, by_phone.ticket.customer.id
    assert keep != drop
    return keep, drop, [by_mail.ticket.number, second.ticket.number], [by_phone.ticket.number]


async def test_merge_moves_tickets_keeps_numbers_and_records_who(services: Services,
                                                                 team: Team) -> None:
    keep, drop, kept_tickets, moved = await two_of_one_person(services)
    await services.customers.update(team.admin, drop, rut="12.345.678-5", notes="Prefiere WA")
    events: list[TicketEvent] = []

    async def seen(event: TicketEvent) -> None:
        events.append(event)

    services.bus.subscribe(seen)
    services.clock.advance(minutes=5)  # type: ignore[attr-defined]
    merged = await services.customers.merge(keep, drop, team.admin)

    assert merged.id == keep and merged.name == "Ana Pérez"
    assert (merged.email, merged.phone, merged.rut) == ("ana@example.cl", "+56912345678",
                                                        "12345678-5")
    assert "Prefiere WA" in merged.notes
    # every ticket now belongs to the kept customer, under its old number
    assert [t.number for t in await services.queries.for_customer(keep)] == \
        sorted(kept_tickets + moved, reverse=True)
    for number in moved:
        t = await services.queries.get(number)
        assert t.customer.id == keep and t.customer.phone == "+56912345678"
        (line,) = [i for i in await services.queries.history(number)
                   if i.kind is InteractionKind.EVENT and i.field == "Cliente"]
        assert line.author_name == "Carla" and line.created_at == services.clock.now()
        assert f"cliente {drop}" in (line.old_value or "") and "Ana Pérez" in (line.new_value or "")
    for number in kept_tickets:  # their history is untouched
        assert not [i for i in await services.queries.history(number) if i.field == "Cliente"]
    # the dropped customer is gone; its phone and RUT find the kept one
    with pytest.raises(CustomerNotFound):
        await services.customers.get(drop)
    assert (await services.customers.find("+56 9 1234 5678")).id == keep
    assert (await services.customers.find("12.345.678-5")).id == keep
    # the merge is recorded on the kept customer, with the dropped one's data
    changes = await services.customers.changes(keep)
    (fusion,) = [c for c in changes if c.field == "Fusión"]
    assert f"cliente {drop}" in fusion.old_value and "+56912345678" in fusion.old_value
    assert f"#{moved[0]}" in fusion.old_value and fusion.author_name == "Carla"
    assert any(c.field == "RUT" for c in changes)  # the dropped one's edits moved along
    # the moved ticket's cards are redrawn
    assert [(e.kind, e.ticket.number) for e in events] == [(EventKind.UPDATED, moved[0])]
    # a new WhatsApp message from that phone is the kept customer's
    again = await services.intake.receive(IncomingMessage(
        Canal.WHATSAPP, "¿alguna novedad?", "wamid.2", phone="56912345678", name="Anita"))
    assert again.ticket is not None and again.ticket.customer.id == keep


async def test_contact_the_kept_one_has_is_not_overwritten(services: Services,
                                                           team: Team) -> None:
    keep, drop, _, _ = await two_of_one_person(services)
    await services.customers.update(team.admin, keep, phone="+56 9 8765 4321")
    merged = await services.customers.merge(keep, drop, team.admin)
    assert merged.phone == "+56987654321"  # kept; the other phone is in the merge record
    (fusion,) = [c for c in await services.customers.changes(keep) if c.field == "Fusión"]
    assert "+56912345678" in fusion.old_value


async def test_merge_is_refused_for_same_unknown_ids_and_strangers(services: Services,
                                                                  team: Team) -> None:
    keep, drop, _, moved = await two_of_one_person(services)
    with pytest.raises(InvalidInput, match="consigo mismo"):
        await services.customers.merge(keep, keep, team.admin)
    with pytest.raises(CustomerNotFound, match="999"):
        await services.customers.merge(keep, 999, team.admin)
    with pytest.raises(CustomerNotFound, match="998"):
        await services.customers.merge(998, drop, team.admin)
    with pytest.raises(NotAllowed):
        await services.customers.merge(keep, drop, Actor.system("Cliente"))
    assert (await services.queries.get(moved[0])).customer.id == drop
    assert await services.customers.changes(keep) == []


async def test_edit_and_merge_on_postgres(postgres_url: str, settings, clock) -> None:  # type: ignore[no-untyped-def]
    """The migration, the row locks and the unique RUT on a real PostgreSQL."""
    await upgrade(postgres_url)
    await open_database(postgres_url)
    try:
        services = build_services(settings, clock)
        admin = Actor.of(await services.team.add("Carla", Rol.ADMIN))
        keep, drop, _, moved = await two_of_one_person(services)
        await services.customers.update(admin, drop, rut="12345678-5")
        with pytest.raises(InvalidInput, match="ya es del cliente"):
            await services.customers.update(admin, keep, rut="123456785")
        merged = await services.customers.merge(keep, drop, admin)
        assert merged.rut == "12345678-5" and merged.phone == "+56912345678"
        assert (await services.queries.get(moved[0])).customer.id == keep
        with pytest.raises(CustomerNotFound):
            await services.customers.get(drop)
    finally:
        await close_database()
