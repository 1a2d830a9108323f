"""Writing to the customer from a card: "✉️ Responder" and "🏁 Proponer solución".

Responder: the templates that fit the ticket's type -> the rendered preview (channel,
recipient, text) -> optionally the person's own text -> Enviar. Proponer solución: the
conformity request's preview -> optionally a description of the fix -> Enviar. When
WhatsApp's 24-hour window is closed the preview says so (``draft.notice``) and offers no
free text. The message is queued in the core's outbox; the card redraws from the event.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.process.domain import Canal
from bot.process.errors import InvalidInput
from bot.process.template_names import TEMPLATE_TITLES, TemplateName
from bot.tickets.replies import OutgoingDraft
from handlers.telegram import callbacks as cb
from handlers.telegram.cards import MAX_TEXT, esc, fit, tg_len
from handlers.telegram.common import Desk, DeskContext, edit, said
from handlers.telegram.tap import Route, Tap

WAIT_TEXT = "responder:texto"
WAIT_DETAIL = "proponer:detalle"
CLOSE = InlineKeyboardButton("Cancelar", callback_data=cb.encode(cb.CLOSE))


class Responder:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.s = desk.s

    def routes(self) -> dict[str, Route]:
        return {cb.REPLY_MENU: self.menu, cb.REPLY_PREVIEW: self.preview,
                cb.REPLY_SEND: self.send, cb.REPLY_SEND_EDITED: self.send,
                cb.PROPOSE: self.propose, cb.PROPOSE_SEND: self.propose_send}

    # --- Responder ------------------------------------------------------------------
    async def menu(self, tap: Tap, context: DeskContext) -> None:
        """✉️ Responder: the templates for this ticket's type."""
        view = await self.s.queries.get(tap.press.number)
        # The conformity request goes out through "Proponer solución", which also moves
        # the ticket to Pendiente de conformidad.
        names = [n for n in self.s.replies.templates_for(view)
                 if n is not TemplateName.CONFORMITY_REQUEST]
        rows = [[InlineKeyboardButton(TEMPLATE_TITLES[n], callback_data=cb.encode(
            cb.REPLY_PREVIEW, view.number, view.version, cb.template_index(n)))] for n in names]
        rows.append([CLOSE])
        await tap.answer()
        await context.bot.send_message(
            tap.chat_id,
            f"✉️ Respuesta al cliente del ticket #{view.number} "
            f"({esc(view.customer.display)}): elija la plantilla.",
            reply_markup=InlineKeyboardMarkup(rows))

    async def preview(self, tap: Tap, context: DeskContext) -> None:
        """The rendered message, where it goes, and Enviar / Editar / Cancelar."""
        press = tap.press
        template = _template(press)
        draft = await self.s.replies.draft(tap.actor, press.number, template)
        await tap.answer()
        text = preview_html(f"✉️ <b>{esc(TEMPLATE_TITLES[template])}</b>", press.number, draft)
        markup = self._buttons(press, draft, cb.REPLY_SEND, cb.REPLY_EDIT, "✏️ Editar texto")
        await _show(tap, context, text, markup)

    async def edit_ask(self, tap: Tap, context: DeskContext) -> str:
        """✏️ Editar texto: the person writes the whole message."""
        press = tap.press
        context.store["reply"] = {"ticket": press.number, "version": press.version,
                                  "template": press.arg}
        await tap.answer()
        await context.bot.send_message(
            tap.chat_id,
            f"✏️ Escriba el texto completo del mensaje para el cliente del ticket "
            f"#{press.number} (/cancelar para dejarlo).")
        return WAIT_TEXT

    async def edited_text(self, update: Update, context: DeskContext) -> int:
        """The person's text: a new preview, to confirm."""
        pending = context.store.get("reply") or {}
        message = said(update)
        text = (message.text or "").strip()
        if not text:
            raise InvalidInput("El mensaje al cliente no puede estar vacío.")
        pending["text"] = text
        context.store["reply"] = pending
        press = cb.Press(cb.REPLY_EDIT, pending["ticket"], pending["version"], pending["template"])
        template = _template(press)
        draft = await self.s.replies.draft(context.actor, press.number, template)
        html = preview_html(f"✉️ <b>{esc(TEMPLATE_TITLES[template])}</b> (texto editado)",
                            press.number, draft, body=text)
        markup = self._buttons(press, draft, cb.REPLY_SEND_EDITED, cb.REPLY_EDIT,
                               "✏️ Editar de nuevo")
        await context.bot.send_message(message.chat.id, html, reply_markup=markup)
        return ConversationHandler.END

    async def send(self, tap: Tap, context: DeskContext) -> None:
        """📤 Enviar: queue the reply (the template as shown, or the edited text)."""
        press = tap.press
        text = ""
        if press.action == cb.REPLY_SEND_EDITED:
            pending = context.store.get("reply") or {}
            if pending.get("ticket") != press.number or pending.get("template") != press.arg:
                raise InvalidInput("Ese texto editado ya no está disponible; vuelva a "
                                   "tocar ✉️ Responder.")
            text = pending["text"]
        view = await self.s.tickets.reply(tap.actor, press.number, template=_template(press),
                                          text=text, expected_version=press.version)
        context.store.pop("reply", None)
        await tap.done(f"✓ Respuesta al ticket #{view.number} en cola para el cliente. "
                            f"Estado: {view.estado.value}.")

    # --- Proponer solución ----------------------------------------------------------
    async def propose(self, tap: Tap, context: DeskContext) -> None:
        """🏁 Proponer solución: the conformity request's preview."""
        view = await self.s.queries.get(tap.press.number)
        draft = await self.s.replies.draft(tap.actor, view.number,
                                           TemplateName.CONFORMITY_REQUEST)
        await tap.answer()
        now = cb.Press(cb.PROPOSE, view.number, view.version)
        text = preview_html("🏁 <b>Proponer solución</b> (se pide la conformidad del cliente)",
                            view.number, draft)
        markup = self._buttons(now, draft, cb.PROPOSE_SEND, cb.PROPOSE_DETAIL,
                               "✏️ Describir la solución")
        await context.bot.send_message(tap.chat_id, text, reply_markup=markup)

    async def detail_ask(self, tap: Tap, context: DeskContext) -> str:
        """✏️ Describir la solución: the person writes what was done."""
        press = tap.press
        context.store["propose"] = {"ticket": press.number, "version": press.version}
        await tap.answer()
        await context.bot.send_message(
            tap.chat_id,
            f"✏️ Describa la solución para el cliente del ticket #{press.number} "
            "(/cancelar para dejarlo).")
        return WAIT_DETAIL

    async def detail_text(self, update: Update, context: DeskContext) -> int:
        pending = context.store.get("propose") or {}
        message = said(update)
        detail = (message.text or "").strip()
        pending["detalle"] = detail
        context.store["propose"] = pending
        press = cb.Press(cb.PROPOSE, pending["ticket"], pending["version"], "d")
        draft = await self.s.replies.draft(context.actor, press.number,
                                           TemplateName.CONFORMITY_REQUEST, detail)
        text = preview_html("🏁 <b>Proponer solución</b> (con su descripción)", press.number,
                            draft)
        markup = self._buttons(press, draft, cb.PROPOSE_SEND, cb.PROPOSE_DETAIL,
                               "✏️ Cambiar la descripción")
        await context.bot.send_message(message.chat.id, text, reply_markup=markup)
        return ConversationHandler.END

    async def propose_send(self, tap: Tap, context: DeskContext) -> None:
        """📤 Enviar: the conformity request goes out; Pendiente de conformidad."""
        press = tap.press
        detail = ""
        if press.arg == "d":
            pending = context.store.get("propose") or {}
            if pending.get("ticket") != press.number:
                raise InvalidInput("Esa descripción ya no está disponible; vuelva a tocar "
                                   "🏁 Proponer solución.")
            detail = pending.get("detalle", "")
        view = await self.s.tickets.propose(tap.actor, press.number, detalle=detail,
                                            expected_version=press.version)
        context.store.pop("propose", None)
        await tap.done(f"✓ Solicitud de conformidad enviada (ticket #{view.number}). "
                            f"Estado: {view.estado.value}.")

    @staticmethod
    def _buttons(press: cb.Press, draft: OutgoingDraft, send: str, edit_action: str,
                 edit_label: str) -> InlineKeyboardMarkup:
        row = []
        if draft.free_text_allowed or draft.whatsapp_template:
            row.append(InlineKeyboardButton("📤 Enviar", callback_data=cb.encode(
                send, press.number, press.version, press.arg)))
        if draft.free_text_allowed:
            row.append(InlineKeyboardButton(edit_label, callback_data=cb.encode(
                edit_action, press.number, press.version, press.arg)))
        return InlineKeyboardMarkup([row, [CLOSE]] if row else [[CLOSE]])


def preview_html(title: str, number: int, draft: OutgoingDraft, body: str | None = None) -> str:
    """What would go out, where to, and any warning (e.g. WhatsApp's window closed)."""
    head = [f"{title} · ticket #{number}",
            f"<b>Para:</b> {esc(draft.channel.label)} · {esc(draft.recipient)}"]
    if draft.channel is Canal.EMAIL:
        head.append(f"<b>Asunto:</b> {esc(draft.message.subject)}")
    if draft.notice:
        head.append(f"⚠️ {esc(draft.notice)}")
    if draft.whatsapp_template:
        head.append(f"Saldrá la plantilla aprobada «{esc(draft.whatsapp_template)}».")
    elif not draft.free_text_allowed:
        head.append("No hay una plantilla aprobada para este mensaje: no se puede enviar.")
    if body is None:
        body = draft.message.whatsapp if draft.channel is Canal.WHATSAPP else draft.message.text
    top = "\n".join(head) + "\n\n"
    text, _ = fit(body, MAX_TEXT - tg_len(top))
    return top + text


def _template(press: cb.Press) -> TemplateName:
    template = cb.template_at(press.arg)
    if template is None:
        raise InvalidInput("No conozco esa plantilla; vuelva a tocar ✉️ Responder.")
    return template


async def _show(tap: Tap, context: DeskContext, text: str,
                markup: InlineKeyboardMarkup) -> None:
    """Turn the menu that was tapped into ``text`` (or post it if that fails)."""
    if await edit(context.bot, tap.chat_id, tap.message.message_id, text, markup):
        return
    await context.bot.send_message(tap.chat_id, text, reply_markup=markup)

