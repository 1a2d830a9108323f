"""Looking things up: ``/tickets`` (paginated, with filters), ``/ticket 12``, ``/buscar``,
``/cliente``, ``/ayuda``. Read-only: nothing here changes a ticket."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.chats.cards import count_tickets
from bot.process.errors import InvalidInput
from bot.process.views import Page, TicketView
from bot.tickets.queries import TicketFilter
from handlers.telegram import callbacks as cb
from handlers.telegram.cards import esc, fit, open_button, row_html
from handlers.telegram.common import Desk, DeskContext, edit, reply_rows, said
from handlers.telegram.tap import Route, Tap
from handlers.telegram.triage import Triage

PER_PAGE = 5

HELP = """Atiende — lo que puede hacer aquí:
/nuevo — crear un ticket (le iré preguntando)
/tickets — tickets abiertos, más nuevos primero (filtros: estado, míos, vencidos)
/ticket 12 — la tarjeta y el historial del ticket 12
/buscar texto — buscar en asuntos, mensajes y clientes
/cliente correo|teléfono|RUT — los datos y tickets de un cliente
/cliente_editar 12 rut 12.345.678-5 — cambiar un dato de un cliente (nombre, pila, \
tratamiento, rut, correo, telefono, empresa, notas)
/fusionar A B — el cliente B es la misma persona que A: se unen (pide confirmación)
/expediente 12 — el expediente del ticket 12 (documento imprimible y adjuntos)
/datos_cliente correo|teléfono|RUT — todo lo que guardamos de una persona
/anonimizar correo|teléfono|RUT — borrar sus datos personales (pide confirmación)
/reporte [semana|mes|AAAA-MM|desde hasta] — plazos cumplidos, volúmenes y satisfacción
/cancelar — salir de cualquier conversación
/ayuda — esta ayuda

En cada tarjeta: toque el tipo y la prioridad para clasificar, 👤 Asignar, ✉️ Responder \
(plantillas con vista previa), 🏁 Proponer solución, ✅ Cliente conforme. Responda a una \
tarjeta con un mensaje para dejar una nota interna (el cliente no la ve)."""

# Filter codes carried by the pagination buttons.
_FILTER_LABELS = {"o": "Abiertos", "m": "Míos", "v": "Vencidos"}


class Lookup:
    def __init__(self, desk: Desk, triage: Triage) -> None:
        self.desk = desk
        self.s = desk.s
        self.triage = triage

    def routes(self) -> dict[str, Route]:
        return {cb.LIST: self.page}

    async def help(self, update: Update, context: DeskContext) -> None:
        """/ayuda: the commands."""
        await said(update).reply_text(HELP, parse_mode=None)

    async def tickets(self, update: Update, context: DeskContext) -> None:
        """/tickets [estado|mios|vencidos]: page 1 of open tickets, newest first."""
        code = _filter_code(" ".join(context.args or []))
        text, markup = await self._page(context, code, 1)
        await said(update).reply_text(text, reply_markup=markup)

    async def page(self, tap: Tap, context: DeskContext) -> None:
        """Another page or filter of the list, in place."""
        text, markup = await self._page(context, tap.press.arg or "o", tap.press.number or 1)
        await tap.answer()
        if not await edit(context.bot, tap.chat_id, tap.message.message_id, text, markup):
            await context.bot.send_message(tap.chat_id, text, reply_markup=markup)

    async def _page(self, context: DeskContext, code: str,
                    page: int) -> tuple[str, InlineKeyboardMarkup]:
        member_id = context.member.id if context.member else None
        result = await self.s.queries.list(_filter(code, member_id), page=page, per_page=PER_PAGE)
        label = _label(code)
        if not result.items:
            text = f"📋 {esc(label)}: no hay tickets que mostrar."
        else:
            now = self.desk.now()
            text = "\n".join([f"📋 <b>{esc(label)}</b> — página {result.page} de "
                              f"{result.pages} ({count_tickets(result.total)})"]
                             + [row_html(t, now) for t in result.items])
        return text, _list_keyboard(result, code)

    async def ticket(self, update: Update, context: DeskContext) -> None:
        """/ticket 12: the card (kept up to date from now on) and the last interactions."""
        number = _number(context.args or [])
        view = await self.s.queries.get(number)
        chat_id = said(update).chat.id
        await self.desk.send_card(context.bot, chat_id, view, context.member)
        await self.triage.send_history(context, chat_id, number)

    async def search(self, update: Update, context: DeskContext) -> None:
        """/buscar texto."""
        text = " ".join(context.args or []).strip()
        if not text:
            raise InvalidInput("Uso: /buscar texto (por ejemplo: /buscar boleta)")
        found = await self.s.queries.search(text)
        await self._rows(update, f"🔎 Resultados para «{fit(text, 200)[0]}»", found)

    async def _rows(self, update: Update, title: str, found: list[TicketView]) -> None:
        await reply_rows(update, title, found, self.desk.now())

    async def nothing_to_cancel(self, update: Update, context: DeskContext) -> None:
        """/cancelar outside a conversation."""
        await said(update).reply_text("No hay nada que cancelar.")

    async def fallback(self, update: Update, context: DeskContext) -> None:
        """Any other text: point to the help."""
        await said(update).reply_text(
            "No entendí. Escriba /ayuda para ver los comandos, o responda a la tarjeta de un "
            "ticket para dejar una nota.", parse_mode=None)


def _filter_code(text: str) -> str:
    word = text.strip().lower().replace(" ", "").replace("_", "")
    if not word:
        return "o"
    if word in ("mios", "míos", "mis"):
        return "m"
    if word in ("vencidos", "vencido", "atrasados"):
        return "v"
    for i, estado in enumerate(cb.ESTADOS):
        if estado.value.lower().replace(" ", "") == word:
            return f"e{i}"
    raise InvalidInput(f"No conozco el filtro «{text}». Use: míos, vencidos o un estado ("
                       + ", ".join(e.value for e in cb.ESTADOS) + ").")


def _filter(code: str, member_id: int | None) -> TicketFilter:
    if code == "m":
        return TicketFilter(assignee_id=member_id)
    if code == "v":
        return TicketFilter(overdue=True)
    if code.startswith("e") and code[1:].isdigit() and int(code[1:]) < len(cb.ESTADOS):
        return TicketFilter(estado=cb.ESTADOS[int(code[1:])])
    return TicketFilter()


def _label(code: str) -> str:
    if code.startswith("e") and code[1:].isdigit() and int(code[1:]) < len(cb.ESTADOS):
        return f"Tickets {cb.ESTADOS[int(code[1:])].value}"
    return f"Tickets {_FILTER_LABELS.get(code, 'Abiertos').lower()}"


def _list_keyboard(result: Page, code: str) -> InlineKeyboardMarkup:
    rows = []
    if result.items:
        rows.append([open_button(t) for t in result.items])
    nav = []
    if result.page > 1:
        nav.append(InlineKeyboardButton("« Anterior", callback_data=cb.encode(
            cb.LIST, result.page - 1, 0, code)))
    if result.page < result.pages:
        nav.append(InlineKeyboardButton("Siguiente »", callback_data=cb.encode(
            cb.LIST, result.page + 1, 0, code)))
    if nav:
        rows.append(nav)
    rows.append([InlineKeyboardButton(("• " if code == c else "") + label,
                                      callback_data=cb.encode(cb.LIST, 1, 0, c))
                 for c, label in _FILTER_LABELS.items()])
    return InlineKeyboardMarkup(rows)


def _number(args: list[str]) -> int:
    if not args or not args[0].lstrip("#").isdigit():
        raise InvalidInput("Indique el número del ticket, por ejemplo: /ticket 12")
    return int(args[0].lstrip("#"))

