"""The day at the desk: ONE Atiende with every front end at once over the same services.

``desk`` builds what ``atiende run`` builds, against the fakes and the real mail servers:
- Telegram: our PTB application in webhook mode; updates are POSTed to the shared web
  server's ``/telegram`` route with the secret token (as Telegram would), against
  ``FakeTelegram``;
- Slack: our bolt app in HTTP mode (``/slack/events`` on the same web server), signed
  requests, against ``FakeSlack``;
- WhatsApp: signed webhooks to ``/webhooks/whatsapp``, the outbox sender to ``FakeGraph``;
- email: SMTP out to ``SmtpServer``, IMAP in from the real Dovecot (IDLE push);
- reminders (``fire_due`` at the ManualClock's times), the conformity sweeper, the outbox.

Nothing runs on its own timer except the IMAP reader: the test moves the clock and calls
``tick``/``deliver``/``sweep`` itself, then ``settle`` waits for every card and post.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest_asyncio

from bot.app.frontend import wired
from bot.process.clock import ManualClock
from bot.process.notify import Digest
from bot.process.settings import Settings
from bot.reminders import ReminderService, build_reminders
from bot.services import Services, build_services
from handlers.email import EmailFrontEnd
from handlers.email import build_front_end as build_email
from handlers.slack.app import SlackFrontEnd
from handlers.slack.app import build as build_slack
from handlers.telegram.app import SECRET_HEADER, TelegramFrontEnd
from handlers.web import WebServer, build_web_server
from handlers.whatsapp import build_front_end as build_whatsapp
from tests.conftest import Team, santiago
from tests.handlers.email.harness import SUPPORT
from tests.handlers.slack.harness import (
    block_actions,
    card_of,
    card_ts,
    click_payload,
    event_body,
    interaction_body,
    submission,
    thread_of,
)
from tests.handlers.telegram.harness import button_data
from tests.handlers.whatsapp.harness import APP_SECRET, APPROVED, VERIFY_TOKEN, webhook_request
from tests.servers import (
    FakeGraph,
    FakeSlack,
    FakeTelegram,
    ImapAccount,
    SmtpServer,
    signed_headers,
)
from tests.servers import telegram_updates as tu

CARLA = 1001  # the administrator's Telegram id (tests/conftest.py's team)
CHANNEL = "C0SOPORTE"
SLACK_SECRET = "desk-signing-secret"
TG_SECRET = "desk-telegram-secret"
TG_PATH = "/telegram"


def desk_settings(base: Settings, tg: FakeTelegram, slack: FakeSlack, graph: FakeGraph,
                  smtp: SmtpServer, imap: ImapAccount | None) -> Settings:
    """The suite's settings (Santiago, CL holidays) with every front end configured."""
    update: dict[str, Any] = {
        "http_port": 0,
        "telegram_token": tg.token, "telegram_api_url": tg.base_url,
        "telegram_webhook_url": f"https://atiende.example{TG_PATH}",
        "telegram_webhook_secret": TG_SECRET,
        "slack_bot_token": slack.token, "slack_api_url": slack.api_url,
        "slack_signing_secret": SLACK_SECRET, "slack_channel": CHANNEL,
        "whatsapp_api_url": graph.api_url, "whatsapp_token": graph.access_token,
        "whatsapp_phone_number_id": graph.phone_number_id,
        "whatsapp_app_secret": APP_SECRET, "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_templates": dict(APPROVED),
        "smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_security": "none",
        "smtp_user": smtp.user, "smtp_password": smtp.password,
        "smtp_from": f"Hosting Andino <{SUPPORT}>"}
    if imap is not None:
        update |= {"imap_host": imap.host, "imap_port": imap.port, "imap_tls": False,
                   "imap_user": imap.user, "imap_password": imap.password,
                   "imap_poll_seconds": 60.0}
    return base.model_copy(update=update)


class Desk:
    """Atiende running with every front end, and the people around it."""

    def __init__(self, services: Services, team: Team, tg: FakeTelegram, slack: FakeSlack,
                 graph: FakeGraph, smtp: SmtpServer, imap: ImapAccount | None) -> None:
        self.services, self.team = services, team
        self.clock: ManualClock = services.clock  # type: ignore[assignment]
        self.tg, self.slack, self.graph, self.smtp, self.imap = tg, slack, graph, smtp, imap
        # the order of bot/app/run.py: reminders subscribe before any front end
        self.reminders: ReminderService = build_reminders(services)
        self.telegram = wired(services, TelegramFrontEnd(services, fetch_updates=False))
        self.slack_front: SlackFrontEnd = wired(services, build_slack(services, process_before_response=True,
                                                      pace_seconds=0))
        self.email: EmailFrontEnd = wired(services, build_email(services))
        self.whatsapp = wired(services, build_whatsapp(services))
        fronts = [self.telegram, self.slack_front, self.email, self.whatsapp]
        web = build_web_server(services, fronts)
        assert web is not None
        self.web: WebServer = web
        self.fronts: list[Any] = [*fronts, web]
        self.http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        for front in self.fronts:
            await front.start()
        self.http = httpx.AsyncClient(base_url=self.web.url, timeout=20)

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.aclose()
        for front in reversed(self.fronts):
            await front.stop()

    # --- time and background work -------------------------------------------------------
    async def settle(self) -> None:
        """Wait until every ticket event is shown in Telegram and Slack."""
        for _ in range(3):  # a card edit may publish nothing, but be generous and bounded
            await self.services.inbox.drain()  # webhooks only store: the intake runs here
            await self.telegram.drain()
            await self.slack_front.drain()

    def at(self, *when: int) -> None:
        """Move the test's clock to a wall-clock time in Santiago."""
        self.clock.set(santiago(*when))

    async def tick(self) -> list[Digest]:
        """The reminder loop's one pass at the clock's time, then the cards."""
        digests = await self.reminders.fire_due()
        await self.settle()
        return digests

    async def deliver(self) -> int:
        """The outbox's one pass (replies and conformity requests to the customers)."""
        sent = await self.services.outbox.deliver_due()
        await self.settle()
        return sent

    async def sweep(self) -> Any:
        result = await self.services.conformity.sweep()
        await self.settle()
        return result

    # --- WhatsApp ---------------------------------------------------------------------
    async def whatsapp_post(self, payload: dict[str, Any] | bytes, *,
                            signature: str | None = "sign",
                            secret: str = APP_SECRET) -> httpx.Response:
        assert self.http is not None
        body, headers = webhook_request(payload, secret=secret, signature=signature)
        response = await self.http.post("/webhooks/whatsapp", content=body, headers=headers)
        await self.settle()
        return response

    # --- Telegram (webhook route of the shared web server) ---------------------------
    async def telegram_post(self, update: dict[str, Any] | bytes, *,
                            secret: str | None = TG_SECRET) -> httpx.Response:
        assert self.http is not None
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        response = await self.http.post(TG_PATH, content=body, headers=headers)
        await self.settle()
        return response

    async def tg_text(self, text: str, user: int = CARLA,
                      reply_to: int | None = None) -> httpx.Response:
        target = tu.as_reply_target(self.tg.messages[(user, reply_to)]) if reply_to else None
        message = tu.make_message(user, user, text, message_id=self.tg.next_message_id(user),
                                  reply_to=target)
        self.tg.messages[(user, message["message_id"])] = message
        return await self.telegram_post({"update_id": tu.next_update_id(), "message": message})

    def tg_button(self, message_id: int, label: str, user: int = CARLA) -> str:
        return button_data(self.tg.messages[(user, message_id)], label)

    async def tg_tap(self, message_id: int, label: str, user: int = CARLA,
                     shown_to: int = CARLA) -> httpx.Response:
        """``user`` presses a button of the message as chat ``shown_to`` shows it now."""
        shown = self.tg.messages[(shown_to, message_id)]
        data = self.tg_button(message_id, label, shown_to)
        response = await self.telegram_post(tu.make_callback_update(
            user, shown_to, message_id, data, message=copy.deepcopy(shown)))
        assert response.status_code == 200, response.text
        return response

    async def tg_press(self, user: int, data: str, message_id: int = 1) -> httpx.Response:
        """A button press with ``data`` on a bot message in ``user``'s own chat (a forged
        or copied callback: what someone without that button could still send)."""
        message = self.tg.messages.get((user, message_id)) or tu.minimal_bot_message(
            user, message_id)
        return await self.telegram_post(tu.make_callback_update(
            user, user, message_id, data, message=copy.deepcopy(message)))

    async def tg_card(self, number: int, user: int = CARLA) -> dict[str, Any]:
        ref = await self.services.cards.get("telegram", number, str(user))
        assert ref is not None, f"no Telegram card of #{number} in chat {user}"
        return self.tg.messages[(user, int(ref.message_id))]

    def tg_last(self, user: int = CARLA) -> dict[str, Any]:
        mine = [m for (chat, _), m in self.tg.messages.items()
                if chat == user and m.get("from", {}).get("is_bot")]
        return max(mine, key=lambda m: m["message_id"])

    def tg_sent_to(self, user: int, since: int = 0) -> list[str]:
        """Texts of sendMessage calls to one chat (after the ``since``-th call)."""
        return [str(c.params.get("text", "")) for c in self.tg.calls_to("sendMessage")[since:]
                if str(c.params.get("chat_id")) == str(user)]

    # --- Slack (signed requests to /slack/events) ---------------------------------------
    async def slack_send(self, body: bytes, content_type: str, *, secret: str = SLACK_SECRET,
                         timestamp: int | None = None,
                         headers: dict[str, str] | None = None) -> httpx.Response:
        assert self.http is not None
        sent = signed_headers(secret, body, timestamp, content_type=content_type)
        if headers is not None:
            sent = headers
        response = await self.http.post("/slack/events", content=body, headers=sent)
        await self.settle()
        return response

    async def slack_interact(self, payload: dict[str, Any], **kw: Any) -> httpx.Response:
        return await self.slack_send(interaction_body(payload),
                                     "application/x-www-form-urlencoded", **kw)

    async def slack_event(self, event: dict[str, Any], event_id: str = "Ev1",
                          **kw: Any) -> httpx.Response:
        return await self.slack_send(event_body(event, event_id), "application/json", **kw)

    async def slack_card_ts(self, number: int) -> str:
        return await card_ts(self.services, number)

    async def slack_card(self, number: int) -> dict[str, Any]:
        return await card_of(self.services, self.slack, number)

    async def slack_thread(self, number: int) -> list[dict[str, Any]]:
        return await thread_of(self.services, self.slack, number)

    async def slack_click(self, user: str, number: int, action_id: str,
                          **picked: Any) -> httpx.Response:
        """A click on an element of the card as Slack shows it now."""
        return await self.slack_interact(await click_payload(
            self.services, self.slack, user, number, action_id, **picked))

    def slack_last_view(self) -> dict[str, Any]:
        return self.slack.views[self.slack.last("views.open").response["view"]["id"]]

    async def slack_pick(self, user: str, view: dict[str, Any], block_id: str,
                         value: str) -> dict[str, Any]:
        """Pick an option of a select inside an open modal; returns the view as redrawn."""
        block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
        element = block["element"]
        action = {"action_id": element["action_id"], "block_id": block_id,
                  "type": element["type"], "action_ts": "1.3",
                  "selected_option": {"value": value}}
        payload = {**block_actions(user, [action]), "view": view,
                   "container": {"type": "view", "view_id": view["id"]}}
        payload.pop("channel")
        response = await self.slack_interact(payload)
        assert response.status_code == 200, response.text
        return self.slack.views[view["id"]]

    def slack_posts(self, since: int = 0) -> list[dict[str, Any]]:
        return [c.params for c in self.slack.calls_to("chat.postMessage")[since:]]

    def slack_ephemerals(self, user: str) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.slack.calls_to("chat.postEphemeral")
                if c.params.get("user") == user]


async def until(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Wait for something a real server does (IMAP push): bounded, not time travel; the
    bound is generous (a loaded machine), the check returns as soon as it holds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def open_desk(services: Services, team: Team, tg: FakeTelegram, slack: FakeSlack,
                    graph: FakeGraph, smtp: SmtpServer,
                    imap: ImapAccount | None) -> Desk:
    settings = desk_settings(services.settings, tg, slack, graph, smtp, imap)
    desk = Desk(build_services(settings, services.clock), team, tg, slack, graph, smtp, imap)
    await desk.start()
    return desk


@pytest_asyncio.fixture
async def desk(services: Services, team: Team, fake_telegram: FakeTelegram,
               fake_slack: FakeSlack, fake_graph: FakeGraph, smtp_server: SmtpServer,
               imap_server: ImapAccount) -> AsyncIterator[Desk]:
    """Every front end at once, IMAP included (the reader idles on an empty INBOX)."""
    people = await open_desk(services, team, fake_telegram, fake_slack, fake_graph,
                             smtp_server, imap_server)
    try:
        yield people
    finally:
        await people.stop()


@pytest_asyncio.fixture
async def desk_no_imap(services: Services, team: Team, fake_telegram: FakeTelegram,
                       fake_slack: FakeSlack, fake_graph: FakeGraph,
                       smtp_server: SmtpServer) -> AsyncIterator[Desk]:
    """Every front end but the IMAP reader (email comes in through ``ingest``)."""
    people = await open_desk(services, team, fake_telegram, fake_slack, fake_graph,
                             smtp_server, None)
    try:
        yield people
    finally:
        await people.stop()


__all__ = ["CARLA", "CHANNEL", "Desk", "block_actions", "desk", "desk_no_imap",
           "submission", "until"]
