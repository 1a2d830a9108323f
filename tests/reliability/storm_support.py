"""Helpers for the two-instance storm test (``test_instances_storm.py``): the two real
``atiende run`` processes' environment, a load balancer that retries on the other
instance, and reading the final state of every card from the fakes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.incoming.inbox_items import PENDING
from bot.outgoing.outbox import IN_FLIGHT
from bot.process.domain import DeliveryStatus
from db.models import ChatCard, InboxItem, OutboxMessage, Ticket
from tests.handlers.slack.harness import block_actions
from tests.reliability.crash_harness import AtiendeProcess, atiende_env
from tests.servers import (
    FakeGraph,
    FakeSlack,
    FakeTelegram,
    ImapAccount,
    SmtpServer,
    signed_headers,
)

CARLA = 1001
CHANNEL = "C0SOPORTE"
SLACK_SECRET = "storm-signing-secret"
LEASE_SECONDS = 3.0
_REF = re.compile(r"atiende_\w+:(\d+):(\d+)")


def storm_env(url: str, data_dir: Path, port: int, name: str, *, graph: FakeGraph,
              imap: ImapAccount, smtp: SmtpServer, telegram: FakeTelegram,
              slack: FakeSlack) -> dict[str, str]:
    """Every front end at once: email, WhatsApp, Telegram (polling, under a lease) and
    Slack (HTTP mode: either instance takes its requests)."""
    env = atiende_env(database_url=url, data_dir=data_dir, http_port=port, graph=graph,
                      imap=imap, smtp=smtp)
    env.update({
        "ATIENDE_LOG_LEVEL": "WARNING", "ATIENDE_INSTANCE_NAME": name,
        "ATIENDE_LEASE_SECONDS": str(LEASE_SECONDS), "ATIENDE_IMAP_POLL_SECONDS": "1",
        "ATIENDE_QUIET_HOURS": "",
        "ATIENDE_TELEGRAM_TOKEN": telegram.token, "ATIENDE_TELEGRAM_API_URL": telegram.base_url,
        "ATIENDE_SLACK_BOT_TOKEN": slack.token, "ATIENDE_SLACK_SIGNING_SECRET": SLACK_SECRET,
        "ATIENDE_SLACK_API_URL": slack.api_url, "ATIENDE_SLACK_CHANNEL": CHANNEL,
        "ATIENDE_SLACK_POST_INTERVAL_SECONDS": "0",  # the fake does not pace: neither do we
    })
    return env


class Balancer:
    """Round-robin over the live instances; a request that fails goes to the next one
    (a load balancer's health check, or the sender's own retry)."""

    def __init__(self, procs: list[AtiendeProcess]) -> None:
        self.procs = procs
        self._turn = count()
        self.failovers = 0

    async def post(self, http: httpx.AsyncClient, path: str, body: bytes,
                   headers: dict[str, str]) -> None:
        for _ in range(40):
            proc = self.procs[next(self._turn) % len(self.procs)]
            try:
                reply = await http.post(f"{proc.url}{path}", content=body, headers=headers)
                if reply.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            self.failovers += 1
        raise AssertionError(f"no instance took {path}")


def slack_select(number: int, version: int, prioridad: str) -> tuple[bytes, dict[str, str]]:
    """Diego picks a Prioridad on the channel card, signed as Slack signs it."""
    action = {"action_id": "atiende_prioridad", "block_id": f"atiende_sel:{number}:{version}",
              "type": "static_select", "action_ts": "1.2",
              "selected_option": {"value": prioridad}}
    payload = block_actions("UDIEGO", [action])
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return body, signed_headers(SLACK_SECRET, body, None,
                                content_type="application/x-www-form-urlencoded")


def refs(message: dict[str, Any] | None) -> set[tuple[int, int]]:
    """The (ticket, version) pairs a card's buttons carry: what state it shows."""
    if message is None:
        return set()
    found = set()
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            parts = str(button.get("callback_data", "")).split(":")
            if len(parts) >= 3 and parts[1].isdigit() and parts[1] != "0":
                found.add((int(parts[1]), int(parts[2])))
    for number, version in _REF.findall(json.dumps(message.get("blocks", []))):
        found.add((int(number), int(version)))
    return found


async def stale_cards(telegram: FakeTelegram, slack: FakeSlack) -> dict[str, list[int]]:
    """Tickets whose card (administrator's Telegram chat, Slack channel) is missing or
    shows another version than the ticket's: empty when every card is final."""
    versions = dict(await Ticket.all().values_list("id", "version"))
    cards: dict[str, dict[int, str]] = {"telegram": {}, "slack": {}}
    for row in await ChatCard.filter(chat_id__in=[str(CARLA), CHANNEL]):
        cards[row.platform][row.ticket_id] = row.message_id  # type: ignore[attr-defined]
    stale: dict[str, list[int]] = {"telegram": [], "slack": []}
    for number, version in sorted(versions.items()):
        tg = cards["telegram"].get(number)
        shown = refs(telegram.messages.get((CARLA, int(tg)))) if tg else set()
        if shown != {(number, version)}:
            stale["telegram"].append(number)
        sl = cards["slack"].get(number)
        shown = refs(slack.messages.get((CHANNEL, sl))) if sl else set()
        if shown != {(number, version)}:
            stale["slack"].append(number)
    return stale


async def expire_dead_claims(killed_at: datetime) -> int:
    """The rows the killed instance had claimed (outbox sends, inbox items), as if its
    claim had run out: what waiting the claim's length (outbox 120 s) would do.

    A claim made before the kill is the dead instance's: the survivor's sends finish in
    milliseconds. Only such claims are moved (a later one may be the survivor's own).
    """
    from bot.incoming.inbox_items import LEASE_SECONDS as INBOX_CLAIM
    from bot.outgoing.outbox import LEASE_SECONDS as OUTBOX_CLAIM

    now = datetime.now(UTC)
    moved = await OutboxMessage.filter(
        status=DeliveryStatus.PENDING, last_error__startswith=IN_FLIGHT,
        next_attempt_at__gt=now,
        next_attempt_at__lte=killed_at + timedelta(seconds=OUTBOX_CLAIM)).update(
            next_attempt_at=now)
    moved += await InboxItem.filter(
        status=PENDING, next_attempt_at__gt=now,
        next_attempt_at__lte=killed_at + timedelta(seconds=INBOX_CLAIM)).update(
            next_attempt_at=now)
    return moved
