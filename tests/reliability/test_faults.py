"""The fakes answer 429/500/timeouts: nothing is lost, retries back off, and the team
is told about what finally failed.

In-process, with the test's ManualClock driving the outbox's backoff: a failed row is
not due again until the clock passes ``next_attempt_at``, and each wait is longer than
the last. LATE (Graph did it, the answer never came) and TIMEOUT must end as
*resultado incierto*, never as a second copy.
"""

from __future__ import annotations

from datetime import timedelta

import httpx

from bot.outgoing.outbox import BACKOFF_SECONDS, UNCERTAIN
from bot.process.clock import ManualClock
from bot.process.domain import DeliveryStatus
from bot.process.events import EventKind, TicketEvent
from db.models import Interaction, OutboxMessage
from handlers.email.smtp import SmtpSender
from tests.conftest import Team
from tests.handlers.whatsapp.harness import WhatsAppHarness, text_payload, whatsapp  # noqa: F401
from tests.servers import LATE, TIMEOUT, SmtpServer

from .crash_harness import graph_deliveries, smtp_deliveries


def told(services) -> list[TicketEvent]:  # type: ignore[no-untyped-def]
    """Collect the DELIVERY events front ends turn into card notes."""
    events: list[TicketEvent] = []

    async def listen(event: TicketEvent) -> None:
        if event.kind is EventKind.DELIVERY:
            events.append(event)

    services.bus.subscribe(listen)
    return events


async def _whatsapp_reply(h: WhatsAppHarness, team: Team, text: str = "Lo revisamos.",
                          wamid: str = "wamid.F1", phone: str = "56912345678") -> int:
    assert (await h.post(text_payload(wamid, "Sin servicio", sender=phone))).status_code == 200
    number = (await Interaction.get(external_id=wamid)).ticket_id  # type: ignore[attr-defined]
    await h.services.tickets.reply(team.admin, number, text=text)
    return number


async def test_graph_5xx_and_429_retry_with_growing_backoff(
        whatsapp: WhatsAppHarness, team: Team, clock: ManualClock) -> None:  # noqa: F811
    await _whatsapp_reply(whatsapp, team)
    whatsapp.graph.fail_next("messages", 500)
    whatsapp.graph.fail_next("messages", 429, retry_after=1)
    assert await whatsapp.deliver() == 0  # attempt 1: 500
    row = await OutboxMessage.get()
    waits = [row.next_attempt_at - clock.now()]
    assert await whatsapp.deliver() == 0 and len(whatsapp.graph.calls_to("messages")) == 1
    clock.advance(seconds=BACKOFF_SECONDS[0])
    assert await whatsapp.deliver() == 0  # attempt 2: 429
    row = await OutboxMessage.get()
    waits.append(row.next_attempt_at - clock.now())
    clock.advance(seconds=BACKOFF_SECONDS[0])
    assert await whatsapp.deliver() == 0, "retried before its backoff"
    clock.advance(seconds=BACKOFF_SECONDS[1])
    assert await whatsapp.deliver() == 1  # attempt 3: delivered
    assert waits[0] < waits[1], waits
    assert waits == [timedelta(seconds=BACKOFF_SECONDS[0]), timedelta(seconds=BACKOFF_SECONDS[1])]
    assert [c.fault for c in whatsapp.graph.calls_to("messages")] == [500, 429, None]
    assert list(graph_deliveries(whatsapp.graph).values()) == [1]
    row = await OutboxMessage.get()
    assert row.status == DeliveryStatus.SENT and row.attempts == 3


async def test_graph_late_answer_is_uncertain_never_twice(
        whatsapp: WhatsAppHarness, team: Team, clock: ManualClock) -> None:  # noqa: F811
    events = told(whatsapp.services)
    whatsapp.front.graph._http.timeout = httpx.Timeout(0.5)  # the fake hangs past it
    number = await _whatsapp_reply(whatsapp, team)
    whatsapp.graph.fail_next("messages", LATE)
    assert await whatsapp.deliver() == 0
    for _ in range(5):  # however long we wait, it is not sent again
        clock.advance(hours=2)
        await whatsapp.deliver()
    assert list(graph_deliveries(whatsapp.graph).values()) == [1]
    row = await OutboxMessage.get()
    assert row.status == DeliveryStatus.FAILED and UNCERTAIN in row.last_error
    assert (await Interaction.get(id=row.interaction_id)).delivery_status == \
        DeliveryStatus.FAILED  # type: ignore[attr-defined]
    assert [e.ticket.number for e in events] == [number]  # the team is told, once


async def test_graph_timeout_is_uncertain_and_reported(
        whatsapp: WhatsAppHarness, team: Team, clock: ManualClock) -> None:  # noqa: F811
    events = told(whatsapp.services)
    whatsapp.front.graph._http.timeout = httpx.Timeout(0.5)
    await _whatsapp_reply(whatsapp, team)
    whatsapp.graph.fail_next("messages", TIMEOUT)
    await whatsapp.deliver()
    clock.advance(hours=1)
    await whatsapp.deliver()
    assert graph_deliveries(whatsapp.graph) == {}
    assert len(whatsapp.graph.calls_to("messages")) == 1
    row = await OutboxMessage.get()
    assert row.status == DeliveryStatus.FAILED and UNCERTAIN in row.last_error
    assert len(events) == 1


async def test_graph_random_faults_lose_nothing(
        whatsapp: WhatsAppHarness, team: Team, clock: ManualClock) -> None:  # noqa: F811
    """30 % of calls answer 429 or 500 (seeded): every reply still goes, exactly once,
    and customer messages keep landing meanwhile (inbound never touches Graph)."""
    whatsapp.graph.fault_rate = 0.3
    whatsapp.graph.fault_kinds = (429, 500)
    for n in range(20):
        await _whatsapp_reply(whatsapp, team, text=f"Respuesta {n}", wamid=f"wamid.R{n}",
                              phone=f"569900000{n:02d}")
    for _ in range(40):  # bounded: each pass moves the clock past the longest backoff used
        await whatsapp.deliver()
        if not await OutboxMessage.filter(status=DeliveryStatus.PENDING).exists():
            break
        clock.advance(seconds=BACKOFF_SECONDS[2])
    assert await OutboxMessage.filter(status=DeliveryStatus.SENT).count() == 20
    delivered = graph_deliveries(whatsapp.graph)
    assert len(delivered) == 20 and set(delivered.values()) == {1}
    assert any(c.fault for c in whatsapp.graph.calls_to("messages"))


def _smtp_services(services, server: SmtpServer):  # type: ignore[no-untyped-def]
    from tests.handlers.email.harness import with_smtp

    smtp = with_smtp(services, server)
    smtp.outbox.register(__import__("bot.process.domain", fromlist=["Canal"]).Canal.EMAIL,
                         SmtpSender(smtp.settings, smtp.clock))
    return smtp


async def _email_reply(services, team: Team) -> int:  # type: ignore[no-untyped-def]
    from bot.process.domain import Canal

    customer = await services.customers.find_or_create(email="ana@example.cl", name="Ana")
    view = await services.tickets.open(team.admin, customer_id=customer.id,
                                       channel=Canal.EMAIL, description="Consulta")
    await services.tickets.reply(team.admin, view.number, text="Respuesta por correo")
    return view.number


async def test_smtp_451_is_retried_with_backoff(services, team: Team, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                smtp_server: SmtpServer) -> None:
    smtp = _smtp_services(services, smtp_server)
    await _email_reply(smtp, team)
    smtp_server.fail_next(times=2, code=451)
    assert await smtp.outbox.deliver_due() == 0
    clock.advance(seconds=BACKOFF_SECONDS[0])
    assert await smtp.outbox.deliver_due() == 0
    clock.advance(seconds=BACKOFF_SECONDS[0])
    assert await smtp.outbox.deliver_due() == 0, "retried before its backoff"
    clock.advance(seconds=BACKOFF_SECONDS[1])
    assert await smtp.outbox.deliver_due() == 1
    assert list(smtp_deliveries(smtp_server).values()) == [1]


async def test_smtp_permanent_refusal_tells_the_team(services, team: Team,  # type: ignore[no-untyped-def]
                                                     clock: ManualClock,
                                                     smtp_server: SmtpServer) -> None:
    smtp = _smtp_services(services, smtp_server)
    events = told(smtp)
    number = await _email_reply(smtp, team)
    smtp_server.fail_next(times=1, code=554)
    await smtp.outbox.deliver_due()
    clock.advance(hours=2)
    await smtp.outbox.deliver_due()
    row = await OutboxMessage.get()
    assert row.status == DeliveryStatus.FAILED and "554" in row.last_error
    assert smtp_deliveries(smtp_server) == {}
    assert [e.ticket.number for e in events] == [number]
    assert events[0].interaction is not None


async def test_smtp_connection_lost_after_data_is_not_sent_twice(  # type: ignore[no-untyped-def]
        services, team: Team, clock: ManualClock, smtp_server: SmtpServer) -> None:
    """SMTP's LATE: the server stored the mail, then the connection dropped before the
    250 reached us. Retrying sends a second copy; the outbox must report it uncertain."""
    smtp = _smtp_services(services, smtp_server)
    data = smtp_server.handle_DATA
    drops = [1]

    async def store_then_drop(server, session, envelope):  # type: ignore[no-untyped-def]
        reply = await data(server, session, envelope)
        if drops:
            drops.pop()
            server.transport.close()
        return reply

    smtp_server.handle_DATA = store_then_drop  # type: ignore[method-assign]
    await _email_reply(smtp, team)
    await smtp.outbox.deliver_due()
    for _ in range(3):
        clock.advance(hours=1)
        await smtp.outbox.deliver_due()
    assert list(smtp_deliveries(smtp_server).values()) == [1], "the reply went out twice"
    row = await OutboxMessage.get()
    assert row.status == DeliveryStatus.FAILED and UNCERTAIN in row.last_error
