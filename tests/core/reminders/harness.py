"""Helpers for the reminder tests: a recording notifier and clock-driven stepping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.incoming.intake import IncomingMessage
from bot.process.clock import ManualClock
from bot.process.domain import Canal, Prioridad, TipoIncidencia
from bot.process.notify import Audience, Digest
from bot.reminders import ReminderService
from bot.services import Services


@dataclass
class RecordingNotifier:
    """Records every digest; ``reach`` limits which audiences it claims it can reach."""

    name: str = "recorder"
    reach: frozenset[Audience] = frozenset(Audience)
    fail_times: int = 0  # raise on the first N deliveries (a post that failed)
    delivered: list[tuple[datetime, Digest]] = field(default_factory=list)
    attempts: int = 0
    clock: ManualClock | None = None

    def can_reach(self, digest: Digest) -> bool:
        return digest.audience in self.reach

    async def deliver(self, digest: Digest) -> None:
        self.attempts += 1
        if self.attempts <= self.fail_times:
            raise ConnectionError("post failed")
        assert self.clock is not None
        self.delivered.append((self.clock.now(), digest))

    def lines(self) -> list[tuple[datetime, str, str]]:
        """(when, who, notice text) for every notice delivered."""
        out = []
        for when, d in self.delivered:
            who = d.member.name if d.member else "canal"
            out.extend((when, f"{d.audience.value}:{who}", n.text) for n in d.notices)
        return out

    def who_at(self, when: datetime) -> set[str]:
        return {who for at, who, _ in self.lines() if at == when}


def recorder(services: Services, clock: ManualClock, **kwargs: object) -> RecordingNotifier:
    notifier = RecordingNotifier(clock=clock, **kwargs)  # type: ignore[arg-type]
    services.notifiers.append(notifier)
    return notifier


async def whatsapp_ticket(services: Services, team: object, *, prioridad: Prioridad,
                          external_id: str = "wamid.1", phone: str = "+56 9 1234 5678",
                          assignee: object | None = None) -> int:
    """Scenario 1: the customer writes on WhatsApp; Carla classifies and assigns."""
    result = await services.intake.receive(IncomingMessage(
        channel=Canal.WHATSAPP, body="hola, me cobraron dos veces la mensualidad de diciembre",
        external_id=external_id, phone=phone))
    assert result.ticket is not None
    number = result.ticket.number
    admin = team.admin  # type: ignore[attr-defined]
    await services.tickets.classify(admin, number, tipo=TipoIncidencia.RECLAMO,
                                    prioridad=prioridad)
    member = assignee or team.diego  # type: ignore[attr-defined]
    await services.tickets.assign(admin, number, member.id)  # type: ignore[attr-defined]
    return number


async def step_until(service: ReminderService, clock: ManualClock, end: datetime) -> None:
    """Jump the clock from wake-up to wake-up (as ``run`` would), firing at each one."""
    for _ in range(500):
        wake = await service.next_wake()
        if wake > end:
            clock.set(end)
            await service.tick()
            return
        clock.set(max(wake, clock.now()))
        await service.tick()
    raise AssertionError("too many wake-ups")


async def email_ticket(services: Services, team: object, *, prioridad: Prioridad | None,
                       email: str = "ana@example.cl", assignee: object | None = None) -> int:
    """A ticket the team opened for an email customer (assigned to Diego by default)."""
    customer = await services.customers.find_or_create(email=email, name="Ana")
    member = assignee or team.diego  # type: ignore[attr-defined]
    view = await services.tickets.open(
        team.admin, customer_id=customer.id, channel=Canal.EMAIL,  # type: ignore[attr-defined]
        description="Consulta por hosting", tipo=TipoIncidencia.CONSULTA, prioridad=prioridad,
        assignee_id=member.id)  # type: ignore[attr-defined]
    return view.number
