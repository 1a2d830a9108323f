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

Before/after: ``--before DIR`` names a checkout of an earlier commit (for instance
``git worktree add /tmp/before <commit>``). The taps then run in child processes,
``--rounds`` rounds each of one run of that checkout and one of this one (each with its
own floor, so the two are compared through their ratios and on the same machine at the
same time), and one table shows both.

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
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# A child of ``--before`` measures another checkout: its packages go first on the path
# (this one's right after, so ``_harness`` does not put it back in front).
_PROJECT_ENV = "ATIENDE_BENCH_PROJECT"
if os.environ.get(_PROJECT_ENV):
    sys.path[:0] = [str(Path(os.environ[_PROJECT_ENV]).resolve()),
                    str(Path(__file__).resolve().parents[1])]

import _harness as h  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes  # noqa: E402

from bot.app.frontend import wired  # noqa: E402
from bot.incoming.intake import IncomingMessage  # noqa: E402
from bot.process.domain import Canal  # noqa: E402
from bot.services import Services, build_services  # noqa: E402
from db.connection import close_database, open_database, upgrade  # noqa: E402
from handlers.telegram import callbacks as cb  # noqa: E402
from handlers.telegram.app import TelegramFrontEnd  # noqa: E402
from handlers.telegram.transport import parse_update  # noqa: E402
from tests.servers import FakeTelegram  # noqa: E402
from tests.servers import telegram_updates as tu  # noqa: E402

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
        if update.callback_query is not None:
            await update.callback_query.answer()

    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(fake.token).base_url(fake.base_url).updater(None).build())
    app.add_handler(CallbackQueryHandler(answer))
    return app


class StatementCounter(logging.Handler):
    """Counts the SQL statements Tortoise sends (its DEBUG line per query) while on."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.on = False
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if self.on:
            self.count += 1

    def __enter__(self) -> StatementCounter:
        db_log = logging.getLogger("tortoise.db_client")
        db_log.setLevel(logging.DEBUG)
        db_log.propagate = False  # counted here only, never printed
        db_log.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        db_log = logging.getLogger("tortoise.db_client")
        db_log.removeHandler(self)
        db_log.propagate = True
        db_log.setLevel(logging.NOTSET)


async def _taps(fake: FakeTelegram, services: Services, front: TelegramFrontEnd,
                floor_app: Application[Any, Any, Any, Any, Any, Any], numbers: list[int],
                taps: int, rate: float, samples: dict[str, list[float]],
                counter: StatementCounter) -> None:
    app = front.application
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
                app.bot)
            assert update is not None
            counter.count, counter.on = 0, True
            started = time.perf_counter()
            await app.process_update(update)
            samples["answered"].append(h.ms_since(started))
            await front.drain()
            samples["edited"].append(h.ms_since(started))
            counter.on = False
            samples["statements"].append(counter.count)


async def run(fake: FakeTelegram, services: Services, taps: int, tickets: int,
              rate: float) -> dict[str, list[float]]:
    """Interleaved, one floor tap then one of ours per tick: both see the same machine.

    Returns samples in ms: ``floor``, ``answered`` (ours, process_update returned) and
    ``edited`` (ours, card edited); and ``statements``, the SQL statements of each of
    our taps (from the tap to the card edited).
    """
    front = wired(services, TelegramFrontEnd(services, fetch_updates=False))
    floor_app = _floor_app(fake)
    await front.start()
    samples: dict[str, list[float]] = {"floor": [], "answered": [], "edited": [],
                                       "statements": []}
    try:
        numbers = await _open_tickets(services, front, tickets)
        edits_before = len(fake.calls_to("editMessageText"))
        answers_before = len(fake.calls_to("answerCallbackQuery"))
        with StatementCounter() as counter:
            await _taps(fake, services, front, floor_app, numbers, taps, rate, samples, counter)
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


async def measure(taps: int, tickets: int, rate: float) -> tuple[dict[str, list[float]], float]:
    """One run on a fresh migrated SQLite file: the samples and the wall time."""
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
    return samples, wall


async def main(taps: int, tickets: int, rate: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    samples, wall = await measure(taps, tickets, rate)
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
    print(f"SQL statements per tap (to the card edited): {_mean(samples['statements']):.1f}")
    print(f"wall time {wall:.1f} s")
    print(h.machine_line())


def _on_the_products_loop(main: Any) -> Any:
    """Run on the loop ``atiende`` runs on (uvloop unless ``ATIENDE_EVENT_LOOP=asyncio``),
    floor and ours alike; a tree from before that choice ran on the standard loop."""
    try:
        from bot.app.event_loop import run
    except ImportError:
        return asyncio.run(main)
    return run(main, "asyncio" if os.environ.get("ATIENDE_EVENT_LOOP") == "asyncio"
               else "uvloop")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def child(out: Path, taps: int, tickets: int, rate: float) -> None:
    """A ``--before`` round: measure, write the samples as JSON (the parent tabulates)."""
    logging.basicConfig(level=logging.WARNING)
    samples, _ = _on_the_products_loop(measure(taps, tickets, rate))
    out.write_text(json.dumps(samples))


def compare(before: Path, taps: int, tickets: int, rate: float, rounds: int) -> None:
    """Rounds of (that checkout, this one), each round a fresh child per side."""
    here = Path(__file__).resolve().parents[1]
    sides = {"before": before.resolve(), "after": here}
    samples: dict[str, dict[str, list[float]]] = {
        side: {"floor": [], "answered": [], "edited": [], "statements": []} for side in sides}
    per_round = max(1, taps // rounds)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="atiende-bench1-") as tmp:
        for r in range(rounds):
            for side, root in sides.items():
                out = Path(tmp) / f"{side}-{r}.json"
                env = {**os.environ, _PROJECT_ENV: str(root)}
                subprocess.run([h.PYTHON, str(Path(__file__).resolve()), "--child", str(out),
                                "--taps", str(per_round), "--tickets", str(tickets),
                                "--rate", str(rate)], env=env, check=True)
                for key, values in json.loads(out.read_text()).items():
                    samples[side][key] += values
                print(f"round {r + 1}/{rounds}: {side} done", file=sys.stderr, flush=True)
    wall = time.perf_counter() - started
    pace = f"{rate:g} taps/s" if rate else "back to back"
    rows = []
    for side in sides:
        rows += [h.latency_row(f"{side}: floor (PTB, handler only answers)",
                               samples[side]["floor"]),
                 h.latency_row(f"{side}: tap -> answered", samples[side]["answered"]),
                 h.latency_row(f"{side}: tap -> card edited", samples[side]["edited"])]
    h.print_table(f"Benchmark 1: triage tap latency, before ({before}) and after, "
                  f"{rounds} rounds of {per_round} taps each over {tickets} tickets ({pace})",
                  h.LATENCY_HEADERS, rows)
    for side in sides:
        floor = h.percentile(samples[side]["floor"], 50)
        floor99 = h.percentile(samples[side]["floor"], 99)
        print(f"{side}: p50 card edited / floor "
              f"x{h.percentile(samples[side]['edited'], 50) / floor:.1f}, answered / floor "
              f"x{h.percentile(samples[side]['answered'], 50) / floor:.1f}; p99 card edited / "
              f"floor x{h.percentile(samples[side]['edited'], 99) / floor99:.1f}; "
              f"{_mean(samples[side]['statements']):.1f} SQL statements per tap")
    print(f"wall time {wall:.1f} s")
    print(h.machine_line())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--taps", type=int, default=5000)
    parser.add_argument("--tickets", type=int, default=20)
    parser.add_argument("--rate", type=float, default=25.0,
                        help="taps per second (0: back to back)")
    parser.add_argument("--before", type=Path, metavar="DIR",
                        help="a checkout of an earlier commit: measure it and this one")
    parser.add_argument("--rounds", type=int, default=4,
                        help="with --before: alternate the two this many times")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.taps, args.tickets, args.rate)
    elif args.before:
        compare(args.before, args.taps, args.tickets, args.rate, args.rounds)
    else:
        _on_the_products_loop(main(args.taps, args.tickets, args.rate))
