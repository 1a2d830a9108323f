"""The administrator's records from Telegram: ``/expediente 12`` (a ticket's case
file as a document), ``/datos_cliente`` and ``/anonimizar`` (a person's data request,
each after a confirmation button). The work is ``services.records``; here only the
conversation. Person requests are for the administrator only (the core refuses others).
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.process.errors import InvalidInput
from bot.records.service import PersonSummary
from handlers.telegram import callbacks as cb
from handlers.telegram.cards import esc
from handlers.telegram.common import Desk, DeskContext, said
from handlers.telegram.tap import Tap, tapped

# Button actions (number: customer id; arg "f": anonymise despite open tickets).
EXPORT, ANONYMISE, CANCEL = "dx", "dz", "dn"
MAX_UPLOAD = 50 * 1024 * 1024  # what the Bot API accepts from a bot
TOO_BIG = ("El archivo pesa {size} MB, más de lo que Telegram permite enviar a un bot "
           "(50 MB). Genérelo en el servidor: {command}")


class Records:
    def __init__(self, desk: Desk) -> None:
        self.s = desk.s

    async def case_file(self, update: Update, context: DeskContext) -> None:
        """/expediente 12: the ticket's case file (HTML and attachments, one .zip)."""
        args = context.args or []
        if not args or not args[0].lstrip("#").isdigit():
            raise InvalidInput("Indique el número del ticket, por ejemplo: /expediente 12")
        number = int(args[0].lstrip("#"))
        name, data = await self.s.records.case_file_bytes(context.actor, number)
        await self._send(said(update).chat.id, context, name, data, f"atiende ticket file {number}",
                         f"Expediente del ticket #{number}: documento imprimible y adjuntos.")

    async def ask_export(self, update: Update, context: DeskContext) -> None:
        """/datos_cliente correo|teléfono|RUT: who it is, then a button to export."""
        person = await self.s.records.person(context.actor, _ref(context, "/datos_cliente"))
        buttons = [[_button("📦 Exportar sus datos", EXPORT, person),
                    _button("Cancelar", CANCEL, person)]]
        await said(update).reply_text(
            _describe(person) + "\n\n¿Exporto todo lo que guardamos de esta persona?",
            reply_markup=InlineKeyboardMarkup(buttons))

    async def ask_anonymise(self, update: Update, context: DeskContext) -> None:
        """/anonimizar correo|teléfono|RUT: who it is and what stays, then a button."""
        person = await self.s.records.person(context.actor, _ref(context, "/anonimizar"))
        warning = ""
        force = ""
        if person.open_tickets:
            warning = ("\n⚠️ Tiene tickets abiertos: " + ", ".join(
                f"#{n}" for n in person.open_tickets) + ". Si sigue, se anonimizan igual.")
            force = "f"
        buttons = [[_button("🗑 Anonimizar", ANONYMISE, person, force),
                    _button("Cancelar", CANCEL, person)]]
        await said(update).reply_text(
            _describe(person) + warning + "\n\nSe reemplazan su nombre, correo, teléfono, "
            "textos y archivos; quedan las fechas, Estado, Tipo_Incidencia y Prioridad. "
            "<b>No se puede deshacer.</b> ¿Anonimizo?", reply_markup=InlineKeyboardMarkup(buttons))

    async def pressed(self, tap: Tap, context: DeskContext) -> None:
        """A confirmation button: export, anonymise, or nothing."""
        press = tap.press
        if press.action == CANCEL:
            await tap.done("Cancelado. No se cambió nada.")
            return
        if press.action == EXPORT:
            name, data = await self.s.records.export_person_bytes(tap.actor, "",
                                                                  customer_id=press.number)
            await tap.done("Exportado: le envío el archivo.")
            await self._send(tap.chat_id, context, name, data, "atiende customers export …",
                             "Datos personales del cliente (JSON y adjuntos).")
            return
        result = await self.s.records.anonymise(tap.actor, "", force=press.arg == "f",
                                                customer_id=press.number)
        await tap.done(f"✓ Cliente {result.customer_id} anonimizado: {result.tickets} "
                           f"tickets, {result.attachments} adjuntos.")

    async def _send(self, chat_id: int, context: DeskContext, name: str, data: bytes,
                    command: str, caption: str) -> None:
        if len(data) > MAX_UPLOAD:
            await context.bot.send_message(chat_id, esc(TOO_BIG.format(
                size=len(data) // (1024 * 1024), command=command)))
            return
        await context.bot.send_document(chat_id, document=data, filename=name,
                                        caption=esc(caption))


def _ref(context: DeskContext, command: str) -> str:
    ref = " ".join(context.args or []).strip()
    if not ref:
        raise InvalidInput(f"Uso: {command} correo, teléfono o RUT del cliente")
    return ref


def _describe(p: PersonSummary) -> str:
    c = p.customer
    return (f"👤 <b>{esc(c.display)}</b>\n{esc(c.contact) or 'sin contacto'}\n"
            f"{p.tickets} ticket(s), {len(p.open_tickets)} abierto(s).")


def _button(label: str, action: str, p: PersonSummary, arg: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=cb.encode(action, p.customer.id, 0, arg))


def register(app: Application[Any, Any, Any, Any, Any, Any], desk: Desk) -> None:
    """Before the catch-all button router: these buttons are answered here."""
    records = Records(desk)
    app.add_handler(CommandHandler("expediente", records.case_file))
    app.add_handler(CommandHandler("datos_cliente", records.ask_export))
    app.add_handler(CommandHandler("anonimizar", records.ask_anonymise))
    app.add_handler(CallbackQueryHandler(tapped(records.pressed),
                                         pattern=cb.pattern(EXPORT, ANONYMISE, CANCEL)))
