"""Telegram: stale buttons, escaping, long texts, 429 and network errors, odd updates."""

from __future__ import annotations

import copy
import logging

import pytest

from bot.process.domain import Prioridad, TipoIncidencia
from handlers.telegram.cards import MAX_TEXT, tg_len
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.servers import FakeTelegram


async def test_stale_button_answers_with_the_current_state(
        desk: Desk, fake_telegram: FakeTelegram) -> None:
    number = await desk.customer_writes("Se cayó el sitio.")
    card = await desk.card(number)
    old = copy.deepcopy(card)  # what Carla's phone still shows
    # someone else classifies in the meantime (e.g. from Slack)
    await desk.services.tickets.classify(desk.team.admin, number, tipo=TipoIncidencia.RECLAMO,
                                         prioridad=Prioridad.ALTA)
    await desk.front.drain()
    fake_telegram.clear()
    await desk.tap(card["message_id"], "Baja", message=old)
    assert "cambió mientras tanto" in desk.answers()[-1]
    view = await desk.services.queries.get(number)
    assert view.prioridad is Prioridad.ALTA  # the old press changed nothing
    redrawn = desk.fake.messages[(CARLA, card["message_id"])]
    assert "Reclamo · Alta" in redrawn["text"]
    desk.button(card["message_id"], "✓ Alta")  # buttons of the current version
    assert desk.failed_calls() == []


async def test_stale_menu_press_redraws_the_card(desk: Desk) -> None:
    number = await desk.customer_writes("Consulta de precios.")
    await desk.tap((await desk.card(number))["message_id"], "Asignar")
    menu = desk.last_message()
    await desk.services.tickets.classify(desk.team.admin, number, tipo=TipoIncidencia.CONSULTA)
    await desk.front.drain()
    await desk.tap(menu["message_id"], "Sofía")
    assert "cambió mientras tanto" in desk.answers()[-1]
    assert (await desk.services.queries.get(number)).assignee.name == "Carla"  # type: ignore[union-attr]
    assert "🎫" in desk.fake.messages[(CARLA, menu["message_id"])]["text"]


async def test_customer_text_is_escaped(desk: Desk, fake_telegram: FakeTelegram) -> None:
    body = "Hola <b>urgente</b> & <script>x</script> 1<2 &amp; R&D"
    number = await desk.customer_writes(body, email="o'hara@cliente.cl")
    card = await desk.card(number)
    assert body in card["text"]  # Telegram shows exactly what the customer typed
    sent = fake_telegram.calls_to("sendMessage")[-1].params["text"]
    assert "&lt;b&gt;urgente&lt;/b&gt; &amp; &lt;script&gt;" in sent
    await desk.text(f"/buscar {body[:10]}")
    assert desk.failed_calls() == []


async def test_very_long_customer_text(desk: Desk, fake_telegram: FakeTelegram) -> None:
    body = ("Detalle <&> del problema. " * 600).strip()  # ~15,000 characters
    number = await desk.customer_writes(body)
    sent = fake_telegram.calls_to("sendMessage")[-1].params["text"]
    assert tg_len(sent) <= MAX_TEXT
    card = await desk.card(number)
    assert card["text"].endswith(f"(texto completo: /ticket {number})")
    fake_telegram.clear()
    await desk.text(f"/ticket {number}")
    texts = [c.params["text"] for c in fake_telegram.calls_to("sendMessage")]
    assert len(texts) >= 5 and all(tg_len(t) <= MAX_TEXT for t in texts)
    history = "".join(desk.fake.messages[(CARLA, c.response["result"]["message_id"])]["text"]
                      for c in fake_telegram.calls_to("sendMessage")[1:])
    assert history.count("Detalle <&> del problema.") == 600  # all of it, split
    assert desk.failed_calls() == []


async def test_long_emoji_text_counts_utf16(desk: Desk) -> None:
    number = await desk.customer_writes("😀" * 5000)
    assert tg_len((await desk.card(number))["text"]) <= MAX_TEXT


async def test_429_is_retried_not_lost(desk: Desk, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", status=429, retry_after=1)
    number = await desk.customer_writes("Tras un 429")
    calls = fake_telegram.calls_to("sendMessage")
    assert [c.fault for c in calls] == [429, None]
    assert "Tras un 429" in (await desk.card(number))["text"]


async def test_network_errors_are_retried(desk: Desk, fake_telegram: FakeTelegram) -> None:
    number = await desk.customer_writes("Primero")
    fake_telegram.fail_next("editMessageText", status=502, times=2)
    fake_telegram.fail_next("answerCallbackQuery", status=500)
    await desk.tap((await desk.card(number))["message_id"], "Sugerencia")
    assert [c.fault for c in fake_telegram.calls_to("editMessageText")] == [502, 502, None]
    assert "Sugerencia" in (await desk.card(number))["text"]
    assert desk.answers()[-1].startswith("✓")


async def test_unexpected_error_is_logged_and_answered(
        desk: Desk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(desk.services.queries, "search", broken)
    with caplog.at_level(logging.ERROR):
        await desk.text("/buscar boleta")
    assert "error inesperado" in desk.last_message()["text"]
    assert any("handler failed" in r.message for r in caplog.records)
    await desk.text("/ayuda")  # and the bot goes on
    assert "/nuevo" in desk.last_message()["text"]


def test_callback_data_fits_64_bytes() -> None:
    from handlers.telegram import callbacks as cb

    data = cb.encode(cb.REPLY_SEND_EDITED, 2_147_483_647, 2_147_483_647, 99)
    assert len(data.encode()) <= 64
    assert cb.decode(data) == cb.Press(cb.REPLY_SEND_EDITED, 2_147_483_647, 2_147_483_647, "99")
    with pytest.raises(ValueError):
        cb.encode(cb.LIST, 1, 0, "x" * 60)
    assert cb.decode("Data from button callback") is None
    assert cb.decode(None) is None
