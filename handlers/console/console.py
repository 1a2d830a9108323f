"""``atiende console``: the administrator's chat, in a terminal.

The same commands the chat bots have; numbered choices stand in for buttons. Each
command turns what was typed into one service call and prints the result. Domain
errors are printed as they are (plain Spanish) and the session goes on.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from bot.chats.cards import count_tickets, local
from bot.outgoing.outbox import OutboundMessage, SendResult
from bot.process.domain import Canal, Estado, Prioridad, TipoIncidencia
from bot.process.errors import DomainError, InvalidInput
from bot.process.template_names import TEMPLATE_TITLES, TemplateName
from bot.process.views import Actor, CustomerView, MemberView
from bot.services import Services
from bot.tickets.queries import TicketFilter
from handlers.console import customers, render

log = logging.getLogger(__name__)
T = TypeVar("T")
Write = Callable[[str], None]

HELP = """Comandos:
  /nuevo                         crear un ticket (le iré preguntando)
  /tickets [estado|mios|vencidos] [página]   tickets abiertos, más nuevos primero
  /ticket N                      ficha e historial del ticket
  /clasificar N [tipo] [prioridad]
  /asignar N [persona]
  /responder N [plantilla]       responder al cliente con una plantilla
  /nota N texto                  nota interna (el cliente no la ve)
  /resolver N [detalle]          proponer la solución y pedir conformidad
  /conformidad N [si|no]         registrar la respuesta del cliente
  /reabrir N [motivo]   /descartar N motivo   (solo administrador)
  /buscar texto   /cliente correo|teléfono|RUT   /ayuda   /salir
  /cliente_editar CLIENTE CAMPO VALOR   cambiar un dato (nombre, pila, tratamiento, rut,
                                 correo, telefono, empresa, notas; «-» lo deja vacío)
  /fusionar A B                  el cliente B es la misma persona que A: se unen"""


class EndOfInput(Exception):
    """The input ended in the middle of a question."""


class Console:
    """One terminal session acting as one team member."""

    def __init__(self, services: Services, member: MemberView, write: Write) -> None:
        self.s = services
        self.actor = Actor.of(member)
        self.write = write
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._commands: dict[str, Callable[[list[str]], Awaitable[None]]] = {
            "/nuevo": self.new, "/tickets": self.list_tickets, "/ticket": self.show,
            "/clasificar": self.classify, "/asignar": self.assign, "/responder": self.reply,
            "/nota": self.note, "/resolver": self.propose, "/conformidad": self.conformity,
            "/reabrir": self.reopen, "/descartar": self.discard, "/buscar": self.search,
            "/cliente": self.customer, "/ayuda": self.help, "/start": self.help,
            "/cliente_editar": self.customer_edit, "/fusionar": self.merge,
        }

    # --- input --------------------------------------------------------------------
    def feed(self, line: str | None) -> None:
        self._lines.put_nowait(line)

    async def _next(self) -> str:
        line = await self._lines.get()
        if line is None:
            raise EndOfInput
        return line.strip()

    async def ask(self, prompt: str, *, allow_empty: bool = False) -> str:
        while True:
            self.write(f"{prompt}")
            answer = await self._next()
            if answer == "/cancelar":
                raise InvalidInput("Cancelado.")
            if answer or allow_empty:
                return answer

    async def choose(self, prompt: str, options: Sequence[tuple[str, T]]) -> T:
        """Numbered choices (the console's buttons); also accepts the option's name."""
        menu = "\n".join(f"  {n}. {label}" for n, (label, _) in enumerate(options, 1))
        while True:
            answer = await self.ask(f"{prompt}\n{menu}")
            picked = _pick(answer, options)
            if picked is not None:
                return options[picked][1]
            self.write("No entendí esa opción; escriba su número.")

    # --- loop ---------------------------------------------------------------------
    async def run(self) -> None:
        self.write(f"Atiende — consola de {self.actor.name}. Escriba /ayuda para ver los "
                   "comandos.")
        while True:
            try:
                line = await self._next()
            except EndOfInput:
                return
            if line in ("/salir", "/exit", "/quit"):
                return
            if line:
                await self.handle(line)

    async def handle(self, line: str) -> None:
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        command = self._commands.get(words[0].lower()) if words else None
        if command is None:
            self.write("No conozco ese comando. Escriba /ayuda.")
            return
        try:
            await command(words[1:])
        except DomainError as exc:
            self.write(f"✗ {exc}")
        except EndOfInput:
            self.write("(fin de la entrada)")
            self.feed(None)  # let run() see the end too
        except Exception:  # a bug must not end the administrator's session
            log.exception("console command failed: %s", words[0])
            self.write("✗ Ocurrió un error inesperado; quedó registrado en el log.")

    # --- commands -----------------------------------------------------------------
    async def help(self, _: list[str]) -> None:
        self.write(HELP)

    async def new(self, _: list[str]) -> None:
        ref = await self.ask("Cliente: escriba su correo o teléfono (o parte del nombre).")
        customer = await self._customer_for(ref)
        channel = await self.choose("Canal:", [(c.label, c) for c in Canal])
        description = await self.ask("Describa la incidencia:")
        tipo = await self.choose("Tipo_Incidencia:", _TIPOS + [("Todavía no", None)])
        prioridad = await self.choose("Prioridad:", _PRIORIDADES + [("Todavía no", None)])
        confirm = await self.choose(
            f"¿Crear el ticket para {customer.display} por {channel.label}?",
            [("Sí, crear", True), ("No", False)])
        if not confirm:
            self.write("No se creó nada.")
            return
        ticket = await self.s.tickets.open(self.actor, customer_id=customer.id, channel=channel,
                                           description=description, tipo=tipo,
                                           prioridad=prioridad)
        self.write("✓ Ticket creado.\n" + render.card(ticket, self.s.clock.now(), self.s.settings))

    async def _customer_for(self, ref: str) -> CustomerView:
        found = await self.s.customers.search(ref, limit=5)
        if "@" in ref or any(ch.isdigit() for ch in ref):
            try:
                return await self.s.customers.find(ref)
            except DomainError:
                name = await self.ask("Cliente nuevo. Nombre (o Enter para dejarlo vacío):",
                                      allow_empty=True)
                kind = {"email": ref} if "@" in ref else {"phone": ref}
                return await self.s.customers.find_or_create(name=name, **kind)
        if not found:
            raise InvalidInput("No encontré clientes con ese nombre; use su correo o teléfono.")
        return await self.choose("¿Cuál?", [(f"{c.display} {c.contact}", c) for c in found])

    async def list_tickets(self, args: list[str]) -> None:
        f, page = TicketFilter(), 1
        for arg in args:
            if arg.isdigit():
                page = int(arg)
            elif arg.lower() in ("mios", "míos"):
                f = TicketFilter(assignee_id=self.actor.member.id if self.actor.member else None)
            elif arg.lower() == "vencidos":
                f = TicketFilter(overdue=True)
            else:
                f = TicketFilter(estado=_estado(arg))
        result = await self.s.queries.list(f, page=page, per_page=10)
        if not result.items:
            self.write("No hay tickets que mostrar.")
            return
        now = self.s.clock.now()
        self.write("\n".join(render.row(t, now, self.s.settings) for t in result.items)
                   + f"\nPágina {result.page} de {result.pages} ({count_tickets(result.total)})")

    async def show(self, args: list[str]) -> None:
        number = _number(args)
        ticket = await self.s.queries.get(number)
        history = await self.s.queries.history(number, limit=15)
        self.write(render.card(ticket, self.s.clock.now(), self.s.settings) + "\nHistorial:\n"
                   + "\n".join(render.history_line(i, self.s.settings) for i in history))

    async def classify(self, args: list[str]) -> None:
        number = _number(args)
        words = [w.lower() for w in args[1:]]
        tipo = next((t for t in TipoIncidencia if t.value.lower() in words), None)
        prioridad = next((p for p in Prioridad if p.value.lower() in words), None)
        if tipo is None and prioridad is None:
            tipo = await self.choose("Tipo_Incidencia:", _TIPOS)
            prioridad = await self.choose("Prioridad:", _PRIORIDADES)
        ticket = await self.s.tickets.classify(self.actor, number, tipo=tipo, prioridad=prioridad)
        self.write("✓ Clasificado.\n" + render.card(ticket, self.s.clock.now(), self.s.settings))

    async def assign(self, args: list[str]) -> None:
        number = _number(args)
        if len(args) > 1:
            member = await self.s.team.find(" ".join(args[1:]))
        else:
            members = await self.s.team.list()
            member = await self.choose("¿A quién?", [(f"{m.name} ({m.role.value})", m)
                                                     for m in members])
        ticket = await self.s.tickets.assign(self.actor, number, member.id)
        self.write(f"✓ #{number} asignado a {member.name}.\n"
                   + render.card(ticket, self.s.clock.now(), self.s.settings))

    async def reply(self, args: list[str]) -> None:
        number = _number(args)
        ticket = await self.s.queries.get(number)
        names = self.s.replies.templates_for(ticket)
        template = _template(args[1]) if len(args) > 1 else await self.choose(
            "¿Qué plantilla?", [(TEMPLATE_TITLES[n], n) for n in names])
        detalle = await self.ask("Detalle para el cliente (Enter para ninguno):", allow_empty=True)
        draft = await self.s.replies.draft(self.actor, number, template, detalle)
        preview = draft.message.whatsapp if draft.channel is Canal.WHATSAPP else draft.message.text
        self.write(f"Vista previa ({draft.channel.label} a {draft.recipient}):\n{preview}")
        if draft.notice:
            self.write(f"⚠ {draft.notice}")
        options: list[tuple[str, str]] = [("Enviar", "send"), ("Cancelar", "cancel")]
        if draft.free_text_allowed:
            options.insert(1, ("Editar el texto", "edit"))
        action = await self.choose("¿Enviar?", options)
        if action == "cancel":
            self.write("No se envió nada.")
            return
        text = await self.ask("Escriba el texto completo:") if action == "edit" else ""
        ticket = await self.s.tickets.reply(self.actor, number, template=template, text=text,
                                            detalle=detalle)
        self.write(f"✓ Respuesta en cola para el cliente. Estado: {ticket.estado.value}.")

    async def note(self, args: list[str]) -> None:
        number = _number(args)
        text = " ".join(args[1:]) or await self.ask("Texto de la nota:")
        await self.s.tickets.note(self.actor, number, text)
        self.write(f"✓ Nota agregada a #{number}.")

    async def propose(self, args: list[str]) -> None:
        number = _number(args)
        detalle = " ".join(args[1:]) or await self.ask("Describa la solución para el cliente:")
        ticket = await self.s.tickets.propose(self.actor, number, detalle=detalle)
        self.write(f"✓ Solicitud de conformidad enviada. Estado: {ticket.estado.value}.")

    async def conformity(self, args: list[str]) -> None:
        number = _number(args)
        answer = args[1].lower() if len(args) > 1 else await self.choose(
            "¿Qué respondió el cliente?", [("Conforme", "si"), ("Sigue pendiente", "no")])
        if answer in ("si", "sí", "conforme"):
            ticket = await self.s.tickets.confirm(self.actor, number)
            when = local(ticket.resolved_at, self.s.settings.zone) if ticket.resolved_at \
                else ""
            self.write(f"✓ #{number} Resuelto. Fecha_Resolucion: {when}.")
        else:
            ticket = await self.s.tickets.reject(self.actor, number)
            self.write(f"✓ #{number} vuelve a {ticket.estado.value}.")

    async def reopen(self, args: list[str]) -> None:
        number = _number(args)
        ticket = await self.s.tickets.reopen(self.actor, number, " ".join(args[1:]))
        self.write(f"✓ #{number} reabierto: {ticket.estado.value}.")

    async def discard(self, args: list[str]) -> None:
        number = _number(args)
        reason = " ".join(args[1:]) or await self.ask("Motivo para descartarlo:")
        await self.s.tickets.discard(self.actor, number, reason)
        self.write(f"✓ #{number} descartado.")

    async def search(self, args: list[str]) -> None:
        found = await self.s.queries.search(" ".join(args))
        now = self.s.clock.now()
        self.write("\n".join(render.row(t, now, self.s.settings) for t in found)
                   or "No encontré tickets.")

    async def customer(self, args: list[str]) -> None:
        await customers.show(self, args)

    async def customer_edit(self, args: list[str]) -> None:
        await customers.edit(self, args)

    async def merge(self, args: list[str]) -> None:
        await customers.merge(self, args)


class ConsoleSender:
    """Shows outbound customer messages as they would be sent (console mode)."""

    def __init__(self, write: Write) -> None:
        self.write = write

    async def send(self, message: OutboundMessage) -> SendResult:
        self.write(render.outbound(message))
        return SendResult(provider_id=f"console-{message.idempotency_key}")


# --- parsing helpers -----------------------------------------------------------------
_TIPOS = [(t.value, t) for t in TipoIncidencia]
_PRIORIDADES = [(p.value, p) for p in Prioridad]


def _pick(answer: str, options: Sequence[tuple[str, T]]) -> int | None:
    """The index of the option picked by number or by name (an option's value may itself
    be None, "Todavía no", so the index, not the value, says whether one was picked)."""
    if answer.isdigit() and 1 <= int(answer) <= len(options):
        return int(answer) - 1
    for index, (label, _) in enumerate(options):
        if label.lower() == answer.lower():
            return index
    return None


def _number(args: list[str]) -> int:
    if not args or not args[0].lstrip("#").isdigit():
        raise InvalidInput("Indique el número del ticket, por ejemplo: 12")
    return int(args[0].lstrip("#"))


def _estado(word: str) -> Estado:
    for e in Estado:
        if e.value.lower().replace(" ", "") == word.lower().replace(" ", "").replace("_", ""):
            return e
    raise InvalidInput(f"No conozco el estado «{word}». Estados: "
                       + ", ".join(e.value for e in Estado))


def _template(word: str) -> TemplateName:
    for name in TemplateName:
        if word.lower() in (name.value, TEMPLATE_TITLES[name].lower()):
            return name
    raise InvalidInput(f"No conozco la plantilla «{word}».")
