"""Card buttons that change the ticket: type, priority, assignment, conformity, reopen,
discard; plus the history view and a plain reply to a card (an internal note).

A button carries the ticket version it was drawn with; the core refuses a press on an
older version (``StaleAction``) and the error handler redraws the current card. After a
change the core publishes an event and ``events.py`` edits the card in place.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot.tickets.accept_suggestion import accept_suggestion
from handlers.telegram import callbacks as cb
from handlers.telegram.cards import (
    MAX_REASON,
    MAX_TEXT,
    esc,
    fit,
    history_plain,
    join_blocks,
    split_plain,
)
from handlers.telegram.common import PLATFORM, Desk, DeskContext, edit, said
from handlers.telegram.events import notice_ticket
from handlers.telegram.tap import Route, Tap

WAIT_REASON = "descartar:motivo"
ASSIGN_PAGE = 20


class Triage:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.s = desk.s

    def routes(self) -> dict[str, Route]:
        return {cb.CARD: self.card, cb.HISTORY: self.history, cb.TIPO: self.classify,
                cb.ACCEPT: self.accept,
                cb.PRIO: self.classify, cb.ASSIGN_MENU: self.assign_menu,
                cb.ASSIGN: self.assign, cb.CONFIRM: self.confirm, cb.REJECT: self.reject,
                cb.REOPEN: self.reopen, cb.DISCARD_REASON: self.discard_pick,
                cb.CLOSE: self.close}

    # --- showing ----------------------------------------------------------------------
    async def card(self, tap: Tap, context: DeskContext) -> None:
        """🎫 #N: post the ticket's current card (it becomes the one kept up to date)."""
        view = await self.s.queries.get(tap.press.number)
        await tap.answer()
        await self.desk.send_card(context.bot, tap.chat_id, view, tap.member)

    async def history(self, tap: Tap, context: DeskContext) -> None:
        """📜 Historial: the ticket's last interactions, in as many messages as needed."""
        await tap.answer()
        await self.send_history(context, tap.chat_id, tap.press.number)

    async def send_history(self, context: DeskContext, chat_id: int, number: int,
                           limit: int = 15) -> None:
        items = await self.s.queries.history(number, limit=limit)
        blocks = [f"📜 <b>Historial del ticket #{number}</b> (últimas {len(items)})"]
        for item in items:
            blocks += split_plain(history_plain(item, self.s.settings), MAX_TEXT)
        for text in join_blocks(blocks, MAX_TEXT):
            await context.bot.send_message(chat_id, text)

    # --- changing -------------------------------------------------------------------
    async def classify(self, tap: Tap, context: DeskContext) -> None:
        """Consulta/Reclamo/Sugerencia or Baja/Media/Alta: one tap each."""
        press = tap.press
        tipo = cb.TIPO_CODES.get(press.arg) if press.action == cb.TIPO else None
        prio = cb.PRIO_CODES.get(press.arg) if press.action == cb.PRIO else None
        view = await self.s.tickets.classify(tap.actor, press.number, tipo=tipo,
                                             prioridad=prio, expected_version=press.version)
        await tap.answer(
            f"✓ #{view.number}: {view.tipo.value if view.tipo else 'sin tipo'} · "
            f"{view.prioridad.value if view.prioridad else 'sin prioridad'}")

    async def accept(self, tap: Tap, context: DeskContext) -> None:
        """👍 Aceptar sugerencia: the suggested type and priority in one tap."""
        view = await accept_suggestion(self.s.tickets, tap.actor, tap.press.number,
                                       tap.press.version)
        await tap.answer(
            f"✓ #{view.number}: {view.tipo.value if view.tipo else 'sin tipo'} · "
            f"{view.prioridad.value if view.prioridad else 'sin prioridad'}")

    async def assign_menu(self, tap: Tap, context: DeskContext) -> None:
        """👤 Asignar: the active team members, one button each, a page at a time (a
        keyboard holds at most 100 buttons; a page of 20 reads well on a phone)."""
        press = tap.press
        view = await self.s.queries.get(press.number)
        members = await self.s.team.list()
        page = int(press.arg) if press.arg.isdigit() else 0
        start = page * ASSIGN_PAGE
        shown = members[start:start + ASSIGN_PAGE]
        rows = [[InlineKeyboardButton(
            ("✓ " if view.assignee and view.assignee.id == m.id else "") + m.name,
            callback_data=cb.encode(cb.ASSIGN, view.number, view.version, m.id))]
            for m in shown]
        nav = []
        if page > 0:
            nav.append(InlineKeyboardButton("◀ Anteriores", callback_data=cb.encode(
                cb.ASSIGN_MENU, view.number, view.version, page - 1)))
        if start + ASSIGN_PAGE < len(members):
            nav.append(InlineKeyboardButton("Siguientes ▶", callback_data=cb.encode(
                cb.ASSIGN_MENU, view.number, view.version, page + 1)))
        rows += [nav] if nav else []
        rows.append([InlineKeyboardButton("Cancelar", callback_data=cb.encode(cb.CLOSE))])
        text = f"👤 ¿A quién asigna el ticket #{view.number}?"
        if len(members) > ASSIGN_PAGE:
            text += f" ({start + 1}-{start + len(shown)} de {len(members)})"
        await tap.answer()
        if page:  # turning the page: same message
            await edit(context.bot, tap.chat_id, tap.message.message_id, text,
                       InlineKeyboardMarkup(rows))
            return
        await context.bot.send_message(tap.chat_id, text, reply_markup=InlineKeyboardMarkup(rows))

    async def assign(self, tap: Tap, context: DeskContext) -> None:
        press = tap.press
        view = await self.s.tickets.assign(tap.actor, press.number, int(press.arg or 0),
                                           expected_version=press.version)
        who = view.assignee.name if view.assignee else "nadie"
        await tap.done(f"✓ Ticket #{view.number} asignado a {who}.")

    async def confirm(self, tap: Tap, context: DeskContext) -> None:
        """✅ Cliente conforme: Resuelto, with Fecha_Resolucion."""
        view = await self.s.tickets.confirm(tap.actor, tap.press.number,
                                            expected_version=tap.press.version)
        await tap.answer(f"✓ #{view.number} {view.estado.value}.")

    async def reject(self, tap: Tap, context: DeskContext) -> None:
        """↩️ Sigue pendiente: back to En proceso, the clock runs again."""
        view = await self.s.tickets.reject(tap.actor, tap.press.number,
                                           expected_version=tap.press.version)
        await tap.answer(f"✓ #{view.number} vuelve a {view.estado.value}.")

    async def reopen(self, tap: Tap, context: DeskContext) -> None:
        """🔄 Reabrir (administrator)."""
        view = await self.s.tickets.reopen(tap.actor, tap.press.number,
                                           "reabierto desde Telegram",
                                           expected_version=tap.press.version or None)
        await tap.answer(f"✓ #{view.number} reabierto: {view.estado.value}.")

    # --- discard: asks for a reason ------------------------------------------------------
    async def discard_ask(self, tap: Tap, context: DeskContext) -> str:
        """🗑 Descartar: ask why (typed, or one of the usual reasons)."""
        press = tap.press
        # the press's version travels on: the core refuses it at the end if it is stale
        number, version = press.number, press.version
        rows = [[InlineKeyboardButton(reason, callback_data=cb.encode(
            cb.DISCARD_REASON, number, version, i))]
            for i, reason in enumerate(cb.DISCARD_REASONS)]
        rows.append([InlineKeyboardButton("Cancelar", callback_data=cb.encode(cb.CLOSE))])
        await tap.answer()
        prompt = await context.bot.send_message(
            tap.chat_id,
            f"🗑 ¿Por qué descarta el ticket #{number}? Escriba el motivo o elija uno "
            "(/cancelar para no descartarlo):", reply_markup=InlineKeyboardMarkup(rows))
        context.store["discard"] = {"ticket": number, "version": version,
                                    "prompt": prompt.message_id}
        return WAIT_REASON

    async def discard_text(self, update: Update, context: DeskContext) -> int:
        """The typed reason."""
        pending = context.store.get("discard") or {}
        press = cb.Press(cb.DISCARD, int(pending.get("ticket", 0)), int(pending.get("version", 0)))
        message = said(update)
        await self._discard(context, message.chat.id, press, message.text or "",
                            pending.get("prompt"))
        return ConversationHandler.END

    async def discard_pick(self, tap: Tap, context: DeskContext) -> int:
        """One of the usual reasons, tapped."""
        press = tap.press
        reason = cb.DISCARD_REASONS[int(press.arg)] if press.arg.isdigit() and \
            int(press.arg) < len(cb.DISCARD_REASONS) else ""
        await tap.answer()
        await self._discard(context, tap.chat_id, press, reason, tap.message.message_id)
        return ConversationHandler.END

    async def _discard(self, context: DeskContext, chat_id: int, press: cb.Press, reason: str,
                       prompt_id: int | None) -> None:
        context.store.pop("discard", None)
        view = await self.s.tickets.discard(context.actor, press.number, reason,
                                            expected_version=press.version or None)
        head = f"✓ Ticket #{view.number} descartado. Motivo: "
        text = esc(head) + fit(reason.strip(), MAX_REASON)[0]
        if prompt_id is None or not await edit(context.bot, chat_id, prompt_id, text):
            await context.bot.send_message(chat_id, text)

    async def close(self, tap: Tap, context: DeskContext) -> int:
        """Cancelar on a menu or preview: remove it; nothing changes."""
        await tap.answer("Sin cambios.")
        try:
            await tap.query.delete_message()
        except BadRequest:  # too old to delete (48 h): leave a note instead
            await tap.query.edit_message_text("Sin cambios.")
        return ConversationHandler.END

    # --- notes --------------------------------------------------------------------------
    async def note(self, update: Update, context: DeskContext) -> None:
        """A plain reply to a ticket card becomes an internal note on that ticket."""
        msg = update.message
        assert msg is not None and msg.reply_to_message is not None
        ref = await self.s.cards.by_message(PLATFORM, str(msg.chat.id),
                                            str(msg.reply_to_message.message_id))
        number = ref.ticket_number if ref else notice_ticket(msg.reply_to_message)
        if number is None:
            await msg.reply_text("Para agregar una nota, responda a la tarjeta de un ticket. "
                                 "Escriba /ayuda para ver los comandos.", parse_mode=None)
            return
        await self.s.tickets.note(context.actor, number, msg.text or msg.caption or "")
        await msg.reply_text(f"📝 Nota interna agregada al ticket #{number} "
                             "(el cliente no la ve).", parse_mode=None)

