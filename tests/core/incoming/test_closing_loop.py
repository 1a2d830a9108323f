"""The last step of a ticket's life: the closing message goes out, with the change, on
the customer's "Sí" and when the case is closed without an answer; the latter is recorded
as *sin respuesta* (silence is not acceptance, Ley 19.496 art. 3 a), never as consent.
Also: a whole Sugerencia life, a Reclamo rejected with reasons, and migration 0003."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tortoise import Tortoise
from tortoise.migrations.api import migrate

from bot.incoming.conformity import apply_answer
from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, ConformityKind, Estado, InteractionKind, TipoIncidencia
from bot.process.template_names import TemplateName
from bot.process.views import Actor
from bot.services import Services
from db.connection import tortoise_config, upgrade
from db.models import Customer, Interaction, OutboxMessage
from tests.conftest import Team, santiago

EMAIL = "ana@example.cl"


async def _open(services: Services, team: Team, tipo: TipoIncidencia,
                text: str = "Me cobraron dos veces el plan.") -> int:
    customer = await services.customers.find_or_create(email=EMAIL, name="Ana Pérez")
    view = await services.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                                       description=text, subject="RE: Cobro duplicado",
                                       tipo=tipo)
    await services.tickets.assign(team.admin, view.number, team.diego.id)
    return view.number


async def _queued(number: int) -> list[OutboxMessage]:
    return await OutboxMessage.filter(interaction__ticket_id=number).order_by("id")


async def _customer_says(services: Services, number: int, body: str, mid: str) -> None:
    result = await services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body=body, external_id=mid, email=EMAIL, name="Ana Pérez",
        subject=f"Re: Cobro duplicado [#{number}]", ticket_number=number))
    await apply_answer(services.tickets, result, body, Canal.EMAIL, "Ana Pérez")


async def test_the_customers_yes_sends_the_closing_message(services: Services,
                                                           team: Team) -> None:
    n = await _open(services, team, TipoIncidencia.RECLAMO)
    await services.tickets.propose(Actor.of(team.diego), n, detalle="Anulamos el cobro.")
    services.clock.advance(hours=3)  # type: ignore[attr-defined]
    await _customer_says(services, n, "Sí, gracias.", "<yes-1@example.cl>")

    t = await services.queries.get(n)
    assert t.estado is Estado.RESOLVED and t.conformity_kind is ConformityKind.EXPLICIT
    assert t.customer_confirmed_at == services.clock.now()
    rows = await _queued(n)
    assert [r.payload["template"] for r in rows] == ["solicitud_conformidad", "cierre"]
    closing = rows[-1]
    assert closing.recipient == EMAIL and closing.payload["kind"] == "closure"
    assert closing.created_at == t.resolved_at  # queued with the change, same instant
    text = closing.payload["text"]
    assert text.startswith("Hola, Ana:")
    assert "Gracias por confirmarnos que su reclamo" in text
    assert "Diego" in text and "Hosting Andino" in text  # the assignee signs, not "Atiende"
    assert "Atiende" not in text
    assert closing.payload["subject"] == f"Cierre de su reclamo – Cobro duplicado [#{n}]"
    interaction = await Interaction.get(id=closing.interaction_id)  # type: ignore[attr-defined]
    assert interaction.automatic and interaction.template == "cierre"
    # the team's own "conforme" (the customer said yes by phone) closes the same way
    m = await _open(services, team, TipoIncidencia.CONSULTA)
    await services.tickets.propose(team.admin, m)
    await services.tickets.confirm(team.admin, m)
    assert [r.payload["template"] for r in await _queued(m)][-1] == "cierre"


async def test_closure_without_answer_says_so_and_is_recorded_apart(services: Services,
                                                                    team: Team) -> None:
    services.clock.set(santiago(2026, 12, 10, 15, 0))  # type: ignore[attr-defined]
    n = await _open(services, team, TipoIncidencia.RECLAMO)
    await services.tickets.propose(Actor.of(team.diego), n, detalle="Anulamos el cobro.")
    request = (await _queued(n))[-1].payload["text"]
    assert ("Si no recibimos respuesta, el jueves 17 de diciembre daremos por cerrado el caso; "
            "si necesita retomarlo, basta con responder a este mensaje.") in request
    services.clock.set(santiago(2026, 12, 14, 15, 0))  # type: ignore[attr-defined]
    assert await services.conformity.sweep() == [(n, "recordatorio")]
    reminder = (await _queued(n))[-1]
    assert reminder.payload["template"] == "recordatorio_cliente"
    assert "Diego" in reminder.payload["text"] and "entenderemos" not in reminder.payload["text"]

    services.clock.set(santiago(2026, 12, 17, 15, 0))  # type: ignore[attr-defined]
    assert await services.conformity.sweep() == [(n, "sin respuesta")]
    assert await services.conformity.sweep() == []  # once

    t = await services.queries.get(n)
    assert t.estado is Estado.RESOLVED and t.conformity_kind is ConformityKind.NO_ANSWER
    assert t.customer_confirmed_at is None
    rows = await _queued(n)
    assert [r.payload["template"] for r in rows].count("cierre") == 1
    closing = rows[-1].payload
    assert closing["template"] == "cierre" and closing["kind"] == "closure"
    for text in (closing["text"], closing["whatsapp"]):
        assert ("damos por cerrado el caso; si necesita retomarlo, basta con responder a "
                "este mensaje") in text
        assert "confirm" not in text and "conforme" not in text and "tácita" not in text
    history = await services.queries.history(n)
    estado = [i for i in history if i.kind is InteractionKind.EVENT and i.field == "Estado"]
    assert estado[-1].new_value == "Resuelto"
    assert estado[-1].meta["reason"] == "cerrado sin respuesta del cliente"
    assert not any("tácita" in (i.body + str(i.meta)) for i in history)


async def test_an_unreachable_customer_is_closed_and_the_history_says_why(
        services: Services, team: Team) -> None:
    n = await _open(services, team, TipoIncidencia.CONSULTA)
    await services.tickets.propose(team.admin, n)
    await Customer.filter(email=EMAIL).update(email=None)
    await services.tickets.confirm(team.admin, n)

    assert (await services.queries.get(n)).estado is Estado.RESOLVED
    assert [r.payload["template"] for r in await _queued(n)] == ["solicitud_conformidad"]
    notes = [i.body for i in await services.queries.history(n)
             if i.kind is InteractionKind.NOTE]
    assert notes and notes[-1].startswith("No se envió el mensaje de cierre")


async def test_a_whole_sugerencia_life(services: Services, team: Team) -> None:
    n = await _open(services, team, TipoIncidencia.SUGERENCIA,
                    "Sería útil poder pagar con transferencia.")
    diego = Actor.of(team.diego)
    await services.tickets.reply(diego, n, template=TemplateName.ACKNOWLEDGEMENT)
    await services.tickets.reply(diego, n, template=TemplateName.PROPOSED_RESOLUTION,
                                 detalle="La evaluaremos para el próximo semestre.")
    assert TemplateName.CONFORMITY_REQUEST in services.replies.templates_for(
        await services.queries.get(n))
    await services.tickets.propose(diego, n)
    await _customer_says(services, n, "Sí", "<sug-yes@example.cl>")

    assert (await services.queries.get(n)).estado is Estado.RESOLVED
    rows = await _queued(n)
    assert [r.payload["template"] for r in rows] == [
        "acuse_recibo", "propuesta_solucion", "solicitud_conformidad", "cierre"]
    ack, proposal, question, closing = (r.payload for r in rows)
    assert "Muchas gracias por su sugerencia" in ack["text"]
    assert "dentro de las próximas 24 horas" in ack["text"]
    assert "La evaluaremos para el próximo semestre." in proposal["text"]
    assert "¿Podemos dar por atendida su sugerencia?" in question["text"]
    assert question["subject"].startswith("¿Podemos dar por atendida su sugerencia?")
    assert "Damos por atendida su sugerencia" in closing["text"]
    for payload in (ack, proposal, question, closing):
        for text in (payload["text"], payload["whatsapp"]):
            assert "resolvió su situación" not in text and "solución" not in text


async def test_a_reclamo_rejected_with_reasons(services: Services, team: Team) -> None:
    n = await _open(services, team, TipoIncidencia.RECLAMO)
    view = await services.queries.get(n)
    menu = services.replies.templates_for(view)
    assert TemplateName.REJECTION in menu and TemplateName.REFERRAL in menu
    consulta = await _open(services, team, TipoIncidencia.CONSULTA)
    assert TemplateName.REJECTION not in services.replies.templates_for(
        await services.queries.get(consulta))

    reasons = ("El cobro corresponde al plan anual contratado el 3 de marzo, según la "
               "cláusula 4 del contrato.")
    await services.tickets.reply(Actor.of(team.diego), n, template=TemplateName.REJECTION,
                                 detalle=reasons)
    payload = (await _queued(n))[-1].payload
    assert payload["subject"] == (f"Resultado de la revisión de su reclamo – Cobro duplicado "
                                  f"[#{n}]")
    for text in (payload["text"], payload["whatsapp"]):
        assert "no procede, por las siguientes razones" in text
        assert reasons in text
        assert "SERNAC" in text and "www.sernac.cl" in text
        assert "revisaremos nuevamente su caso" in text
    # a referral names the area and keeps the promise
    await services.tickets.reply(Actor.of(team.diego), n, template=TemplateName.REFERRAL,
                                 detalle="Lo atenderá el área de Facturación.")
    referral = (await _queued(n))[-1].payload["text"]
    assert "derivado su reclamo" in referral and "área de Facturación" in referral
    assert "a más tardar el" in referral


def test_migration_renames_tacit_rows(tmp_path: Path) -> None:
    """Rows closed as "tácita" before 0003 read "sin respuesta" after it."""
    import asyncio

    path = tmp_path / "old.db"
    url = f"sqlite://{path}"

    async def first_only() -> None:
        await migrate(config=tortoise_config(url), target="models.0001_initial")
        await Tortoise.close_connections()

    asyncio.run(first_only())
    db = sqlite3.connect(path)
    now = "2026-12-01 10:00:00+00:00"
    db.execute("INSERT INTO clientes (id, name, company, notes, created_at) "
               "VALUES (1, 'Ana', '', '', ?)", (now,))
    for number, kind in ((1, "tácita"), (2, "expresa")):
        db.execute(
            "INSERT INTO tickets (id, customer_id, channel, subject, description, estado, "
            "created_at, updated_at, version, first_response_due, resolution_due, "
            "resolution_hours_used, conformity_kind) VALUES (?, 1, 'email', '', '', "
            "'Resuelto', ?, ?, 1, ?, ?, 0, ?)", (number, now, now, now, now, kind))
    db.commit()
    db.close()

    asyncio.run(upgrade(url))

    db = sqlite3.connect(path)
    rows = dict(db.execute("SELECT id, conformity_kind FROM tickets").fetchall())
    db.close()
    assert rows == {1: "sin respuesta", 2: "expresa"}
