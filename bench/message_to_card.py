"""Benchmark 4: a customer's message until its ticket card reaches the team's chats.

Run: ``python bench/message_to_card.py [--count 200] [--interval 1.05] [--triage 30]``

``atiende run`` runs as a subprocess (``python -m bot run``, configured
only through ``ATIENDE_*`` variables) with every front end pointed at fakes served by
this process (Telegram Bot API, polling; Slack Web API, HTTP mode; WhatsApp Graph; an
aiosmtpd capture) and at a real Dovecot for IMAP, read in **IDLE** mode (the product's
choice whenever the server advertises IDLE; the poll interval is left at 60 s, so a
poll could never explain the figures). The database is a migrated SQLite file holding
the team (Carla, admin on Telegram id 1001).

Two paths, ``--count`` new customers each (every message opens a ticket):

- **WhatsApp**: a signed (``X-Hub-Signature-256``) Cloud API webhook POSTed over
  loopback to the product's web server (``handlers.web`` + ``handlers.whatsapp``);
  t0 = just before the POST;
- **email**: a message APPENDed to the Dovecot INBOX over one IMAP connection kept open
  by this process; t0 = just before APPEND.

t1 = when the later of the two fakes *received* the card: Telegram ``sendMessage`` to
Carla and Slack ``chat.postMessage`` to the support channel, both recognised by a unique
token in the customer's text. Messages are sent one at a time, each at least
``--interval`` s after the previous one: the Slack front end paces posts to one channel
at 1/s (``handlers/slack/context.py``, ``Pacer``; Slack's own limit), so faster arrivals
would measure that queue. Each email takes two paced Slack posts (the card, then the
original ``.eml`` that ``handlers/email/ingest.py`` stores as an attachment, uploaded
into the card's thread), so emails go ``--email-interval`` (2.05 s) apart. With the
defaults the run takes about 11 minutes; ``--count 50`` for a quick look.

**Triage burst** (``--triage N``, scenario 1's taps): for N more WhatsApp tickets, once
both cards are shown, the administrator taps three buttons on the Telegram card
(Reclamo, Alta, Consulta), each as soon as the previous edit reached Telegram, as a
quick person would. For each tap: t0 = Telegram's ``editMessageText`` of the card, t1 =
the Slack ``chat.update`` of the same card that carries the change; the target is t1 -
t0 under 1 s. Each tap also posts a line into the card's Slack thread
(``chat.postMessage``, paced at 1/s): the card edits must not queue behind those.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import tempfile
import time
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

import _harness as h
import httpx
from aioimaplib import IMAP4
from footprint import _wait_full

from tests.servers import FakeGraph, sign_whatsapp
from tests.servers._httpfake import HttpFake

CARD_TIMEOUT = 30.0
TRACE = False


def wa_payload(graph: FakeGraph, phone: str, wamid: str, body: str) -> dict[str, Any]:
    """A customer's text message as the Cloud API delivers it."""
    return {"object": "whatsapp_business_account", "entry": [{
        "id": "WABA-BENCH", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "56900000000",
                         "phone_number_id": graph.phone_number_id},
            "contacts": [{"profile": {"name": f"Cliente {phone[-4:]}"}, "wa_id": phone}],
            "messages": [{"from": phone, "id": wamid, "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": body}}]}}]}]}


def email_bytes(i: int, token: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Cliente {i} <cliente{i}@correo-bench.cl>"
    message["To"] = "soporte@empresa.cl"
    message["Subject"] = f"Consulta por boleta {i}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{token}@correo-bench.cl>"
    message.set_content(f"Buenas tardes, no me llegó la boleta de noviembre. Ref {token}.\n")
    return bytes(message)


def trace(fakes: h.Fakes, marks: tuple[int, int], started: float) -> None:
    """Every call the fakes received since ``marks``, in ms after ``started`` (--trace)."""
    calls = [("telegram", c) for c in fakes.telegram.calls[marks[0]:]] + \
        [("slack", c) for c in fakes.slack.calls[marks[1]:]]
    for name, call in sorted(calls, key=lambda pair: pair[1].at):
        print(f"  +{(call.at - started) * 1000:8.1f} ms  {name} {call.method}")


def _seen_at(fake: HttpFake, method: str, start: int, token: str) -> float | None:
    for call in fake.calls[start:]:
        if call.method == method and token in json.dumps(call.params, ensure_ascii=False):
            return call.at
    return None


async def _wait_cards(fakes: h.Fakes, marks: tuple[int, int], token: str) -> tuple[float, float]:
    """Monotonic times the card reached Telegram and Slack (bounded by CARD_TIMEOUT)."""
    deadline = time.monotonic() + CARD_TIMEOUT
    while time.monotonic() < deadline:
        tg = _seen_at(fakes.telegram, "sendMessage", marks[0], token)
        sl = _seen_at(fakes.slack, "chat.postMessage", marks[1], token)
        if tg is not None and sl is not None:
            return tg, sl
        await asyncio.sleep(0.002)
    raise TimeoutError(f"card for {token} not seen in {CARD_TIMEOUT} s "
                       f"(telegram {tg is not None}, slack {sl is not None})")


class Paced:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last = 0.0

    async def wait(self) -> None:
        delay = self.last + self.interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self.last = time.monotonic()


async def run_whatsapp(fakes: h.Fakes, port: int, count: int,
                       interval: float) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"both": [], "telegram": [], "slack": [], "post": []}
    paced = Paced(interval)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        for i in range(count):
            token = f"wa{i:04d}x{time.time_ns() % 10**6}"
            body = json.dumps(wa_payload(fakes.graph, f"5691{i:07d}", f"wamid.{token}",
                                         f"Hola, mi pedido no ha llegado. Ref {token}")).encode()
            headers = {"Content-Type": "application/json",
                       "X-Hub-Signature-256": sign_whatsapp(h.WA_APP_SECRET, body)}
            marks = (len(fakes.telegram.calls), len(fakes.slack.calls))
            await paced.wait()
            started = time.monotonic()
            response = await http.post("/webhooks/whatsapp", content=body, headers=headers)
            out["post"].append((time.monotonic() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")
            await _record(out, fakes, marks, token, started, last=i == count - 1)
    return out


async def _record(out: dict[str, list[float]], fakes: h.Fakes, marks: tuple[int, int],
                  token: str, started: float, *, last: bool) -> None:
    """Wait for the message's cards at both fakes and record the three latencies."""
    tg, sl = await _wait_cards(fakes, marks, token)
    if TRACE and last:
        await asyncio.sleep(1.5)
        print(f"last {'email' if token.startswith('em') else 'WhatsApp'} message:")
        trace(fakes, marks, started)
    out["telegram"].append((tg - started) * 1000)
    out["slack"].append((sl - started) * 1000)
    out["both"].append((max(tg, sl) - started) * 1000)


def _button(message: dict[str, Any], label: str) -> str:
    for row in message.get("reply_markup", {}).get("inline_keyboard", []):
        for button in row:
            if label in button["text"]:
                return str(button["callback_data"])
    raise RuntimeError(f"no {label!r} button on the card")


def _header(blocks: Any) -> str:
    """The Slack card's first line ("#12 · Reclamo · Alta — En proceso")."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    try:
        return str(blocks[0]["text"]["text"])
    except (IndexError, KeyError, TypeError):
        return ""


async def _next_call(fake: HttpFake, method: str, start: int, wanted: Any) -> tuple[int, float]:
    """(index, time) of the first ``method`` call from ``start`` whose params fit ``wanted``."""
    deadline = time.monotonic() + CARD_TIMEOUT
    while time.monotonic() < deadline:
        for index in range(start, len(fake.calls)):
            call = fake.calls[index]
            if call.method == method and wanted(call.params):
                return index, call.at
        await asyncio.sleep(0.002)
    raise TimeoutError(f"{method} not seen in {CARD_TIMEOUT} s")


async def run_triage(fakes: h.Fakes, port: int, count: int,
                     interval: float) -> dict[str, list[float]]:
    """Three quick taps per ticket; Telegram card edit -> Slack card edit, per tap."""
    out: dict[str, list[float]] = {"lag": [], "last": []}
    paced = Paced(interval * 4)  # 1 card + 3 thread posts per ticket at Slack's 1/s
    chat = h.ADMIN_TELEGRAM_ID
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        for i in range(count):
            token = f"tr{i:04d}x{time.time_ns() % 10**6}"
            body = json.dumps(wa_payload(fakes.graph, f"5692{i:07d}", f"wamid.{token}",
                                         f"Me cobraron dos veces. Ref {token}")).encode()
            headers = {"Content-Type": "application/json",
                       "X-Hub-Signature-256": sign_whatsapp(h.WA_APP_SECRET, body)}
            marks = (len(fakes.telegram.calls), len(fakes.slack.calls))
            await paced.wait()
            await http.post("/webhooks/whatsapp", content=body, headers=headers)
            await _wait_cards(fakes, marks, token)
            sent = next(c for c in fakes.telegram.calls[marks[0]:]
                        if c.method == "sendMessage" and token in str(c.params.get("text")))
            card_id = int(sent.response["result"]["message_id"])
            slack_card = next(c for c in fakes.slack.calls[marks[1]:]
                              if c.method == "chat.postMessage" and token in json.dumps(
                                  c.params, ensure_ascii=False))
            ts = str(slack_card.response["ts"])
            tg_at, slack_at = len(fakes.telegram.calls), len(fakes.slack.calls)
            lags = []
            for label in ("Reclamo", "Alta", "Consulta"):
                shown = fakes.telegram.messages[(chat, card_id)]
                fakes.telegram.feed_callback(chat, chat, card_id, _button(shown, label))
                tg_at, tg_time = await _next_call(
                    fakes.telegram, "editMessageText", tg_at,
                    lambda p, card=card_id, want=label: int(p.get("message_id", 0)) == card
                    and f"✓ {want}" in json.dumps(p.get("reply_markup"), ensure_ascii=False))
                tg_at += 1
                slack_at, slack_time = await _next_call(
                    fakes.slack, "chat.update", slack_at,
                    lambda p, card=ts, want=label: p.get("ts") == card and
                    f"· {want}" in _header(p.get("blocks")))
                slack_at += 1
                lags.append((slack_time - tg_time) * 1000)
            out["lag"] += lags
            out["last"].append(lags[-1])
    return out


async def run_email(fakes: h.Fakes, count: int, interval: float) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"both": [], "telegram": [], "slack": [], "post": []}
    account = fakes.account
    client = IMAP4(host=account.host, port=account.port, timeout=10)
    await client.wait_hello_from_server()
    if (await client.login(account.user, account.password)).result != "OK":
        raise RuntimeError("IMAP login failed")
    paced = Paced(interval)
    try:
        for i in range(count):
            token = f"em{i:04d}x{time.time_ns() % 10**6}"
            raw = email_bytes(i, token)
            marks = (len(fakes.telegram.calls), len(fakes.slack.calls))
            await paced.wait()
            started = time.monotonic()
            response = await client.append(raw, mailbox="INBOX")
            out["post"].append((time.monotonic() - started) * 1000)
            if response.result != "OK":
                raise RuntimeError(f"APPEND failed: {response.lines}")
            await _record(out, fakes, marks, token, started, last=i == count - 1)
    finally:
        await client.logout()
    return out


async def main(count: int, interval: float, email_interval: float, triage: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    async with h.Fakes() as fakes:
        with tempfile.TemporaryDirectory(prefix="atiende-bench4-") as tmp:
            base = Path(tmp)
            await h.prepare_database(base)
            port = h.free_port()
            env = h.run_env(base, port, fakes.fields())
            async with h.atiende_run(base, env, stdout=subprocess.DEVNULL) as (proc, started):
                await _wait_full(fakes, port, proc, started)
                await asyncio.sleep(1.0)  # IMAP login and IDLE start after the web server
                wa = await run_whatsapp(fakes, port, count, interval)
                em = await run_email(fakes, count, email_interval)
                tr = await run_triage(fakes, port, triage, interval) if triage else None
            errors = [line for line in (base / "stderr.log").read_text(errors="replace")
                      .splitlines() if "ERROR" in line or "Traceback" in line]
    rows = []
    for name, found in (("WhatsApp webhook", wa), ("email via IMAP IDLE", em)):
        rows.append(h.latency_row(f"{name} -> both cards", found["both"]))
        rows.append(h.latency_row(f"{name} -> Telegram sendMessage", found["telegram"]))
        rows.append(h.latency_row(f"{name} -> Slack chat.postMessage", found["slack"]))
        what = "webhook POST answered" if name.startswith("WhatsApp") else "IMAP APPEND done"
        rows.append(h.latency_row(f"{name}: {what}", found["post"]))
    if tr is not None:
        rows.append(h.latency_row("triage tap: Telegram card edit -> Slack card edit",
                                  tr["lag"]))
        rows.append(h.latency_row("  third tap of three in a row", tr["last"]))
    h.print_table(f"Benchmark 4: customer message -> team card, {count} messages per path "
                  f"(one at a time, >= {interval:g} s apart, email >= {email_interval:g} s; "
                  "atiende run as a subprocess)",
                  h.LATENCY_HEADERS, rows)
    print(f"errors logged by atiende run: {len(errors)}" + (f" (first: {errors[0]})"
                                                          if errors else ""))
    print(h.machine_line())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--interval", type=float, default=1.05,
                        help="minimum seconds between two messages (Slack pacing is 1 s)")
    parser.add_argument("--email-interval", type=float, default=2.05,
                        help="the same for email: each email also uploads its original "
                             ".eml to Slack, a second paced post")
    parser.add_argument("--triage", type=int, default=30,
                        help="tickets triaged by three quick Telegram taps each (0: skip)")
    parser.add_argument("--trace", action="store_true",
                        help="print the fakes' calls for the last message of each path")
    args = parser.parse_args()
    TRACE = args.trace
    asyncio.run(main(args.count, args.interval, args.email_interval, args.triage))
