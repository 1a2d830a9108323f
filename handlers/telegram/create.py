"""``/nuevo``: open a ticket by conversation.

Customer (search by name, email or phone, or create) -> channel -> description -> type
-> priority -> confirm. Answers so far live in ``user_data["nuevo"]`` and the step in the
conversation state, both persisted: a restart in the middle resumes at the same step.
``/cancelar`` leaves at any step.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ConversationHandler

from bot.process.domain import Canal, Prioridad, TipoIncidencia
from bot.process.errors import DomainError, InvalidInput
from bot.process.views import CustomerView
from handlers.telegram import callbacks as cb
from handlers.telegram.cards import esc
from handlers.telegram.common import Desk, DeskContext, edit

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
        return context.user_data.setdefault(KEY, {})  # type: ignore[union-attr]

    async def start(self, update: Update, context: DeskContext) -> str:
        """/nuevo: who is the customer?"""
        context.user_data[KEY] = {}  # type: ignore[index]
        await update.effective_message.reply_text(  # type: ignore[union-attr]
            "🆕 Nuevo ticket. ¿Quién es el cliente? Escriba su correo, su teléfono o parte "
            "de su nombre (/cancelar para salir).")
        return CUSTOMER

    async def customer(self, update: Update, context: DeskContext) -> str:
        """The typed email, phone or name: found, to pick from, or new."""
        ref = (update.message.text or "").strip()  # type: ignore[union-attr]
        if "@" in ref or any(ch.isdigit() for ch in ref):
            try:
                return await self._chosen(update, context, await self.s.customers.find(ref))
            except InvalidInput:
                raise
            except DomainError:
                self._draft(context)["new_ref"] = ref
                await update.message.reply_text(  # type: ignore[union-attr]
                    f"Cliente nuevo: {esc(ref)}. ¿Cómo se llama? Escríbalo, o toque el botón.",
                    reply_markup=_keyboard([("Sin nombre", cb.encode(cb.NEW_NAMELESS))]))
                return NAME
        found = await self.s.customers.search(ref, limit=8)
        if not found:
            await update.message.reply_text(  # type: ignore[union-attr]
                "No encontré clientes con ese nombre. Escriba su correo o teléfono para "
                "crearlo.")
            return CUSTOMER
        buttons = [(f"{c.display} {c.contact}"[:60], cb.encode(cb.NEW_CUSTOMER, c.id))
                   for c in found]
        await update.message.reply_text("¿Cuál de ellos?",  # type: ignore[union-attr]
                                        reply_markup=_keyboard(buttons, per_row=1))
        return PICK

    async def pick(self, update: Update, context: DeskContext) -> str:
        press = await _press(update)
        return await self._chosen(update, context, await self.s.customers.get(press.number))

    async def name(self, update: Update, context: DeskContext) -> str:
        """The new customer's name (typed, or none)."""
        name = "" if update.callback_query else (update.message.text or "").strip()  # type: ignore[union-attr]
        if update.callback_query:
            await update.callback_query.answer()
        ref = str(self._draft(context).get("new_ref", ""))
        kind = {"email": ref} if "@" in ref else {"phone": ref}
        customer = await self.s.customers.find_or_create(name=name, **kind)
        return await self._chosen(update, context, customer)

    async def _chosen(self, update: Update, context: DeskContext, c: CustomerView) -> str:
        draft = self._draft(context)
        draft.update(customer_id=c.id, customer=f"{c.display} {c.contact}".strip())
        draft.pop("new_ref", None)
        buttons = [(canal.label, cb.encode(cb.NEW_CHANNEL, arg=canal.value)) for canal in Canal]
        await _say(update, f"Cliente: {esc(draft['customer'])}.\n¿Por qué canal llegó?",
                   _keyboard(buttons))
        return CHANNEL

    async def channel(self, update: Update, context: DeskContext) -> str:
        press = await _press(update)
        self._draft(context)["channel"] = Canal(press.arg).value
        await _say(update, f"Canal: {esc(Canal(press.arg).label)}.\nDescriba la incidencia "
                           "(escriba el mensaje del cliente o un resumen).")
        return DESCRIPTION

    async def description(self, update: Update, context: DeskContext) -> str:
        text = (update.message.text or "").strip()  # type: ignore[union-attr]
        if not text:
            raise InvalidInput("Describa la incidencia: la descripción no puede estar vacía.")
        self._draft(context)["description"] = text
        buttons = [(t.value, cb.encode(cb.NEW_TIPO, arg=t.value[0])) for t in TipoIncidencia]
        await _say(update, "Tipo_Incidencia:", _keyboard(buttons + [
            ("Todavía no", cb.encode(cb.NEW_TIPO, arg="-"))]))
        return TIPO

    async def tipo(self, update: Update, context: DeskContext) -> str:
        press = await _press(update)
        tipo = cb.TIPO_CODES.get(press.arg)
        self._draft(context)["tipo"] = tipo.value if tipo else None
        buttons = [(p.value, cb.encode(cb.NEW_PRIO, arg=p.value[0])) for p in Prioridad]
        await _say(update, f"Tipo_Incidencia: {tipo.value if tipo else 'sin definir'}.\n"
                           "Prioridad:", _keyboard(buttons + [
                               ("Todavía no", cb.encode(cb.NEW_PRIO, arg="-"))]))
        return PRIO

    async def prioridad(self, update: Update, context: DeskContext) -> str:
        press = await _press(update)
        prio = cb.PRIO_CODES.get(press.arg)
        draft = self._draft(context)
        draft["prioridad"] = prio.value if prio else None
        summary = (f"¿Crear este ticket?\n<b>Cliente:</b> {esc(draft.get('customer'))}\n"
                   f"<b>Canal:</b> {esc(Canal(str(draft.get('channel'))).label)}\n"
                   f"<b>Tipo_Incidencia:</b> {esc(draft.get('tipo') or 'sin definir')}\n"
                   f"<b>Prioridad:</b> {esc(draft.get('prioridad') or 'sin definir')}\n"
                   f"<b>Descripción:</b> {esc(str(draft.get('description'))[:1500])}")
        await _say(update, summary, _keyboard([("✓ Crear", cb.encode(cb.NEW_CONFIRM, arg=1)),
                                               ("No crear", cb.encode(cb.NEW_CONFIRM, arg=0))]))
        return CONFIRM

    async def confirm(self, update: Update, context: DeskContext) -> int:
        """Crear: the ticket opens, and its card arrives like any new ticket's."""
        press = await _press(update)
        draft = context.user_data.pop(KEY, {})  # type: ignore[union-attr]
        if press.arg != "1":
            await _say(update, "No se creó nada.")
            return ConversationHandler.END
        tipo, prio = draft.get("tipo"), draft.get("prioridad")
        view = await self.s.tickets.open(
            context.actor, customer_id=int(draft["customer_id"]), channel=Canal(draft["channel"]),
            description=str(draft["description"]), tipo=TipoIncidencia(tipo) if tipo else None,
            prioridad=Prioridad(prio) if prio else None)
        await _say(update, f"✓ Ticket #{view.number} creado para {esc(view.customer.display)}.")
        return ConversationHandler.END

    async def cancel(self, update: Update, context: DeskContext) -> int:
        """/cancelar: leave the conversation; nothing is created."""
        context.user_data.pop(KEY, None)  # type: ignore[union-attr]
        await update.effective_message.reply_text("Cancelado. No se creó nada.")  # type: ignore[union-attr]
        return ConversationHandler.END


async def _press(update: Update) -> cb.Press:
    query = update.callback_query
    assert query is not None
    press = cb.decode(query.data)
    if press is None:
        raise InvalidInput("No entendí ese botón.")
    await query.answer()
    return press


async def _say(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Next question: in place of the tapped question, or as a new message."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        if await edit(query.get_bot(), query.message.chat.id, query.message.message_id, text,
                      markup):
            return
    await update.get_bot().send_message(update.effective_chat.id, text, reply_markup=markup)  # type: ignore[union-attr]
