"""The sender look-up in one statement answers what the three reads it replaced did:
the customer (own phone or address first, then a linked contact), their latest ticket
on the channel (never a discarded one, never another channel's, never through a
contact), and the active administrator, read fresh at every call."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from bot.incoming.intake import IncomingMessage
from bot.process.clock import ManualClock
from bot.process.domain import Canal
from bot.services import Services
from bot.storage.sender_rows import sender_rows
from bot.storage.thread_refs import remember_refs, ticket_of_refs
from db.models import CustomerContact, MessageRef
from tests.conftest import Team
from tests.statements import count_statements


async def _open(services: Services, team: Team, customer_id: int, channel: Canal) -> int:
    view = await services.tickets.open(team.admin, customer_id=customer_id, channel=channel,
                                       description="No tengo internet")
    return view.number


async def test_a_new_sender_finds_nobody_but_the_administrator(services: Services,
                                                               team: Team) -> None:
    with count_statements() as seen:
        rows = await sender_rows(Canal.WHATSAPP, "phone", "+56911111111")
    assert seen.count == 1
    assert rows.customer is None and rows.latest is None
    assert rows.admin is not None and rows.admin.id == team.carla.id


async def test_the_latest_open_ticket_comes_with_its_customer_and_assignee(
        services: Services, team: Team) -> None:
    ana = await services.customers.find_or_create(phone="+56922222222", name="Ana")
    await _open(services, team, ana.id, Canal.WHATSAPP)
    newest = await _open(services, team, ana.id, Canal.WHATSAPP)
    await _open(services, team, ana.id, Canal.EMAIL)  # another channel's: not this one
    rows = await sender_rows(Canal.WHATSAPP, "phone", "+56922222222")
    assert rows.customer is not None and rows.customer.name == "Ana"
    assert rows.latest is not None and rows.latest.id == newest
    assert rows.latest.customer.id == ana.id  # loaded, as select_related loads it
    assert rows.latest.assignee is not None and rows.latest.assignee.name == "Carla"


async def test_a_discarded_ticket_is_never_the_latest(services: Services, team: Team) -> None:
    ana = await services.customers.find_or_create(phone="+56933333333")
    older = await _open(services, team, ana.id, Canal.WHATSAPP)
    spam = await _open(services, team, ana.id, Canal.WHATSAPP)
    await services.tickets.discard(team.admin, spam, "spam")
    rows = await sender_rows(Canal.WHATSAPP, "phone", "+56933333333")
    assert rows.latest is not None and rows.latest.id == older


async def test_a_linked_contact_names_the_customer_but_joins_no_ticket(
        services: Services, team: Team) -> None:
    ana = await services.customers.find_or_create(email="ana@example.cl")
    await _open(services, team, ana.id, Canal.EMAIL)
    await services.customers.add_contact(ana.id, "ana.trabajo@example.cl")
    rows = await sender_rows(Canal.EMAIL, "email", "ana.trabajo@example.cl")
    assert rows.customer is not None and rows.customer.id == ana.id
    assert rows.latest is None


async def test_the_own_address_wins_over_someone_elses_contact(services: Services,
                                                               team: Team) -> None:
    """Should an address be one customer's own and another's linked contact (the services
    refuse to make that, an import might not), the owner is the sender, as before."""
    first = await services.customers.find_or_create(email="ana@example.cl")
    owner = await services.customers.find_or_create(email="compartido@example.cl")
    await CustomerContact.create(customer_id=first.id, kind="email",
                                 value="compartido@example.cl", created_at=datetime.now(UTC))
    rows = await sender_rows(Canal.EMAIL, "email", "compartido@example.cl")
    assert rows.customer is not None and rows.customer.id == owner.id


async def test_the_administrator_is_read_at_every_call(services: Services, team: Team) -> None:
    before = await sender_rows(Canal.WHATSAPP, "phone", "+56944444444")
    await services.team.set_admin(team.diego.id)
    after = await sender_rows(Canal.WHATSAPP, "phone", "+56944444444")
    assert before.admin is not None and before.admin.id == team.carla.id
    assert after.admin is not None and after.admin.id == team.diego.id


async def test_thread_ids_find_recorded_refs_first_then_our_own_messages(
        services: Services, team: Team) -> None:
    ana = await services.customers.find_or_create(email="ana@example.cl")
    number = await _open(services, team, ana.id, Canal.EMAIL)
    assert await ticket_of_refs(Canal.EMAIL, ["<nunca@example.cl>"]) is None
    assert await ticket_of_refs(Canal.EMAIL, []) is None
    await services.intake.receive(_reply_to(number))
    with count_statements() as seen:
        found = await ticket_of_refs(Canal.EMAIL, ["<otro@example.cl>", "<r1@example.cl>",
                                                   "<r1@example.cl>"])
    assert found == number and seen.count == 1


def _reply_to(number: int) -> IncomingMessage:
    return IncomingMessage(channel=Canal.EMAIL, body="Sigue igual", external_id="<r1@example.cl>",
                           email="ana@example.cl", ticket_number=number)


async def test_recording_known_ids_again_never_aborts_the_transaction(
        services: Services, team: Team, clock: ManualClock) -> None:
    """Inside one transaction (an import batch), ids known already are skipped by the
    database: on PostgreSQL an error would abort everything after it."""
    ana = await services.customers.find_or_create(email="ana@example.cl")
    first = await _open(services, team, ana.id, Canal.EMAIL)
    second = await _open(services, team, ana.id, Canal.EMAIL)
    async with in_transaction():
        await remember_refs(["<a@example.cl>", "<b@example.cl>"], first, clock.now())
        with count_statements() as seen:
            await remember_refs(["<b@example.cl>", "<c@example.cl>", "<c@example.cl>"],
                                second, clock.now())
        assert seen.count == 1
        assert await MessageRef.all().count() == 3
    owners = dict(await MessageRef.all().values_list("ref", "ticket_id"))
    assert owners == {"<a@example.cl>": first, "<b@example.cl>": first, "<c@example.cl>": second}


async def test_without_the_latest_ticket_it_still_finds_the_sender_and_administrator(
        services: Services, team: Team) -> None:
    ana = await services.customers.find_or_create(email="ana@example.cl")
    await _open(services, team, ana.id, Canal.EMAIL)
    rows = await sender_rows(Canal.EMAIL, "email", "ana@example.cl", latest=False)
    assert rows.customer is not None and rows.customer.id == ana.id and rows.latest is None
    assert rows.admin is not None and rows.admin.id == team.carla.id


async def test_without_an_administrator_a_new_ticket_reads_the_team_once(
        services: Services) -> None:
    """No administrator yet (a history imported before ``atiende run`` made one): the
    sender read found none, and opening the ticket does not ask again."""
    with count_statements() as seen:
        result = await services.intake.receive(IncomingMessage(
            channel=Canal.WHATSAPP, body="Hola, no tengo internet", external_id="w:1",
            phone="+56955555555", name="Ana", join_open=True))
    assert result.created and result.ticket is not None
    assert result.ticket.assignee is None
    assert len([s for s in seen.sql if '"equipo"' in s]) == 1, seen
