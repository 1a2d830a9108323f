"""The Slack front end: the Web API client, bolt's AsyncApp, listener registration,
and the ``FrontEnd`` that ``bot.app.run`` starts (Socket Mode) or mounts (HTTP mode)."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.routing import BaseRoute

from bot.app.frontend import Offers
from bot.process.settings import Settings
from bot.services import Services
from bot.tickets.lifecycle import Action
from handlers.slack import http, inbox
from handlers.slack.actions import Actions
from handlers.slack.blocks import (
    ACCEPT_ID,
    ASSIGN,
    BUTTONS,
    CASE_FILE_ID,
    PRIORIDAD,
    REJECT_ID,
    TIPO,
)
from handlers.slack.commands import Commands
from handlers.slack.context import Pacer, SlackContext
from handlers.slack.customers import EDIT_BUTTON, MERGE_BUTTON, CustomerActions
from handlers.slack.events import CardPoster
from handlers.slack.modals import TEMPLATE_SELECT
from handlers.slack.notifier import SlackNotifier
from handlers.slack.payload import Malformed, who_and_where
from handlers.slack.records import CaseFiles
from handlers.slack.submissions import Modals
from handlers.slack.threads import Threads

log = logging.getLogger(__name__)

ANY = re.compile(".*")
PROPOSE_ID, CONFIRM_ID, REOPEN_ID = (BUTTONS[a][0] for a in (Action.PROPOSE, Action.CONFIRM,
                                                            Action.REOPEN))
# these buttons open a modal (kind = the id without "atiende_": see modals.open_for)
MODAL_BUTTONS = re.compile("^atiende_(responder|nota|descartar)$")


def build_client(settings: Settings) -> AsyncWebClient:
    """One Web API client; 429s wait for Retry-After and retry, dropped connections retry."""
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url or AsyncWebClient.BASE_URL,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2),
                        AsyncRateLimitErrorRetryHandler(max_retry_count=6)])


INTERNAL_ERROR = ("Error interno: no se pudo completar la acción. Quedó registrado; "
                  "vuelva a intentarlo en un momento o avise al administrador.")


def tolerant(listener: Callable[..., Awaitable[Any]],
             ctx: SlackContext | None = None) -> Callable[..., Awaitable[Any]]:
    """A forged or malformed value inside a well-formed payload (``payload.Malformed``,
    raised only while a listener reads the payload) is the sender's fault: one warning,
    and the request is acknowledged instead of bolt answering 500. Anything else is a
    bug: logged with its traceback, and the person who clicked is told "error interno"
    privately, so nothing fails silently. ``functools.wraps`` keeps the signature bolt
    reads to inject arguments."""
    name = getattr(listener, "__name__", "listener")

    @functools.wraps(listener)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await listener(*args, **kwargs)
        except Malformed as exc:
            log.warning("slack request ignored: malformed %s (%s)", name, exc)
        except Exception:
            log.exception("slack listener %s failed", name)
            await _tell_internal_error(ctx, kwargs)
        ack = kwargs.get("ack")
        if ack is not None and getattr(ack, "response", None) is None:
            await ack()  # unacknowledged, bolt would answer with an error status
        return None

    return wrapper


def quiet_bolt_loggers() -> None:
    """bolt gives each of its loggers the root's level when it creates them (with the
    app), so our ``slack_bolt`` level does not reach them; some log a whole request
    body at INFO (a rejected signature, an unhandled request). Called after the app is
    built: only their warnings and errors reach the log."""
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("slack_bolt") and isinstance(logger, logging.Logger):
            logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))


async def _tell_internal_error(ctx: SlackContext | None, kwargs: dict[str, Any]) -> None:
    payload = kwargs.get("body") or kwargs.get("command") or kwargs.get("event") or {}
    user, channel = who_and_where(payload)
    if ctx is None or user is None:
        return
    try:
        await ctx.tell(user, INTERNAL_ERROR, channel)
    except Exception:  # telling is best effort: the error is already logged
        log.warning("could not tell user=%s about the internal error", user)


def register(app: AsyncApp, ctx: SlackContext, poster: CardPoster) -> None:
    """Every listener. bolt runs the *first* listener whose matcher fits, so the
    specific ones come first and each catch-all (which only acks) comes last."""
    actions, modals, commands, threads = (Actions(ctx, poster), Modals(ctx), Commands(ctx),
                                          Threads(ctx))
    customers = CustomerActions(ctx)
    guard = functools.partial(tolerant, ctx=ctx)
    # card elements
    app.action(TIPO)(guard(actions.tipo))
    app.action(PRIORIDAD)(guard(actions.prioridad))
    app.action(ASSIGN)(guard(actions.assign))
    app.action(PROPOSE_ID)(guard(actions.propose))
    app.action(CONFIRM_ID)(guard(actions.confirm))
    app.action(REJECT_ID)(guard(actions.reject))
    app.action(ACCEPT_ID)(guard(actions.accept))
    app.action(REOPEN_ID)(guard(actions.reopen))
    app.action(MODAL_BUTTONS)(guard(actions.open_modal))
    # buttons of /ticket cliente and /ticket fusionar
    app.action(EDIT_BUTTON)(guard(customers.edit))
    app.action(MERGE_BUTTON)(guard(customers.merge))
    app.action(CASE_FILE_ID)(guard(CaseFiles(ctx).case_file))
    # inside the reply modal: before the catch-all, or the preview never changes
    app.action(TEMPLATE_SELECT)(guard(modals.template_changed))
    inbox.register(app, ctx, guard)  # Reintentar, Es del cliente
    app.action(ANY)(guard(actions.ignore))
    # modals
    app.view(re.compile("^atiende_"))(guard(modals.submitted))
    app.view(ANY)(guard(modals.closed))
    app.view_closed(ANY)(guard(modals.closed))
    # slash commands and shortcuts
    app.command("/ticket")(guard(commands.ticket))
    app.command(ANY)(guard(modals.closed))
    app.shortcut(ANY)(guard(modals.closed))
    # events (bolt acks events itself; ignoring_self_events drops our own posts)
    app.event("app_home_opened")(guard(threads.home_opened))
    app.event("message")(guard(threads.message))
    app.event(ANY)(guard(threads.ignore))


class SlackFrontEnd:
    """``FrontEnd`` for ``bot.app.run``: Socket Mode when an app token is set, HTTP mode
    (``routes()``) when a signing secret is; both may run at once."""

    name = "slack"

    def __init__(self, services: Services, *, process_before_response: bool = False,
                 pace_seconds: float = 1.0, pacer: Pacer | None = None,
                 socket_ping_interval: float = 10.0) -> None:
        settings = services.settings
        if not settings.slack_channel:
            raise ValueError("ATIENDE_SLACK_CHANNEL: falta el ID del canal de soporte")
        self.ctx = SlackContext(services, build_client(settings), settings.slack_channel,
                                pacer or Pacer(pace_seconds))
        self.poster = CardPoster(self.ctx)
        # process_before_response=False (production): bolt answers Slack at ack() and
        # runs the rest of the listener afterwards; tests pass True to await the work.
        self.app = AsyncApp(client=self.ctx.client,
                            signing_secret=settings.slack_signing_secret,
                            process_before_response=process_before_response)
        register(self.app, self.ctx, self.poster)
        quiet_bolt_loggers()
        self.notifier = SlackNotifier(self.ctx)
        self.offers = Offers(subscribers=(self.poster.on_event,), notifier=self.notifier,
                             settle=self.poster.drain_cards)
        self._app_token = settings.slack_app_token
        # how often Socket Mode pings Slack; a dead connection is noticed within ~4 pings
        self._ping_interval = socket_ping_interval
        self._socket: AsyncSocketModeHandler | None = None

    def routes(self) -> list[BaseRoute]:
        """``POST /slack/events``; none without a signing secret (nothing to verify with)."""
        if not self.ctx.services.settings.slack_signing_secret:
            return []
        return http.routes(AsyncSlackRequestHandler(self.app),
                           self.ctx.services.settings.slack_signing_secret)

    async def start(self) -> None:
        self.poster.start()
        if self._app_token:
            self._socket = AsyncSocketModeHandler(self.app, self._app_token,
                                                  ping_interval=self._ping_interval)
            await self._socket.connect_async()  # shares our loop (start_async blocks)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        await self.poster.stop()

    async def drain(self) -> None:
        """Wait until every ticket event is shown in Slack."""
        await self.poster.drain()

    def __repr__(self) -> str:
        return f"<SlackFrontEnd channel={self.ctx.channel}>"


def build(services: Services, **kwargs: Any) -> SlackFrontEnd:
    return SlackFrontEnd(services, **kwargs)
