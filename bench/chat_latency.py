"""Benchmark 1: chat action latency (a triage tap on Telegram), beside PTB's own floor.

Run: ``python bench/chat_latency.py [--taps 5000] [--tickets 20] [--rate 25]``

One process, one event loop, everything over loopback HTTP:

- the fake Bot API (``tests/servers/fake_telegram.py``) on 127.0.0.1;
- **ours**: the real Telegram front end (``handlers.telegram.app.TelegramFrontEnd``, built
  the way ``tests/handlers/telegram/harness.py`` builds it: ``fetch_updates=False``), on the real
  services and a migrated SQLite file; ``--tickets`` tickets are opened by email first, so
  the administrator (Carla, Telegram id 1001) has a card for each. A tap presses a
  Tipo or Priority button of a card as the fake shows it now (alternating, always a value
  the ticket does not have, round-robin over the tickets), so every tap really changes
  the ticket and edits the card. Timed: ``Application.process_update`` (classify,
  ``answerCallbackQuery``, persistence) plus the card worker's ``editMessageText``
  (``front.drain()``), i.e. tap -> card edited;
- **floor**: a bare PTB ``Application`` on the same fake whose only handler answers the
  callback query. Floor and ours alternate tap by tap in one loop (same machine noise).

Pacing: the product's bot uses PTB's ``AIORateLimiter`` (30 requests/s per bot for
calls with a ``chat_id``: Telegram's own limit), so taps back to back faster than that
measure the limiter's queue, not our code. ``--rate`` paces both runs (default 25
taps/s, under the limit; 5,000 taps then take ~200 s); ``--rate 0`` taps back to back
(the limiter then shows up in ours).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as h
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes

from bot.app.frontend import wired
from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal
from bot.services import Services, build_services
from db.connection import close_database, open_database, upgrade
from handlers.telegram import callbacks as cb
from handlers.telegram.app import TelegramFrontEnd
from handlers.telegram.transport import parse_update
from tests.servers import FakeTelegram
from tests.servers import telegram_updates as tu

CARLA = h.ADMIN_TELEGRAM_ID


def _press_data(message: dict[str, Any], action: str) -> str:
    """Callback data of a Tipo (``t``) or Priority (``p``) button not ticked now."""
    for row in message.get("reply_markup", {}).get("inline_keyboard", []):
        for button in row:
            data = str(button.get("callback_data", ""))
            if data.startswith(action + cb.SEP) and not button["text"].startswith("✓"):
                return data
    raise RuntimeError(f"no untaken {action!r} button on card {message.get('message_id')}")


class Pacer:
    """Starts each tap no earlier than 1/rate s after the previous one (rate 0: no wait)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next = time.perf_counter()

    async def wait(self) -> None:
        if self.interval:
            delay = self.next - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.next = max(self.next + self.interval, time.perf_counter())


async def _open_tickets(services: Services, front: TelegramFrontEnd, count: int) -> list[int]:
    numbers = []
    for i in range(count):
        result = await services.intake.receive(IncomingMessage(
            channel=Canal.EMAIL, body=f"No puedo acceder a mi cuenta ({i}).",
            external_id=f"<bench-{i}@cliente.cl>", email=f"cliente{i}@cliente.cl",
            name=f"Cliente {i}", subject=f"Acceso {i}"))
        assert result.ticket is not None
        numbers.append(result.ticket.number)
    await front.drain()
    return numbers


def _floor_app(fake: FakeTelegram) -> Application[Any, Any, Any, Any, Any, Any]:
    """PTB alone, on the same fake: a handler that only answers the callback query."""

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()  # type: ignore[union-attr]

    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(fake.token).base_url(fake.base_url).updater(None).build())
    app.add_handler(CallbackQueryHandler(answer))
    return app


async def run(fake: FakeTelegram, services: Services, taps: int, tickets: int,
              rate: float) -> dict[str, list[float]]:
    """Interleaved, one floor tap then one of ours per tick: both see the same machine.

    Returns samples in ms: ``floor``, ``answered`` (ours, process_update returned) and
    ``edited`` (ours, card edited).
    """
    front = wired(services, TelegramFrontEnd(services, fetch_updates=False))
    floor_app = _floor_app(fake)
    await front.start()
    samples: dict[str, list[float]] = {"floor": [], "answered": [], "edited": []}
    try:
        numbers = await _open_tickets(services, front, tickets)
        app = front.application
        edits_before = len(fake.calls_to("editMessageText"))
        answers_before = len(fake.calls_to("answerCallbackQuery"))
        floor_message = tu.minimal_bot_message(CARLA, 1)
        pacer = Pacer(rate)
        async with floor_app:
            for i in range(taps):
                bare = Update.de_json(tu.make_callback_update(
                    CARLA, CARLA, 1, "t:1:1:C", message=copy.deepcopy(floor_message)),
                    floor_app.bot)
                await pacer.wait()
                started = time.perf_counter()
                await floor_app.process_update(bare)
                samples["floor"].append(h.ms_since(started))

                number = numbers[i % len(numbers)]
                ref = await services.cards.get("telegram", number, str(CARLA))
                assert ref is not None
                shown = fake.messages[(CARLA, int(ref.message_id))]
                data = _press_data(shown, cb.TIPO if (i // len(numbers)) % 2 == 0 else cb.PRIO)
                update = parse_update(tu.make_callback_update(
                    CARLA, CARLA, int(ref.message_id), data, message=copy.deepcopy(shown)),
                    app.bot)  # type: ignore[arg-type]
                started = time.perf_counter()
                await app.process_update(update)
                samples["answered"].append(h.ms_since(started))
                await front.drain()
                samples["edited"].append(h.ms_since(started))
        edits = len(fake.calls_to("editMessageText")) - edits_before
        answers = len(fake.calls_to("answerCallbackQuery")) - answers_before
        failed = [c for c in fake.calls if c.status >= 400]
        if edits < taps or answers != 2 * taps or failed:
            raise RuntimeError(f"{taps} taps gave {edits} card edits, {answers} answers "
                               f"(want {2 * taps}), {len(failed)} failed calls "
                               f"(first: {failed[:1]})")
        return samples
    finally:
        await front.stop()


async def main(taps: int, tickets: int, rate: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="atiende-bench1-") as tmp:
        async with FakeTelegram() as fake:
            settings = h.bench_settings(Path(tmp), telegram_token=fake.token,
                                        telegram_api_url=fake.base_url)
            url = settings.effective_database_url
            await upgrade(url)
            await open_database(url)
            try:
                services = build_services(settings)
                await h.add_team(services)
                started = time.perf_counter()
                samples = await run(fake, services, taps, tickets, rate)
                wall = time.perf_counter() - started
            finally:
                with contextlib.suppress(Exception):
                    await close_database()
    pace = f"{rate:g} taps/s" if rate else "back to back"
    h.print_table(
        f"Benchmark 1: triage tap latency, {taps} taps over {tickets} tickets ({pace})",
        h.LATENCY_HEADERS,
        [h.latency_row("floor: PTB, handler only answers", samples["floor"]),
         h.latency_row("ours: tap -> answered (process_update)", samples["answered"]),
         h.latency_row("ours: tap -> card edited", samples["edited"])])
    for q in (50, 99):
        floor = h.percentile(samples["floor"], q)
        print(f"ratio p{q}: card edited / floor x{h.percentile(samples['edited'], q) / floor:.1f}, "
              f"answered / floor x{h.percentile(samples['answered'], q) / floor:.1f}")
    print(f"wall time {wall:.1f} s")
    print(h.machine_line())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--taps", type=int, default=5000)
    parser.add_argument("--tickets", type=int, default=20)
    parser.add_argument("--rate", type=float, default=25.0,
                        help="taps per second (0: back to back)")
    args = parser.parse_args()
    asyncio.run(main(args.taps, args.tickets, args.rate))
