"""Telegram: only linked team members act; anyone else gets one polite refusal."""

from __future__ import annotations

from bot.process.domain import Estado
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.servers import FakeTelegram

STRANGER = 4242


async def test_stranger_gets_one_refusal_and_nothing_changes(
        desk: Desk, fake_telegram: FakeTelegram) -> None:
    number = await desk.customer_writes("Mi boleta no llegó.")
    before = await desk.services.queries.get(number)
    fake_telegram.clear()
    for text in ("/tickets", "/nuevo", "hola", f"/ticket {number}"):
        await desk.text(text, user=STRANGER)
    replies = fake_telegram.calls_to("sendMessage")
    assert len(replies) == 4  # one refusal per attempt, nothing else
    assert all(c.params["chat_id"] == STRANGER for c in replies)
    assert "solo para el equipo" in replies[0].params["text"]
    assert "Carla" in replies[0].params["text"]  # says who to ask

    card = await desk.card(number)
    data = desk.button(card["message_id"], "Reclamo")
    from tests.servers import telegram_updates as tu

    await desk.deliver(tu.make_callback_update(STRANGER, STRANGER, card["message_id"], data,
                                               message=card))
    answer = fake_telegram.last("answerCallbackQuery").params
    assert answer["show_alert"] is True and "solo para el equipo" in answer["text"]
    after = await desk.services.queries.get(number)
    assert after == before  # not one field changed
    assert fake_telegram.calls_to("editMessageText") == []
    assert (await desk.services.kv.all("telegram.conv.nuevo")) == {}


async def test_start_without_invite_says_who_to_ask(desk: Desk) -> None:
    await desk.text("/start", user=STRANGER)
    assert "pida a Carla" in desk.last_message(STRANGER)["text"]
    assert await desk.services.team.by_telegram(STRANGER) is None


async def test_invite_links_once(desk: Desk) -> None:
    code = await desk.services.team.create_invite(desk.team.sofia.id)
    await desk.text(f"/start {code}", user=STRANGER)
    assert "Listo, Sofía" in desk.last_message(STRANGER)["text"]
    member = await desk.services.team.by_telegram(STRANGER)
    assert member is not None and member.name == "Sofía"
    await desk.text(f"/start {code}", user=STRANGER + 1)  # a used code links nobody else
    assert "no es válido o ya fue usado" in desk.last_message(STRANGER + 1)["text"]
    assert await desk.services.team.by_telegram(STRANGER + 1) is None
    await desk.text("/start bogus", user=STRANGER + 2)
    assert await desk.services.team.by_telegram(STRANGER + 2) is None


async def test_agent_cannot_discard_role_rules_apply(desk: Desk) -> None:
    code = await desk.services.team.create_invite(desk.team.diego.id)
    await desk.text(f"/start {code}", user=2002)
    number = await desk.customer_writes("Consulta")
    await desk.text(f"/ticket {number}", user=2002)
    card = await desk.card(number, 2002)
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert "🗑 Descartar" not in labels
    # a hand-made payload does not get around the rule: the core refuses it
    from tests.servers import telegram_updates as tu

    await desk.deliver(tu.make_callback_update(2002, 2002, card["message_id"],
                                               f"dq:{number}:1:0", message=card))
    assert "Solo el administrador puede descartar" in desk.answers()[-1]
    assert (await desk.services.queries.get(number)).estado is Estado.NEW


async def test_updates_without_a_person_are_ignored(desk: Desk,
                                                    fake_telegram: FakeTelegram) -> None:
    fake_telegram.clear()
    await desk.deliver({"update_id": 77, "channel_post": {
        "message_id": 1, "date": 1, "chat": {"id": -100123, "type": "channel", "title": "c"},
        "text": "/tickets"}})
    await desk.deliver({"update_id": 78, "message": {
        "message_id": 2, "date": 1, "text": "hola", "from": {"id": STRANGER, "is_bot": False,
                                                               "first_name": "X"},
        "chat": {"id": -5, "type": "group", "title": "g"}}})
    assert fake_telegram.calls == []  # nobody to serve; no refusal spam in groups
    assert CARLA
