"""Handler registration (apart from the callbacks), and the global error handler.

Order matters, and is spelled out here:
- group -1: the access guard, for every update (stops non-members there);
- group 0, first match wins: the two conversations (``/nuevo``; the text a button asked
  for), then commands, then every other button (one router by action), then a plain
  reply to a card (a note), then any other text (a hint).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.chats.chat_cards import CardRef
from bot.process.errors import DomainError, StaleAction
from handlers.telegram import callbacks as cb
from handlers.telegram import create, records
from handlers.telegram.access import Access
from handlers.telegram.common import PLATFORM, Desk, DeskContext, said, tell
from handlers.telegram.create import NewTicket
from handlers.telegram.customers import Customers
from handlers.telegram.inbox import InboxButtons
from handlers.telegram.lookup import HELP, Lookup
from handlers.telegram.reply import WAIT_DETAIL, WAIT_TEXT, Responder
from handlers.telegram.report import ReportCommand
from handlers.telegram.tap import UNAVAILABLE, Route, Tap, tapped
from handlers.telegram.triage import WAIT_REASON, Triage

log = logging.getLogger(__name__)
# A stale press redraws the card outside the event path: with several instances another
# one may draw a newer state meanwhile, so it checks and draws again (a few rounds).
REDRAW_ROUNDS = 3

NEW_MESSAGE = filters.UpdateType.MESSAGE
TEXT = NEW_MESSAGE & filters.TEXT & ~filters.COMMAND


class Router:
    """Every button outside a conversation, by the action in its payload: the tap is
    built (and checked) here once, so each route gets plain typed fields."""

    def __init__(self, *route_maps: dict[str, Route]) -> None:
        self.routes: dict[str, Route] = {}
        for routes in route_maps:
            self.routes.update(routes)

    async def dispatch(self, update: Update, context: DeskContext) -> int:
        tap = await Tap.of(update, context)
        if tap is None:
            return ConversationHandler.END
        route = self.routes.get(tap.press.action)
        if route is None:
            await tap.answer(UNAVAILABLE, alert=True)
            return ConversationHandler.END
        await route(tap, context)
        return ConversationHandler.END


def register(app: Application[Any, Any, Any, Any, Any, Any], desk: Desk) -> None:
    access = Access(desk, HELP)
    triage, responder, new = Triage(desk), Responder(desk), NewTicket(desk)
    lookup, customers = Lookup(desk, triage), Customers(desk)
    router = Router(triage.routes(), responder.routes(), lookup.routes(), customers.routes(),
                    InboxButtons(desk).routes())

    app.add_handler(TypeHandler(Update, access.guard), group=-1)

    def button(action: str, callback: Any) -> CallbackQueryHandler[Any, Any]:
        return CallbackQueryHandler(callback, pattern=cb.pattern(action))

    app.add_handler(ConversationHandler(
        name="nuevo", persistent=True, allow_reentry=True,
        entry_points=[CommandHandler("nuevo", new.start)],
        states={
            create.CUSTOMER: [MessageHandler(TEXT, new.customer)],
            create.PICK: [button(cb.NEW_CUSTOMER, tapped(new.pick)),
                          MessageHandler(TEXT, new.customer)],
            create.NAME: [MessageHandler(TEXT, new.name),
                          button(cb.NEW_NAMELESS, tapped(new.nameless))],
            create.CHANNEL: [button(cb.NEW_CHANNEL, tapped(new.channel))],
            create.DESCRIPTION: [MessageHandler(TEXT, new.description)],
            create.TIPO: [button(cb.NEW_TIPO, tapped(new.tipo))],
            create.PRIO: [button(cb.NEW_PRIO, tapped(new.prioridad))],
            create.CONFIRM: [button(cb.NEW_CONFIRM, tapped(new.confirm))],
        },
        fallbacks=[CommandHandler("cancelar", new.cancel)]))

    async def cancel_action(update: Update, context: DeskContext) -> int:
        """/cancelar while a button waits for text."""
        for key in ("reply", "propose", "discard"):
            context.store.pop(key, None)
        await said(update).reply_text("Cancelado. No se cambió nada.")
        return ConversationHandler.END

    app.add_handler(ConversationHandler(
        name="accion", persistent=True, allow_reentry=True,
        entry_points=[button(cb.REPLY_EDIT, tapped(responder.edit_ask)),
                      button(cb.PROPOSE_DETAIL, tapped(responder.detail_ask)),
                      button(cb.DISCARD, tapped(triage.discard_ask))],
        states={
            WAIT_TEXT: [MessageHandler(TEXT, responder.edited_text)],
            WAIT_DETAIL: [MessageHandler(TEXT, responder.detail_text)],
            WAIT_REASON: [MessageHandler(TEXT, triage.discard_text)],
        },
        # Another button while waiting: do what it says and stop waiting.
        fallbacks=[CommandHandler("cancelar", cancel_action),
                   CallbackQueryHandler(router.dispatch)]))

    app.add_handler(CommandHandler("start", access.start))
    app.add_handler(CommandHandler("ayuda", lookup.help))
    app.add_handler(CommandHandler("help", lookup.help))
    app.add_handler(CommandHandler("tickets", lookup.tickets))
    app.add_handler(CommandHandler("ticket", lookup.ticket))
    app.add_handler(CommandHandler("buscar", lookup.search))
    app.add_handler(CommandHandler("cliente", customers.show))
    app.add_handler(CommandHandler("cliente_editar", customers.edit))
    app.add_handler(CommandHandler("fusionar", customers.merge))
    records.register(app, desk)  # /expediente, /datos_cliente, /anonimizar and their buttons
    app.add_handler(CommandHandler("reporte", ReportCommand(desk).report))
    app.add_handler(CommandHandler("cancelar", lookup.nothing_to_cancel))
    app.add_handler(CallbackQueryHandler(router.dispatch))
    app.add_handler(MessageHandler(NEW_MESSAGE & filters.REPLY & (filters.TEXT | filters.CAPTION)
                                   & ~filters.COMMAND, triage.note))
    app.add_handler(MessageHandler(TEXT, lookup.fallback))
    app.add_error_handler(ErrorHandler(desk).handle)


class ErrorHandler:
    """Every error ends here: the person sees a plain answer, the log the details, and
    the bot goes on. A press on an old card answers with the ticket's current state."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def handle(self, update: object, context: DeskContext) -> None:
        error = context.error
        try:
            if isinstance(error, StaleAction):
                await self.stale(update, context, error)
            elif isinstance(error, DomainError):
                await tell(update, f"✗ {error}")
            elif not isinstance(update, Update):  # persistence, jobs: no one to answer
                log.error("telegram: error outside an update", exc_info=error)
            else:
                log.error("telegram: handler failed update=%s", update.update_id,
                          exc_info=error)
                await tell(update, "✗ Ocurrió un error inesperado; quedó registrado en el log.")
        except Exception:  # the error handler itself must never take the bot down
            log.exception("telegram: the error handler failed too (original: %r)", error)

    async def stale(self, update: object, context: DeskContext, error: StaleAction) -> None:
        """Answer with the message and redraw the pressed message as the current card."""
        await tell(update, str(error), alert=False)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        view = await self.desk.s.queries.get(error.number)
        chat_id = update.effective_chat.id
        # the error handler gets a fresh context: find who pressed again
        member = await self.desk.s.team.by_telegram(update.effective_user.id) \
            if update.effective_user else None
        query = update.callback_query
        if not (query is not None and isinstance(query.message, Message)):
            await self.desk.send_card(context.bot, chat_id, view, member)
            return
        for _ in range(REDRAW_ROUNDS):  # until what it drew is what the ticket is now
            if not await self.desk.redraw(context.bot, chat_id, query.message.message_id,
                                          view, member):
                await self.desk.send_card(context.bot, chat_id, view, member)
                return
            now = await self.desk.s.queries.get(error.number)
            if now.version == view.version:
                break
            view = now  # changed meanwhile: a newer redraw may have landed before ours
        await self.desk.s.cards.save(CardRef(PLATFORM, view.number, str(chat_id),
                                             str(query.message.message_id)))
