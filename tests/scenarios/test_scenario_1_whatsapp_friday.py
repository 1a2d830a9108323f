"""Scenario 1: a complaint on WhatsApp, late on a Friday (shared/scenarios.md §1).

One Atiende with every front end: the signed webhook opens #1, the card reaches Carla's
Telegram and the Slack channel, Carla triages by taps, both cards follow, Diego is
mentioned in the thread, and Saturday's reminders reach the right people at the right
minutes through the real notifiers.
"""

from __future__ import annotations

from bot.process.domain import Canal, Estado, Prioridad, TipoIncidencia
from tests.conftest import santiago
from tests.handlers.whatsapp.harness import text_payload
from tests.scenarios.desk import CARLA, Desk, desk

__all__ = ["desk"]

COMPLAINT = "hola, me cobraron dos veces la mensualidad de diciembre 😡"


async def complaint_triaged(desk: Desk) -> None:
    """Fri 17:50 the complaint arrives; Carla taps Reclamo, Alta, Asignar -> Diego."""
    response = await desk.whatsapp_post(text_payload("wamid.S1", COMPLAINT, name="Marta Soto"))
    assert response.status_code == 200
    card_id = (await desk.tg_card(1))["message_id"]
    await desk.tg_tap(card_id, "Reclamo")
    await desk.tg_tap(card_id, "Alta")
    await desk.tg_tap(card_id, "Asignar")
    menu = desk.tg_last()
    await desk.tg_tap(menu["message_id"], "Diego")


async def test_friday_complaint_reaches_everyone_and_saturday_reminders(desk: Desk) -> None:
    s = desk.services
    assert desk.clock.now() == santiago(2026, 12, 4, 17, 50)
    response = await desk.whatsapp_post(text_payload("wamid.S1", COMPLAINT, name="Marta Soto"))
    assert response.status_code == 200

    # ticket #1, canal WhatsApp, Estado Nuevo, a new customer, the deadlines
    t = await s.queries.get(1)
    assert t.channel is Canal.WHATSAPP and t.estado is Estado.NEW
    assert t.customer.phone == "+56912345678" and t.description == COMPLAINT
    assert t.first_response_due == santiago(2026, 12, 5, 17, 50)
    assert t.resolution_due == santiago(2026, 12, 9, 17, 50)
    assert len(await s.queries.all()) == 1

    # the card at Carla's Telegram and in the Slack channel
    tg_card = await desk.tg_card(1)
    assert "#1" in tg_card["text"] and COMPLAINT in tg_card["text"]
    assert "Nuevo" in tg_card["text"] and "WhatsApp" in tg_card["text"]
    slack_card = await desk.slack_card(1)
    slack_text = slack_card["blocks"][0]["text"]["text"]
    assert slack_text.startswith("#1") and "Nuevo" in slack_text
    assert "dos veces la mensualidad" in str(slack_card["blocks"])
    card_id = tg_card["message_id"]

    # Carla taps Reclamo, Alta, then Asignar -> Diego
    await desk.tg_tap(card_id, "Reclamo")
    await desk.tg_tap(card_id, "Alta")
    await desk.tg_tap(card_id, "Asignar")
    menu = desk.tg_last()
    await desk.tg_tap(menu["message_id"], "Diego")
    t = await s.queries.get(1)
    assert (t.tipo, t.prioridad) == (TipoIncidencia.RECLAMO, Prioridad.ALTA)
    assert t.assignee is not None and t.assignee.name == "Diego"
    assert t.estado is Estado.IN_PROGRESS

    # both cards show the change (edited in place); Diego is mentioned in the thread
    tg_card = await desk.tg_card(1)
    assert tg_card["message_id"] == card_id
    assert "Reclamo · Alta" in tg_card["text"] and "Responsable: Diego" in tg_card["text"]
    assert "En proceso" in tg_card["text"]
    slack_card = await desk.slack_card(1)
    shown = str(slack_card["blocks"])
    assert "Reclamo" in shown and "Alta" in shown and "En proceso" in shown
    assert "Diego" in shown or "<@UDIEGO>" in shown
    assert "edited" in slack_card
    thread = await desk.slack_thread(1)
    assert any("<@UDIEGO>" in m["text"] for m in thread)
    assert len([k for k in desk.slack.messages if k[0] == "C0SOPORTE"
                and "thread_ts" not in desk.slack.messages[k]]) == 1  # one card, edited

    # Saturday: 11:50 (75 %), 15:26 (90 %), 16:50 (the window), 17:50 (vencido)
    expected = {
        (11, 50): ("primera respuesta vence en 6 h", {"tg", "slack_diego"}),
        (15, 26): ("primera respuesta vence en 2 h 24 min", {"tg", "slack_diego"}),
        (16, 50): ("la ventana de WhatsApp cierra en 1 h", {"tg", "slack_diego"}),
        (17, 50): ("plazo de primera respuesta vencido", {"tg", "slack_diego",
                                                          "slack_channel"}),
    }
    desk.at(2026, 12, 5, 11, 49)
    assert await desk.tick() == []  # nothing before 75 %
    for (hour, minute), (phrase, reached) in expected.items():
        tg_before = len(desk.tg.calls_to("sendMessage"))
        slack_before = len(desk.slack.calls_to("chat.postMessage"))
        desk.at(2026, 12, 5, hour, minute)
        digests = await desk.tick()
        assert digests, f"nothing at {hour}:{minute}"
        carla = desk.tg_sent_to(CARLA, tg_before)
        posts = desk.slack_posts(slack_before)
        got = set()
        if carla:
            assert len(carla) == 1 and phrase in carla[0] and "#1" in carla[0], carla
            got.add("tg")
        for post in posts:
            assert post["channel"] == "C0SOPORTE" and "#1" in post["text"], post
            assert phrase in post["text"], (hour, minute, post["text"])
            got.add("slack_diego" if "<@UDIEGO>" in post["text"] else "slack_channel")
        assert got == reached, (hour, minute, got)
        assert len(posts) == len(reached - {"tg"})  # one post each, never a burst
    # nothing more that day
    desk.at(2026, 12, 5, 19, 59)
    assert await desk.tick() == []
