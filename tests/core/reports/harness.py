"""A small known set of tickets for the report tests, with hand-computed figures.

Business time is whole days Monday to Friday in America/Santiago, Chilean holidays off
(Tuesday 8 December 2026 is one). Built through the real services, so the SLA clock,
its pauses and the tacit closure are the product's own.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, ConformityKind, Estado, Prioridad, TipoIncidencia
from bot.services import Services
from db.models import Customer, Ticket
from tests.conftest import Team, santiago

# When the report is asked: Thursday 17 December 2026, 12:00 local.
NOW = santiago(2026, 12, 17, 12, 0)


async def known_set(services: Services, team: Team) -> dict[str, int]:
    """Five tickets, A to E (see tests/core/reports/test_reports_figures.py for the expected figures)."""
    clock, t, admin = services.clock, services.tickets, team.admin

    async def open_at(when, email: str, tipo: TipoIncidencia | None,  # type: ignore[no-untyped-def]
                      prioridad: Prioridad | None = None) -> int:
        clock.set(when)  # type: ignore[attr-defined]
        customer = await services.customers.find_or_create(email=email, name=email[:3])
        view = await t.open(admin, customer_id=customer.id, channel=Canal.EMAIL,
                            description=f"Problema de {email}")
        if tipo or prioridad:
            await t.classify(admin, view.number, tipo=tipo, prioridad=prioridad)
        return view.number

    # A: answered in 2 h, proposed after 24 business hours, confirmed by the customer.
    a = await open_at(santiago(2026, 12, 1, 10, 0), "ana@example.cl", TipoIncidencia.CONSULTA,
                      Prioridad.BAJA)
    await t.assign(admin, a, team.sofia.id)
    clock.set(santiago(2026, 12, 1, 12, 0))  # type: ignore[attr-defined]
    await t.reply(admin, a, text="Lo revisamos.")
    clock.set(santiago(2026, 12, 2, 10, 0))  # type: ignore[attr-defined]
    await t.propose(admin, a, detalle="Listo")
    clock.set(santiago(2026, 12, 2, 11, 0))  # type: ignore[attr-defined]
    await t.confirm(admin, a)

    # B: first reply after 25 h (late); waits for the customer over the weekend (paused);
    # Tuesday 8 is a holiday; proposed at exactly 48 business hours; closed tacitly.
    b = await open_at(santiago(2026, 12, 3, 9, 0), "beto@example.cl", TipoIncidencia.RECLAMO,
                      Prioridad.ALTA)
    await t.assign(admin, b, team.diego.id)
    clock.set(santiago(2026, 12, 4, 10, 0))  # type: ignore[attr-defined]
    await t.reply(admin, b, text="¿Nos envía el comprobante?", wait_for_customer=True)
    clock.set(santiago(2026, 12, 7, 10, 0))  # type: ignore[attr-defined]
    await services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body="Adjunto el comprobante", external_id="<b-1@example.cl>",
        email="beto@example.cl", ticket_number=b))
    clock.set(santiago(2026, 12, 9, 9, 0))  # type: ignore[attr-defined]
    await t.propose(admin, b, detalle="Reembolso hecho")
    clock.set(santiago(2026, 12, 16, 9, 0))  # type: ignore[attr-defined]
    await t.confirm(admin, b, kind=ConformityKind.NO_ANSWER)

    # C: never answered, resolution clock still running past its due instant.
    c = await open_at(santiago(2026, 12, 7, 9, 0), "caro@example.cl", TipoIncidencia.RECLAMO,
                      Prioridad.MEDIA)
    # D: spam, discarded: counted as volume, never as a broken promise.
    d = await open_at(santiago(2026, 12, 14, 10, 0), "dani@example.cl", None)
    clock.set(santiago(2026, 12, 14, 11, 0))  # type: ignore[attr-defined]
    await t.discard(admin, d, reason="spam")
    # E: answered in 1 h, still within its resolution budget.
    e = await open_at(santiago(2026, 12, 16, 10, 0), "eli@example.cl", TipoIncidencia.SUGERENCIA,
                      Prioridad.BAJA)
    clock.set(santiago(2026, 12, 16, 11, 0))  # type: ignore[attr-defined]
    await t.reply(admin, e, text="Gracias por la idea.")
    # Satisfaction: A rated 5, B rated 2 (as the CSAT module would store it).
    await Ticket.filter(id=a).update(csat_requested_at=santiago(2026, 12, 2, 11, 0),
                                     csat_rating=5, csat_answered_at=santiago(2026, 12, 2, 12, 0))
    await Ticket.filter(id=b).update(csat_requested_at=santiago(2026, 12, 16, 9, 0),
                                     csat_rating=2, csat_answered_at=santiago(2026, 12, 16, 10, 0))
    clock.set(NOW)  # type: ignore[attr-defined]
    return {"A": a, "B": b, "C": c, "D": d, "E": e}


async def generate_tickets(count: int, first: datetime, last: datetime, *, seed: int = 7,
                           member_ids: Sequence[int] = (), customers: int = 500) -> None:
    """``count`` plausible tickets created between ``first`` and ``last`` (bulk insert).

    Not built through the services (50,000 would take minutes): the columns a report
    reads are filled the way the SLA clock would leave them.
    """
    rng = random.Random(seed)
    now = first
    people = [Customer(name=f"Cliente {i}", email=f"c{i}@example.cl", created_at=now)
              for i in range(customers)]
    await Customer.bulk_create(people, batch_size=1000)
    customer_ids = list(await Customer.all().values_list("id", flat=True))
    span = (last - first).total_seconds()
    rows = []
    for _ in range(count):
        created = first + timedelta(seconds=rng.random() * span)
        answered = created + timedelta(hours=rng.expovariate(1 / 10)) if rng.random() < 0.95 \
            else None
        used = rng.uniform(2, 70)
        estado = rng.choices([Estado.RESOLVED, Estado.IN_PROGRESS, Estado.WAITING_CUSTOMER,
                              Estado.PENDING_CONFORMITY, Estado.DISCARDED, Estado.NEW],
                             [80, 5, 4, 4, 4, 3])[0]
        resolved = created + timedelta(hours=used * 1.6) if estado is Estado.RESOLVED else None
        rated = resolved is not None and rng.random() < 0.4
        rows.append(Ticket(
            customer_id=rng.choice(customer_ids),
            channel=rng.choice([Canal.EMAIL, Canal.WHATSAPP, Canal.WHATSAPP, Canal.PHONE]),
            subject="Consulta", description="Texto", estado=estado,
            tipo=rng.choice([*TipoIncidencia, None]), prioridad=rng.choice([*Prioridad, None]),
            assignee_id=rng.choice(member_ids) if member_ids else None,
            created_at=created, updated_at=created,
            first_response_due=created + timedelta(hours=24), first_response_at=answered,
            resolution_due=created + timedelta(hours=72), resolution_hours_used=used,
            resolution_clock_since=created if estado in (Estado.NEW, Estado.IN_PROGRESS)
            else None,
            resolved_at=resolved,
            conformity_kind=rng.choice(list(ConformityKind)) if resolved else None,
            csat_requested_at=resolved, csat_rating=rng.randint(1, 5) if rated else None,
            csat_answered_at=resolved + timedelta(hours=2) if rated and resolved else None,
        ))
    await Ticket.bulk_create(rows, batch_size=2000)
