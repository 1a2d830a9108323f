"""Cards show the suggestion pre-selected and marked "sugerido"; one tap "Aceptar
sugerencia" classifies through the core (fake Telegram and fake Slack servers)."""

from __future__ import annotations

import copy

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, Prioridad, TipoIncidencia
from db.models import TriageExample
from handlers.telegram import callbacks as cb
from tests.conftest import Team
from tests.handlers.slack.harness import SlackRig, rig
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401

__all__ = ["rig"]

DOUBLE_CHARGE = "Disculpen, creo que me cobraron dos veces el hosting de diciembre"


async def test_telegram_card_marks_the_suggestion_and_accepts_it_in_one_tap(
        desk: Desk) -> None:
    number = await desk.customer_writes(DOUBLE_CHARGE)
    card = await desk.card(number)
    assert "Reclamo (sugerido" in card["text"] and "Alta (sugerido" in card["text"]
    assert "«cobraron dos veces»" in card["text"]
    desk.button(card["message_id"], "☆ Reclamo (sugerido)")
    desk.button(card["message_id"], "☆ Alta (sugerido)")
    data = desk.button(card["message_id"], "Aceptar sugerencia")
    assert data == cb.encode(cb.ACCEPT, number, 1) and len(data.encode()) <= cb.MAX_BYTES

    await desk.tap(card["message_id"], "Aceptar sugerencia")
    view = await desk.services.queries.get(number)
    assert (view.tipo, view.prioridad) == (TipoIncidencia.RECLAMO, Prioridad.ALTA)
    assert f"✓ #{number}: Reclamo · Alta" in desk.answers()
    example = await TriageExample.get(ticket_id=number)
    assert example.accepted and example.member_id == desk.team.carla.id  # type: ignore[attr-defined]
    history = await desk.services.queries.history(number)
    assert [(i.field, i.author_name) for i in history if i.field] == [
        ("Tipo_Incidencia", "Carla"), ("Prioridad", "Carla")]
    redrawn = await desk.card(number)
    assert redrawn["message_id"] == card["message_id"]
    assert "sugerido" not in redrawn["text"] and "Reclamo · Alta" in redrawn["text"]
    desk.button(card["message_id"], "✓ Reclamo")
    labels = [b["text"] for row in redrawn["reply_markup"]["inline_keyboard"] for b in row]
    assert not any("Aceptar sugerencia" in label for label in labels)


async def test_telegram_stale_accept_changes_nothing(desk: Desk) -> None:
    number = await desk.customer_writes(DOUBLE_CHARGE)
    old = await desk.card(number)
    snapshot = copy.deepcopy(old)
    await desk.tap(old["message_id"], "Consulta")  # a person decides the type first
    await desk.tap(old["message_id"], "Aceptar sugerencia", message=snapshot)
    view = await desk.services.queries.get(number)
    assert (view.tipo, view.prioridad) == (TipoIncidencia.CONSULTA, None)  # refused as stale
    # the fresh card still offers the pending priority; accepting sets only that
    await desk.tap(old["message_id"], "Aceptar sugerencia")
    view = await desk.services.queries.get(number)
    assert (view.tipo, view.prioridad) == (TipoIncidencia.CONSULTA, Prioridad.ALTA)
    example = await TriageExample.get(ticket_id=number)
    assert not example.accepted and example.tipo is TipoIncidencia.CONSULTA  # a correction


async def test_slack_card_preselects_and_accepts_the_suggestion(rig: SlackRig,
                                                                team: Team) -> None:
    s = rig.services
    result = await s.intake.receive(IncomingMessage(
        channel=Canal.WHATSAPP, body="hola, la página está caída desde las 9 😰",
        external_id="wamid.slack1", phone="+56912345678", name="Ana"))
    await rig.front.drain()
    assert result.ticket is not None
    number = result.ticket.number
    card = await rig.card(number)
    selects = next(b for b in card["blocks"] if b.get("block_id", "").startswith("atiende_sel"))
    tipo, prio = selects["elements"][0], selects["elements"][1]
    assert tipo["initial_option"] == {"text": {"type": "plain_text",
                                               "text": "Reclamo (sugerido)", "emoji": True},
                                      "value": "Reclamo"}
    assert prio["initial_option"]["value"] == "Alta"
    assert "Alta (sugerido" in str(card["blocks"][1])

    response = await rig.click("UDIEGO", number, "atiende_aceptar_sugerencia")
    assert response.status_code == 200
    view = await s.queries.get(number)
    assert (view.tipo, view.prioridad) == (TipoIncidencia.RECLAMO, Prioridad.ALTA)
    example = await TriageExample.get(ticket_id=number)
    assert example.accepted and example.member_id == team.diego.id  # type: ignore[attr-defined]
    redrawn = await rig.card(number)
    ids = [e.get("action_id") for b in redrawn["blocks"] for e in b.get("elements", [])]
    assert "atiende_aceptar_sugerencia" not in ids
    assert "sugerido" not in str(redrawn["blocks"])


async def test_slack_accept_from_a_stranger_changes_nothing(rig: SlackRig,
                                                            team: Team) -> None:
    s = rig.services
    result = await s.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body="Me cobraron dos veces", external_id="<x1@mail>",
        email="ana@example.cl", name="Ana"))
    await rig.front.drain()
    assert result.ticket is not None
    await rig.click("USTRANGER", result.ticket.number, "atiende_aceptar_sugerencia")
    view = await s.queries.get(result.ticket.number)
    assert (view.tipo, view.prioridad) == (None, None)
    assert not await TriageExample.exists()
