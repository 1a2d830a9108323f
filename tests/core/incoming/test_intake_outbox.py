"""Customer messages in (intake) and out (outbox), as the channels will use them."""

from __future__ import annotations

import asyncio

import pytest

from bot.incoming.intake import IncomingMessage
from bot.outgoing.outbox import (
    MAX_ATTEMPTS,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    update_delivery_status,
)
from bot.process.domain import Canal, DeliveryStatus, Estado, InteractionKind
from bot.services import Services, build_services
from db.models import Interaction, OutboxMessage
from tests.conftest import Team


def whatsapp(body: str, wamid: str, phone: str = "56912345678") -> IncomingMessage:
    return IncomingMessage(channel=Canal.WHATSAPP, body=body, external_id=wamid, phone=phone,
                           name="Cliente WA", join_open=True)


async def test_new_message_opens_a_ticket_with_the_customer(services: Services,
                                                           team: Team) -> None:
    result = await services.intake.receive(whatsapp("hola, me cobraron dos veces", "wamid.1"))
    assert result.created and result.ticket is not None
    assert result.ticket.customer.phone == "+56912345678"
    assert result.ticket.estado is Estado.NEW and result.ticket.channel is Canal.WHATSAPP


async def test_duplicate_delivery_changes_nothing(services: Services, team: Team) -> None:
    first = await services.intake.receive(whatsapp("hola", "wamid.dup"))
    again = await services.intake.receive(whatsapp("hola", "wamid.dup"))
    assert again.duplicate and again.ticket.number == first.ticket.number  # type: ignore[union-attr]
    assert await Interaction.filter(external_id="wamid.dup").count() == 1


async def test_concurrent_duplicate_delivery_stores_one(services: Services, team: Team) -> None:
    results = await asyncio.gather(*(services.intake.receive(whatsapp("hola", "wamid.race"))
                                     for _ in range(4)))
    assert sum(1 for r in results if r.created) == 1
    assert await Interaction.filter(external_id="wamid.race").count() == 1


async def test_next_message_joins_the_open_ticket(services: Services, team: Team) -> None:
    first = await services.intake.receive(whatsapp("hola", "wamid.a"))
    second = await services.intake.receive(whatsapp("¿me ayudan?", "wamid.b"))
    assert not second.created and second.ticket.number == first.ticket.number  # type: ignore[union-attr]
    bodies = [i.body for i in await services.queries.history(first.ticket.number)  # type: ignore[union-attr]
              if i.kind is InteractionKind.INBOUND]
    assert bodies == ["hola", "¿me ayudan?"]


async def test_message_to_resolved_ticket_reopens_within_window(services: Services,
                                                               team: Team) -> None:
    t = (await services.intake.receive(whatsapp("hola", "wamid.r1"))).ticket
    await services.tickets.propose(team.admin, t.number, detalle="hecho")  # type: ignore[union-attr]
    await services.tickets.confirm(team.admin, t.number)  # type: ignore[union-attr]
    services.clock.advance(days=2)  # type: ignore[attr-defined]
    result = await services.intake.receive(whatsapp("volvió a fallar", "wamid.r2"))
    assert result.reopened and result.ticket.number == t.number  # type: ignore[union-attr]
    assert result.ticket.estado is Estado.IN_PROGRESS  # type: ignore[union-attr]


async def test_message_after_reopen_window_opens_linked_ticket(services: Services,
                                                              team: Team) -> None:
    t = (await services.intake.receive(whatsapp("hola", "wamid.o1"))).ticket
    await services.tickets.propose(team.admin, t.number, detalle="hecho")  # type: ignore[union-attr]
    await services.tickets.confirm(team.admin, t.number)  # type: ignore[union-attr]
    services.clock.advance(days=services.settings.reopen_days + 1)  # type: ignore[attr-defined]
    result = await services.intake.receive(IncomingMessage(
        channel=Canal.WHATSAPP, body="otra cosa", external_id="wamid.o2",
        phone="56912345678", ticket_number=t.number))  # type: ignore[union-attr]
    assert result.created and result.ticket.previous_ticket == t.number  # type: ignore[union-attr]


async def test_automatic_message_is_a_quiet_line_or_dropped(services: Services,
                                                           team: Team) -> None:
    dropped = await services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body="Fuera de la oficina", external_id="<ooo1@x>",
        email="ana@example.cl", automatic=True))
    assert dropped.dropped and dropped.ticket is None
    t = (await services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body="Consulta", external_id="<q1@x>",
        email="ana@example.cl"))).ticket
    quiet = await services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body="Fuera de la oficina", external_id="<ooo2@x>",
        email="ana@example.cl", automatic=True, refs=("<q1@x>",)))
    assert quiet.ticket.number == t.number and quiet.interaction.automatic  # type: ignore[union-attr]
    assert await OutboxMessage.all().count() == 0  # no reply to an auto-reply


async def test_reply_before_parent_threads_onto_one_ticket(services: Services,
                                                          team: Team) -> None:
    reply = await services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body="respuesta", external_id="<child@x>", email="ana@example.cl",
        refs=("<parent@x>",)))
    parent = await services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body="original", external_id="<parent@x>", email="ana@example.cl",
        refs=tuple(await _refs_for("<parent@x>", services))))
    assert parent.ticket.number == reply.ticket.number  # type: ignore[union-attr]


async def _refs_for(message_id: str, services: Services) -> list[str]:
    number = await services.intake.find_ticket_by_refs([message_id])
    assert number is not None  # the child's References already named the parent
    return [message_id]


class RecordingSender:
    def __init__(self, fail_times: int = 0, permanent: bool = False) -> None:
        self.sent: list[OutboundMessage] = []
        self.fail_times = fail_times
        self.permanent = permanent

    async def send(self, message: OutboundMessage) -> SendResult:
        if self.permanent:
            raise PermanentSendError("número no válido")
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("red caída")
        self.sent.append(message)
        return SendResult(provider_id=f"wamid.out{len(self.sent)}")


async def _ticket_with_reply(services: Services, team: Team) -> int:
    t = (await services.intake.receive(whatsapp("hola", "wamid.in"))).ticket
    await services.tickets.reply(team.admin, t.number, text="Hola, lo revisamos.")  # type: ignore[union-attr]
    return t.number  # type: ignore[union-attr]


async def test_outbox_delivers_once_and_records_provider_id(services: Services,
                                                           team: Team) -> None:
    n = await _ticket_with_reply(services, team)
    sender = RecordingSender()
    services.outbox.register(Canal.WHATSAPP, sender)
    assert await services.outbox.deliver_due() == 1
    assert await services.outbox.deliver_due() == 0
    assert len(sender.sent) == 1 and sender.sent[0].recipient == "56912345678"
    out = [i for i in await services.queries.history(n) if i.kind is InteractionKind.OUTBOUND]
    assert out[0].delivery_status is DeliveryStatus.SENT and out[0].external_id == "wamid.out1"
    assert await update_delivery_status(Canal.WHATSAPP, "wamid.out1", DeliveryStatus.READ)
    await update_delivery_status(Canal.WHATSAPP, "wamid.out1", DeliveryStatus.DELIVERED)
    reread = await Interaction.get(id=out[0].id)
    assert reread.delivery_status == DeliveryStatus.READ  # never moves backwards


async def test_outbox_retries_with_backoff_then_delivers(services: Services,
                                                        team: Team) -> None:
    await _ticket_with_reply(services, team)
    sender = RecordingSender(fail_times=2)
    services.outbox.register(Canal.WHATSAPP, sender)
    assert await services.outbox.deliver_due() == 0
    row = await OutboxMessage.get()
    assert row.attempts == 1 and row.next_attempt_at > services.clock.now()
    assert await services.outbox.deliver_due() == 0  # not due yet: backoff
    services.clock.advance(minutes=1)  # type: ignore[attr-defined]
    await services.outbox.deliver_due()
    services.clock.advance(minutes=5)  # type: ignore[attr-defined]
    assert await services.outbox.deliver_due() == 1
    assert len(sender.sent) == 1


async def test_permanent_failure_is_reported_to_the_team(services: Services,
                                                        team: Team) -> None:
    seen = []

    async def listener(event):  # type: ignore[no-untyped-def]
        seen.append(event)

    n = await _ticket_with_reply(services, team)
    services.bus.subscribe(listener)
    services.outbox.register(Canal.WHATSAPP, RecordingSender(permanent=True))
    await services.outbox.deliver_due()
    row = await OutboxMessage.get()
    assert row.status == DeliveryStatus.FAILED and "no válido" in row.last_error
    assert seen and seen[-1].interaction.delivery_status is DeliveryStatus.FAILED
    assert seen[-1].ticket.number == n


async def test_gives_up_after_max_attempts(services: Services, team: Team) -> None:
    await _ticket_with_reply(services, team)
    services.outbox.register(Canal.WHATSAPP, RecordingSender(fail_times=10_000))
    for _ in range(MAX_ATTEMPTS):
        await services.outbox.deliver_due()
        services.clock.advance(hours=2)  # type: ignore[attr-defined]
    assert (await OutboxMessage.get()).status == DeliveryStatus.FAILED


async def test_crash_between_commit_and_delivery_sends_later_exactly_once(
        services: Services, team: Team) -> None:
    """The reply committed, the process died before delivering: a new process (new
    services over the same database) sends it once; a second worker sends nothing."""
    await _ticket_with_reply(services, team)
    restarted = build_services(services.settings, services.clock)
    other = build_services(services.settings, services.clock)
    sender = RecordingSender()
    restarted.outbox.register(Canal.WHATSAPP, sender)
    other.outbox.register(Canal.WHATSAPP, sender)
    await asyncio.gather(restarted.outbox.deliver_due(), other.outbox.deliver_due())
    await asyncio.gather(restarted.outbox.deliver_due(), other.outbox.deliver_due())
    assert len(sender.sent) == 1


async def test_worker_that_died_mid_send_never_sends_twice(services: Services,
                                                            team: Team) -> None:
    """Claimed, then the process died: it may have gone out, so it is not re-sent;
    the row fails as uncertain and the team hears about it."""
    seen = []

    async def listener(event):  # type: ignore[no-untyped-def]
        seen.append(event)

    await _ticket_with_reply(services, team)
    services.bus.subscribe(listener)
    first, sender = RecordingSender(), RecordingSender()
    services.outbox.register(Canal.WHATSAPP, first)
    row = await OutboxMessage.get().select_related("interaction")
    assert await services.outbox._claim(row)  # a worker takes it ... and dies here
    services.outbox.register(Canal.WHATSAPP, sender)
    assert await services.outbox.deliver_due() == 0  # leased: nobody touches it
    services.clock.advance(seconds=121)  # type: ignore[attr-defined]
    assert await services.outbox.deliver_due() == 0
    assert sender.sent == []
    row = await OutboxMessage.get()
    assert row.status == DeliveryStatus.FAILED and "incierto" in row.last_error
    assert seen and seen[-1].interaction.delivery_status is DeliveryStatus.FAILED


async def test_ambiguous_send_is_not_retried(services: Services, team: Team) -> None:
    from bot.outgoing.outbox import AmbiguousSendError

    class LateSender(RecordingSender):
        async def send(self, message: OutboundMessage) -> SendResult:
            self.sent.append(message)
            raise AmbiguousSendError("sin respuesta en 30 s")

    await _ticket_with_reply(services, team)
    sender = LateSender()
    services.outbox.register(Canal.WHATSAPP, sender)
    await services.outbox.deliver_due()
    services.clock.advance(hours=3)  # type: ignore[attr-defined]
    await services.outbox.deliver_due()
    assert len(sender.sent) == 1
    assert (await OutboxMessage.get()).status == DeliveryStatus.FAILED


@pytest.mark.parametrize("raw,expected", [
    ("+56 9 1234 5678", "+56912345678"), ("56912345678", "+56912345678"),
    ("9 1234 5678", "+56912345678"),
])
def test_phone_normalisation(raw: str, expected: str) -> None:
    from bot.people.customers import normalise_phone

    assert normalise_phone(raw) == expected


def test_bad_contact_data_is_a_clear_error() -> None:
    from bot.people.customers import normalise_email, normalise_phone
    from bot.process.errors import InvalidInput

    assert normalise_email("Ana <ANA@Example.CL>") == "ana@example.cl"
    with pytest.raises(InvalidInput, match="correo"):
        normalise_email("no-es-un-correo")
    with pytest.raises(InvalidInput, match="teléfono"):
        normalise_phone("abc")
