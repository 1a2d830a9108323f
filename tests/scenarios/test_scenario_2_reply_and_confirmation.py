"""Scenario 2: the reply, and the customer's confirmation (shared/scenarios.md §2).

Monday 09:05 Diego answers from Slack with the only thing that may go (the approved
template: the window closed on Saturday); 09:30 the customer answers and the window
reopens; 12:00 "Proponer solución" sends two buttons on WhatsApp; 12:04 the tap resolves
#1 and both cards say so.
"""

from __future__ import annotations

from bot.process.domain import Estado, InteractionKind
from bot.process.template_names import TemplateName
from db.models import Interaction
from tests.conftest import santiago
from tests.handlers.whatsapp.harness import button_payload, text_payload
from tests.scenarios.desk import Desk, desk, submission
from tests.scenarios.test_scenario_1_whatsapp_friday import complaint_triaged

__all__ = ["desk"]

CLOSED = "solo puede salir una plantilla aprobada"


async def test_monday_reply_answer_proposal_and_tap(desk: Desk) -> None:
    s = desk.services
    await complaint_triaged(desk)

    # Mon 7 Dec 09:05: Diego opens "Responder" on the Slack card
    desk.at(2026, 12, 7, 9, 5)
    assert (await desk.slack_click("UDIEGO", 1, "atiende_responder")).status_code == 200
    view = desk.slack_last_view()
    shown = str(view["blocks"])
    assert CLOSED in shown and "24 horas" in shown
    assert not any(b.get("block_id", "").startswith("text:") for b in view["blocks"]), \
        "the window is closed: no editable text"
    picker = next(b for b in view["blocks"] if b.get("block_id") == "tpl")
    offered = {o["value"] for o in picker["element"]["options"]}
    assert offered and offered <= {"actualizacion_estado", "acuse_recibo",
                                   "solicitud_conformidad"}
    assert "Texto libre" not in shown
    response = await desk.slack_interact(submission("UDIEGO", view,
                                                    {"tpl": "actualizacion_estado"}))
    assert response.status_code == 200
    assert await desk.deliver() == 1
    sent = desk.graph.last("messages").params
    assert sent["type"] == "template" and sent["to"] == "56912345678"
    assert sent["template"]["name"] == "atiende_actualizacion_estado"
    t = await s.queries.get(1)
    assert t.first_response_at == santiago(2026, 12, 7, 9, 5)  # recorded, late
    assert (await Interaction.get(ticket_id=1, field="Primera respuesta")).meta["late"]
    thread = "\n".join(m["text"] for m in await desk.slack_thread(1))
    assert "respondió al cliente" in thread
    assert "ventana de WhatsApp cerrada: plantilla aprobada" in thread

    # 09:30: the customer answers; it joins #1 and the window reopens
    desk.at(2026, 12, 7, 9, 30)
    answer = "gracias, quedo atenta"
    assert (await desk.whatsapp_post(text_payload("wamid.S2", answer))).status_code == 200
    assert len(await s.queries.all()) == 1
    assert (await Interaction.get(external_id="wamid.S2")).ticket_id == 1  # type: ignore[attr-defined]
    assert (await s.replies.draft(desk.team.actor(desk.team.diego), 1,
                                  TemplateName.STATUS_UPDATE)).free_text_allowed
    assert answer in "\n".join(m["text"] for m in await desk.slack_thread(1)) + str(
        await desk.tg_card(1))
    await desk.slack_click("UDIEGO", 1, "atiende_responder")
    assert CLOSED not in str(desk.slack_last_view()["blocks"])  # editable again

    # 12:00: "Proponer solución" -> two buttons on WhatsApp; Pendiente de conformidad
    desk.at(2026, 12, 7, 12, 0)
    assert (await desk.slack_click("UDIEGO", 1, "atiende_proponer")).status_code == 200
    assert await desk.deliver() == 1
    request = desk.graph.last("messages").params
    assert request["type"] == "interactive"
    titles = [b["reply"]["title"] for b in request["interactive"]["action"]["buttons"]]
    assert titles == ["Sí, está resuelto", "No, sigue pendiente"]
    t = await s.queries.get(1)
    assert t.estado is Estado.PENDING_CONFORMITY and not t.resolution_running
    assert "Pendiente de conformidad" in (await desk.tg_card(1))["text"]
    assert "Pendiente de conformidad" in str((await desk.slack_card(1))["blocks"])

    # 12:04: the customer taps "Sí, está resuelto"
    desk.at(2026, 12, 7, 12, 4)
    response = await desk.whatsapp_post(button_payload("wamid.S3", "conf:yes:1",
                                                       "Sí, está resuelto"))
    assert response.status_code == 200
    t = await s.queries.get(1)
    assert t.estado is Estado.RESOLVED
    assert t.resolved_at == santiago(2026, 12, 7, 12, 4)
    assert t.customer_confirmed_at == santiago(2026, 12, 7, 12, 4)
    tg_card = (await desk.tg_card(1))["text"]
    assert "Resuelto" in tg_card and "Fecha_Resolucion: lun 07/12 12:04" in tg_card
    slack_card = str((await desk.slack_card(1))["blocks"])
    assert "Resuelto" in slack_card and "07/12 12:04" in slack_card

    # the thread shows the whole history; nothing was sent twice
    thread = "\n".join(m["text"] for m in await desk.slack_thread(1))
    for expected in ("Tipo_Incidencia", "Prioridad", "Responsable", "respondió al cliente",
                     "Pendiente de conformidad", "Resuelto", "Fecha_Resolucion"):
        assert expected in thread, expected
    history = await s.queries.history(1)
    assert [h.external_id for h in history if h.kind is InteractionKind.INBOUND] == [
        "wamid.S1", "wamid.S2", "wamid.S3"]
    assert len(desk.graph.calls_to("messages")) == 2
