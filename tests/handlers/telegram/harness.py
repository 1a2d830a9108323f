"""Shared set-up for the Telegram front-end tests (``tests/handlers/telegram/``).

The real python-telegram-bot talks HTTP to ``FakeTelegram``; updates go in through
``Application.process_update`` (as Telegram would deliver them) unless a test starts
polling. ``Desk`` plays the people: ``text`` types, ``tap`` presses a button by its
label on a message the bot sent, ``card`` finds a ticket's live card.

Test modules import the fixtures: ``from tests.handlers.telegram.harness import desk_fixture,
settings_fixture``; they register as ``desk`` and ``settings`` (the latter overrides
the suite's to point the bot at the fake).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app.frontend import wired
from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal
from bot.process.settings import Settings
from bot.services import Services
from handlers.telegram.app import TelegramFrontEnd
from handlers.telegram.transport import parse_update
from tests.conftest import Team
from tests.servers import FakeTelegram
from tests.servers import telegram_updates as tu

CARLA = 1001  # the administrator's Telegram id (see tests/conftest.py's team)


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path, fake_telegram: FakeTelegram) -> Settings:
    """The suite's settings plus a bot pointed at the fake Bot API."""
    return Settings(_env_file=None, data_dir=tmp_path / "data",  # type: ignore[call-arg]
                    database_url=f"sqlite://{tmp_path / 'atiende.db'}",
                    timezone="America/Santiago", holidays_country="CL",
                    company_name="Hosting Andino", telegram_token=fake_telegram.token,
                    telegram_api_url=fake_telegram.base_url)


class Desk:
    """The people on the other side of the fake Telegram."""

    def __init__(self, fake: FakeTelegram, services: Services, team: Team,
                 front: TelegramFrontEnd) -> None:
        self.fake, self.services, self.team, self.front = fake, services, team, front

    async def restart(self, *, start: bool = True) -> TelegramFrontEnd:
        """Stop this application and build a new one on the same database."""
        await self.front.stop()
        self.front = wired(self.services, TelegramFrontEnd(self.services, fetch_updates=False))
        if start:
            await self.front.start()
        return self.front

    async def deliver(self, update: dict[str, Any]) -> None:
        """One update through the real dispatch, then wait for the cards it caused."""
        app = self.front.application
        parsed = parse_update(copy.deepcopy(update), app.bot)  # type: ignore[arg-type]
        assert parsed is not None
        await app.process_update(parsed)
        await self.front.drain()

    async def text(self, text: str, user: int = CARLA, reply_to: int | None = None,
                   **fields: Any) -> dict[str, Any]:
        target = tu.as_reply_target(self.fake.messages[(user, reply_to)]) if reply_to else None
        message = tu.make_message(user, user, text, message_id=self.fake.next_message_id(user),
                                  reply_to=target, **fields)
        self.fake.messages[(user, message["message_id"])] = message
        await self.deliver({"update_id": tu.next_update_id(), "message": message})
        return message

    def button(self, message_id: int, label: str, user: int = CARLA) -> str:
        """The callback data of the button whose text contains ``label``."""
        return button_data(self.fake.messages[(user, message_id)], label)

    async def tap(self, message_id: int, label: str, user: int = CARLA,
                  message: dict[str, Any] | None = None) -> None:
        """Press a button as the message shows it now (or as an old copy showed it)."""
        shown = message or self.fake.messages[(user, message_id)]
        data = self.button(message_id, label, user) if message is None else next(
            b["callback_data"] for row in shown["reply_markup"]["inline_keyboard"]
            for b in row if label in b["text"])
        await self.deliver(tu.make_callback_update(user, user, message_id, data,
                                                   message=copy.deepcopy(shown)))

    async def card(self, number: int, user: int = CARLA) -> dict[str, Any]:
        ref = await self.services.cards.get("telegram", number, str(user))
        assert ref is not None, f"no card of #{number} in chat {user}"
        return self.fake.messages[(user, int(ref.message_id))]

    def last_message(self, user: int = CARLA) -> dict[str, Any]:
        """The bot's newest message in a chat."""
        mine = [m for (chat, _), m in self.fake.messages.items()
                if chat == user and m.get("from", {}).get("is_bot")]
        return max(mine, key=lambda m: m["message_id"])

    def answers(self) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.fake.calls_to("answerCallbackQuery")]

    def failed_calls(self) -> list[Any]:
        """Calls Telegram refused (an edit that changed nothing is harmless)."""
        return [c for c in self.fake.calls if c.status >= 400 and c.fault is None
                and "not modified" not in str((c.response or {}).get("description"))]

    async def customer_writes(self, body: str, *, email: str = "ana@cliente.cl",
                              ticket: int | None = None, ext: str | None = None,
                              **fields: Any) -> int:
        """A customer email arrives (a new ticket, or a message on ``ticket``)."""
        result = await self.services.intake.receive(IncomingMessage(
            channel=Canal.EMAIL, body=body, external_id=ext or f"<{tu.next_update_id()}@mail>",
            email=email, name="Ana Pérez", subject="Boleta", ticket_number=ticket, **fields))
        await self.front.drain()
        assert result.ticket is not None
        return result.ticket.number


@pytest.fixture(name="desk")
async def desk_fixture(services: Services, team: Team,
                       fake_telegram: FakeTelegram) -> AsyncIterator[Desk]:
    """The front end started (no polling: tests deliver updates themselves)."""
    front = wired(services, TelegramFrontEnd(services, fetch_updates=False))
    await front.start()
    people = Desk(fake_telegram, services, team, front)
    try:
        yield people
    finally:
        await people.front.stop()


def button_data(message: dict[str, Any], label: str) -> str:
    """The callback data of the inline button whose text contains ``label``."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    for row in rows:
        for button in row:
            if label in button["text"]:
                return str(button["callback_data"])
    labels = [b["text"] for row in rows for b in row]
    raise AssertionError(f"no button {label!r} on message {message.get('message_id')}: "
                         f"{labels}")
