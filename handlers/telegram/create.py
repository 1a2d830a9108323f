"""``/nuevo``: open a ticket by conversation.

Customer (search by name, email or phone, or create) -> channel -> description -> type
-> priority -> confirm. Answers so far live in ``user_data["nuevo"]`` and the step in the
conversation state, both persisted: a restart in the middle resumes at the same step.
``/cancelar`` leaves at any step.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.process.domain import Canal, Prioridad, TipoIncidencia
from bot.process.errors import DomainError, InvalidInput
from bot.process.views import CustomerView
from handlers.telegram import callbacks as cb
from handlers.telegram.cards import esc
from handlers.telegram.common import Desk, DeskContext, edit, said
from handlers.telegram.tap import Tap

# Conversation states (strings: they are stored as they are).
CUSTOMER, PICK, NAME, CHANNEL, DESCRIPTION, TIPO, PRIO, CONFIRM = (
    "nuevo:cliente", "nuevo:elegir", "nuevo:nombre", "nuevo:canal", "nuevo:descripcion",
    "nuevo:tipo", "nuevo:prioridad", "nuevo:confirmar")
KEY = "nuevo"


def _keyboard(buttons: list[tuple[str, str]], per_row: int = 3) -> InlineKeyboardMarkup:
    keys = [InlineKeyboardButton(label, callback_data=data) for label, data in buttons]
    return InlineKeyboardMarkup([keys[i:i + per_row] for i in range(0, len(keys), per_row)])


class NewTicket:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.s = desk.s

    def _draft(self, context: DeskContext) -> dict[str, object]:
        draft: dict[str, object] = context.store.setdefault(KEY, {})
        return draft

    async def start(self, update: Update, context: DeskContext) -> str:
        """/nuevo: who is the customer?"""
        context.store[KEY] = {}
        await said(update).reply_text(
            "🆕 Nuevo ticket. ¿Quién es el cliente? Escriba su correo, su teléfono o parte "
            "de su nombre (/cancelar para salir).")
        return CUSTOMER

    async def customer(self, update: Update, context: DeskContext) -> str:
        """The typed email, phone or name: found, to pick from, or new."""
        message = said(update)
        ref = (message.text or "").strip()
        if "@" in ref or any(ch.isdigit() for ch in ref):
            try:
                found_one = await self.s.customers.find(ref)
            except InvalidInput:
                raise
            except DomainError:
                self._draft(context)["new_ref"] = ref
                await message.reply_text(
                    f"Cliente nuevo: {esc(ref)}. ¿Cómo se llama? Escríbalo, o toque el botón.",
                    reply_markup=_keyboard([("Sin nombre", cb.encode(cb.NEW_NAMELESS))]))
                return NAME
            return await self._chosen(context, message.chat.id, found_one)
        found = await self.s.customers.search(ref, limit=8)
        if not found:
            await message.reply_text(
                "No encontré clientes con ese nombre. Escriba su correo o teléfono para "
                "crearlo.")
            return CUSTOMER
        buttons = [(f"{c.display} {c.contact}"[:60], cb.encode(cb.NEW_CUSTOMER, c.id))
                   for c in found]
        await message.reply_text("¿Cuál de ellos?", reply_markup=_keyboard(buttons, per_row=1))
        return PICK

    async def pick(self, tap: Tap, context: DeskContext) -> str:
        await tap.answer()
        customer = await self.s.customers.get(tap.press.number)
        return await self._chosen(context, tap.chat_id, customer, tap)

    async def name(self, update: Update, context: DeskContext) -> str:
        """The new customer's name, typed."""
        message = said(update)
        return await self._create(context, message.chat.id, (message.text or "").strip())

    async def nameless(self, tap: Tap, context: DeskContext) -> str:
        """"Sin nombre": the new customer is created without a name."""
        await tap.answer()
        return await self._create(context, tap.chat_id, "", tap)

    async def _create(self, context: DeskContext, chat_id: int, name: str,
                      tap: Tap | None = None) -> str:
        ref = str(self._draft(context).get("new_ref", ""))
        kind = {"email": ref} if "@" in ref else {"phone": ref}
        customer = await self.s.customers.find_or_create(name=name, **kind)
        return await self._chosen(context, chat_id, customer, tap)

    async def _chosen(self, context: DeskContext, chat_id: int, c: CustomerView,
                      tap: Tap | None = None) -> str:
        draft = self._draft(context)
        draft.update(customer_id=c.id, customer=f"{c.display} {c.contact}".strip())
        draft.pop("new_ref", None)
        buttons = [(canal.label, cb.encode(cb.NEW_CHANNEL, arg=canal.value)) for canal in Canal]
        await _say(context, chat_id, tap, f"Cliente: {esc(draft['customer'])}.\n"
                   "¿Por qué canal llegó?", _keyboard(buttons))
        return CHANNEL

    async def channel(self, tap: Tap, context: DeskContext) -> str:
        await tap.answer()
        canal = Canal(tap.press.arg)
        self._draft(context)["channel"] = canal.value
        await _say(context, tap.chat_id, tap, f"Canal: {esc(canal.label)}.\nDescriba la "
                   "incidencia (escriba el mensaje del cliente o un resumen).")
        return DESCRIPTION

    async def description(self, update: Update, context: DeskContext) -> str:
        message = said(update)
        text = (message.text or "").strip()
        if not text:
            raise InvalidInput("Describa la incidencia: la descripción no puede estar vacía.")
        self._draft(context)["description"] = text
        buttons = [(t.value, cb.encode(cb.NEW_TIPO, arg=t.value[0])) for t in TipoIncidencia]
        await _say(context, message.chat.id, None, "Tipo_Incidencia:", _keyboard(buttons + [
            ("Todavía no", cb.encode(cb.NEW_TIPO, arg="-"))]))
        return TIPO

    async def tipo(self, tap: Tap, context: DeskContext) -> str:
        await tap.answer()
        tipo = cb.TIPO_CODES.get(tap.press.arg)
        self._draft(context)["tipo"] = tipo.value if tipo else None
        buttons = [(p.value, cb.encode(cb.NEW_PRIO, arg=p.value[0])) for p in Prioridad]
        await _say(context, tap.chat_id, tap,
                   f"Tipo_Incidencia: {tipo.value if tipo else 'sin definir'}.\nPrioridad:",
                   _keyboard(buttons + [("Todavía no", cb.encode(cb.NEW_PRIO, arg="-"))]))
        return PRIO

    async def prioridad(self, tap: Tap, context: DeskContext) -> str:
        await tap.answer()
        prio = cb.PRIO_CODES.get(tap.press.arg)
        draft = self._draft(context)
        draft["prioridad"] = prio.value if prio else None
        summary = (f"¿Crear este ticket?\n<b>Cliente:</b> {esc(draft.get('customer'))}\n"
                   f"<b>Canal:</b> {esc(Canal(str(draft.get('channel'))).label)}\n"
                   f"<b>Tipo_Incidencia:</b> {esc(draft.get('tipo') or 'sin definir')}\n"
                   f"<b>Prioridad:</b> {esc(draft.get('prioridad') or 'sin definir')}\n"
                   f"<b>Descripción:</b> {esc(str(draft.get('description'))[:1500])}")
        await _say(context, tap.chat_id, tap, summary, _keyboard([
            ("✓ Crear", cb.encode(cb.NEW_CONFIRM, arg=1)),
            ("No crear", cb.encode(cb.NEW_CONFIRM, arg=0))]))
        return CONFIRM

    async def confirm(self, tap: Tap, context: DeskContext) -> int:
        """Crear: the ticket opens, and its card arrives like any new ticket's."""
        await tap.answer()
        draft = context.store.pop(KEY, {})
        if tap.press.arg != "1":
            await _say(context, tap.chat_id, tap, "No se creó nada.")
            return ConversationHandler.END
        tipo, prio = draft.get("tipo"), draft.get("prioridad")
        view = await self.s.tickets.open(
            tap.actor, customer_id=int(draft["customer_id"]), channel=Canal(draft["channel"]),
            description=str(draft["description"]), tipo=TipoIncidencia(tipo) if tipo else None,
            prioridad=Prioridad(prio) if prio else None)
        await _say(context, tap.chat_id, tap,
                   f"✓ Ticket #{view.number} creado para {esc(view.customer.display)}.")
        return ConversationHandler.END

    async def cancel(self, update: Update, context: DeskContext) -> int:
        """/cancelar: leave the conversation; nothing is created."""
        context.store.pop(KEY, None)
        await said(update).reply_text("Cancelado. No se creó nada.")
        return ConversationHandler.END


async def _say(context: DeskContext, chat_id: int, tap: Tap | None, text: str,
               markup: InlineKeyboardMarkup | None = None) -> None:
    """Next question: in place of the tapped question, or as a new message."""
    if tap is not None and await edit(context.bot, chat_id, tap.message.message_id, text,
                                      markup):
        return
    await context.bot.send_message(chat_id, text, reply_markup=markup)
