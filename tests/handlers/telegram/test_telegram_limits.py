"""What Telegram refuses never reaches it: pop-ups, cards, confirmations, search titles
and menus fit by design (the fake Telegram enforces the Bot API's limits)."""

from __future__ import annotations

from bot.process.domain import Estado, Rol
from db.models import TeamMember
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.servers import FakeTelegram
from tests.servers import telegram_updates as tu

STRANGER = 4242


async def test_refusal_popup_fits_even_with_a_long_administrator_name(
        desk: Desk, fake_telegram: FakeTelegram) -> None:
    await TeamMember.filter(id=desk.team.carla.id).update(
        name="Carla Andrea " + "de la Fuente Larraín " * 8)
    number = await desk.customer_writes("Mi boleta no llegó.")
    card = await desk.card(number)
    data = desk.button(card["message_id"], "Reclamo")
    await desk.deliver(tu.make_callback_update(STRANGER, STRANGER, card["message_id"], data,
                                               message=card))
    answer = fake_telegram.last("answerCallbackQuery")
    assert answer.status == 200 and answer.params["text"].endswith("…")
    assert (await desk.services.queries.get(number)).tipo is None
    assert desk.failed_calls() == []


async def test_a_4000_character_discard_reason(desk: Desk) -> None:
    number = await desk.customer_writes("Gane un premio, haga clic aquí.")
    card_id = (await desk.card(number))["message_id"]
    await desk.tap(card_id, "Descartar")
    reason = "Es spam publicitario reenviado por una cadena. " * 85  # ~4,000 characters
    await desk.text(reason)
    view = await desk.services.queries.get(number)
    assert view.estado is Estado.DISCARDED and view.discard_reason == reason.strip()
    card = await desk.card(number)
    assert "Motivo del descarte: Es spam publicitario" in card["text"]
    assert "descartado. Motivo: Es spam" in desk.last_message()["text"]
    assert desk.failed_calls() == []


async def test_a_long_search_is_answered(desk: Desk) -> None:
    await desk.customer_writes("La boleta de noviembre no llegó.")
    await desk.text("/buscar " + "boleta " * 700)
    assert "Resultados para" in desk.last_message()["text"]
    assert desk.failed_calls() == []


async def test_assignment_menu_of_a_large_team_turns_pages(desk: Desk) -> None:
    for i in range(110):
        await desk.services.team.add(f"Agente {i:03d}", Rol.AGENT)
    number = await desk.customer_writes("Sin servicio")
    await desk.tap((await desk.card(number))["message_id"], "Asignar")
    menu = desk.last_message()
    buttons = [b for row in menu["reply_markup"]["inline_keyboard"] for b in row]
    assert len(buttons) <= 100 and any("Siguientes" in b["text"] for b in buttons)
    for _ in range(5):  # 113 members, 20 a page: the sixth page has Agente 109
        await desk.tap(menu["message_id"], "Siguientes")
    await desk.tap(menu["message_id"], "Agente 109")
    assert (await desk.services.queries.get(number)).assignee.name == "Agente 109"  # type: ignore[union-attr]
    assert desk.failed_calls() == []
