"""The unit of work every ticket change runs in: stale versions refused on every
operation (no handler pre-read needed), nothing half-done, events only after commit."""

from __future__ import annotations

import pytest

from bot.process.domain import Canal, Estado, InteractionKind
from bot.process.errors import NotAllowed, StaleAction
from bot.process.events import TicketEvent
from bot.services import Services
from bot.tickets.lifecycle import Action
from db.models import Interaction, OutboxMessage
from tests.conftest import Team
from tests.core.tickets.test_tickets_lifecycle import drive_to, new_ticket


async def test_every_operation_refuses_the_version_a_button_was_drawn_at(
        services: Services, team: Team) -> None:
    t, admin = services.tickets, team.admin
    resolved = await drive_to(services, team, Estado.RESOLVED)
    drawn = (await services.queries.get(resolved)).version
    await t.note(admin, resolved, "Mientras tanto, una nota.")  # the card is now old
    with pytest.raises(StaleAction):
        await t.reopen(admin, resolved, expected_version=drawn)
    assert (await services.queries.get(resolved)).estado is Estado.RESOLVED

    open_one = await drive_to(services, team, Estado.IN_PROGRESS)
    drawn = (await services.queries.get(open_one)).version
    await t.note(admin, open_one, "Otra nota.")
    for call in (lambda: t.discard(admin, open_one, "spam", expected_version=drawn),
                 lambda: t.note(admin, open_one, "tarde", expected_version=drawn),
                 lambda: t.wait_for_customer(admin, open_one, expected_version=drawn)):
        with pytest.raises(StaleAction):
            await call()
    view = await services.queries.get(open_one)
    assert view.estado is Estado.IN_PROGRESS and view.version == drawn + 1
    current = view.version
    assert (await t.discard(admin, open_one, "spam", expected_version=current)).estado \
        is Estado.DISCARDED


async def test_a_refused_change_leaves_no_trace_and_tells_nobody(services: Services,
                                                                 team: Team) -> None:
    n = await new_ticket(services, team)
    seen: list[TicketEvent] = []

    async def record(event: TicketEvent) -> None:
        seen.append(event)

    services.bus.subscribe(record)
    before = await Interaction.filter(ticket_id=n).count()
    with pytest.raises(NotAllowed):  # the role is checked before anything is read
        await services.tickets.discard(team.actor(team.diego), n, "no es mío")
    with pytest.raises(RuntimeError):
        async with services.tickets.work.begin(team.admin, n, Action.NOTE) as uow:
            await uow.record(InteractionKind.NOTE, "a medias")
            await uow.set_estado(Estado.IN_PROGRESS)
            raise RuntimeError("a bug halfway through")
    view = await services.queries.get(n)
    assert (view.estado, await Interaction.filter(ticket_id=n).count()) == (Estado.NEW, before)
    assert seen == []


async def test_a_reply_is_queued_once_with_the_change_and_published_after(
        services: Services, team: Team) -> None:
    n = await new_ticket(services, team, channel=Canal.EMAIL)
    seen: list[tuple[str, int]] = []

    async def record(event: TicketEvent) -> None:  # after commit: the row is there
        seen.append((event.kind.value, await OutboxMessage.filter().count()))

    services.bus.subscribe(record)
    drawn = (await services.queries.get(n)).version
    view = await services.tickets.reply(team.admin, n, text="Lo revisamos.",
                                        expected_version=drawn)
    assert view.version == drawn + 1 and view.estado is Estado.IN_PROGRESS
    assert seen == [("outbound", 1)]
