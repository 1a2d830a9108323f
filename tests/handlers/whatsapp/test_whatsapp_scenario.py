"""Scenarios 1 and 2 of ``shared/scenarios.md`` from the WhatsApp side: a complaint late
on a Friday, the Monday reply as an approved template, the customer's answer reopening
the window, the conformity buttons and the tap that resolves the ticket."""

from __future__ import annotations

from bot.process.domain import Canal, Estado, InteractionKind, Prioridad, TipoIncidencia
from bot.process.template_names import TemplateName
from db.models import Interaction
from tests.conftest import Team, santiago
from tests.handlers.whatsapp.harness import (  # noqa: F401 (fixture)
    WhatsAppHarness,
    button_payload,
    text_payload,
    whatsapp,
)

COMPLAINT = "hola, me cobraron dos veces la mensualidad de diciembre 😡"


async def test_complaint_reply_and_confirmation(whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    s, clock, graph = whatsapp.services, whatsapp.services.clock, whatsapp.graph
    # Fri 4 Dec 2026 17:50: the customer writes.
    assert clock.now() == santiago(2026, 12, 4, 17, 50)
    assert (await whatsapp.post(text_payload("wamid.S1", COMPLAINT, name="Marta Soto"))
            ).status_code == 200
    t = await s.queries.get(1)
    assert t.channel is Canal.WHATSAPP and t.estado is Estado.NEW
    assert t.customer.phone == "+56912345678" and t.description == COMPLAINT
    assert t.first_response_due == santiago(2026, 12, 5, 17, 50)
    assert t.resolution_due == santiago(2026, 12, 9, 17, 50)
    await s.tickets.classify(team.admin, 1, tipo=TipoIncidencia.RECLAMO,
                             prioridad=Prioridad.ALTA)
    await s.tickets.assign(team.admin, 1, team.diego.id)

    # Mon 7 Dec 09:05: the window closed on Saturday; only the approved template goes.
    clock.set(santiago(2026, 12, 7, 9, 5))  # type: ignore[attr-defined]
    diego = team.actor(team.diego)
    draft = await s.replies.draft(diego, 1, TemplateName.STATUS_UPDATE)
    assert not draft.free_text_allowed and "24 horas" in draft.notice
    await s.tickets.reply(diego, 1, template=TemplateName.STATUS_UPDATE)
    assert await whatsapp.deliver() == 1
    sent = graph.last("messages").params
    assert sent["type"] == "template" and sent["to"] == "56912345678"
    assert sent["template"]["name"] == "atiende_actualizacion_estado"
    t = await s.queries.get(1)
    assert t.first_response_at == santiago(2026, 12, 7, 9, 5)  # recorded, late
    late = await Interaction.get(ticket_id=1, field="Primera respuesta")
    assert late.meta["late"] is True
    outbound = await Interaction.get(ticket_id=1, kind=InteractionKind.OUTBOUND)
    assert outbound.meta["window_closed"] is True
    assert outbound.meta["approved_template"] == "atiende_actualizacion_estado"

    # 09:30: the customer answers; it joins #1 and the window reopens.
    clock.set(santiago(2026, 12, 7, 9, 30))  # type: ignore[attr-defined]
    await whatsapp.post(text_payload("wamid.S2", "gracias, quedo atenta"))
    answer = await Interaction.get(external_id="wamid.S2")
    assert answer.ticket_id == 1  # type: ignore[attr-defined]
    assert (await s.replies.draft(diego, 1, TemplateName.STATUS_UPDATE)).free_text_allowed

    # 12:00: Diego proposes the solution: two buttons, Pendiente de conformidad.
    clock.set(santiago(2026, 12, 7, 12, 0))  # type: ignore[attr-defined]
    await s.tickets.propose(diego, 1, detalle="Le devolvimos el cobro duplicado.")
    assert await whatsapp.deliver() == 1
    request = graph.last("messages").params
    assert request["type"] == "interactive"
    titles = [b["reply"]["title"] for b in request["interactive"]["action"]["buttons"]]
    assert titles == ["Sí, está resuelto", "No, sigue pendiente"]
    t = await s.queries.get(1)
    assert t.estado is Estado.PENDING_CONFORMITY and not t.resolution_running

    # 12:04: the tap.
    clock.set(santiago(2026, 12, 7, 12, 4))  # type: ignore[attr-defined]
    await whatsapp.post(button_payload("wamid.S3", "conf:yes:1", "Sí, está resuelto"))
    t = await s.queries.get(1)
    assert t.estado is Estado.RESOLVED
    assert t.resolved_at == santiago(2026, 12, 7, 12, 4)
    assert t.customer_confirmed_at == santiago(2026, 12, 7, 12, 4)
    history = await s.queries.history(1)
    assert [h.external_id for h in history if h.kind is InteractionKind.INBOUND] == [
        "wamid.S1", "wamid.S2", "wamid.S3"]
    assert len(graph.calls_to("messages")) == 2  # nothing sent twice
