"""The ticket life: one service that every front end uses.

Each operation runs in one transaction: it locks the ticket, checks who is asking and
whether the Estado allows it, changes the ticket, records every change as an
interaction (who, what, old -> new), queues any customer message in the outbox, and
publishes one event after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from bot import sla, ticket_clock
from bot.attachments import NewAttachment
from bot.cards import WHATSAPP_WINDOW
from bot.clock import Clock
from bot.domain import (
    Canal,
    ConformityKind,
    DeliveryStatus,
    Estado,
    InteractionKind,
    Prioridad,
    TipoIncidencia,
)
from bot.errors import InvalidInput, MemberNotFound, NotAllowed, StaleAction, TicketNotFound
from bot.events import EventBus, EventKind, TicketEvent
from bot.fitting import render_fitting
from bot.lifecycle import Action, check_allowed, check_legal, refuse
from bot.message_context import build_context
from bot.nocodb import queue as nocodb_queue
from bot.outbox import queue
from bot.presenters import TICKET_RELATED, interaction_view, ticket_view
from bot.settings import Settings
from bot.team import PLACEHOLDER_ADMIN_NAME
from bot.templates import (
    RenderedMessage,
    TemplateContext,
    TemplateName,
    TemplateRenderer,
    plain_message,
    text_to_html,
)
from bot.triage.service import TriageService
from bot.views import Actor, InteractionView, TicketView
from bot.whatsapp_templates import CLOSURE_WITHOUT_ANSWER, approved_template
from db.models import Attachment, Customer, Interaction, TeamMember, Ticket

log = logging.getLogger(__name__)

# Templates after which the ticket waits for the customer (and the clock may pause).
WAITING_TEMPLATES = frozenset({TemplateName.INFO_REQUEST})


@dataclass(frozen=True)
class OutgoingDraft:
    """What a reply would send, for a preview before the person confirms."""

    channel: Canal
    recipient: str
    message: RenderedMessage
    whatsapp_template: str | None  # set when only an approved template can go out
    free_text_allowed: bool
    notice: str = ""  # e.g. why only the approved template can be sent
    template_params: tuple[str, ...] = ()  # the approved template's body parameters


class TicketService:
    def __init__(self, settings: Settings, clock: Clock, bus: EventBus,
                 renderer: TemplateRenderer, wake_outbox: Any = None,
                 triage: TriageService | None = None) -> None:
        self._settings = settings
        self._clock = clock
        self._bus = bus
        self._renderer = renderer
        self._wake_outbox = wake_outbox or (lambda: None)
        self._triage = triage or TriageService(settings, clock)

    # --- helpers ------------------------------------------------------------------
    async def _locked(self, number: int, expected_version: int | None = None) -> Ticket:
        # Lock the row alone: PostgreSQL refuses FOR UPDATE across the outer join to
        # the (nullable) assignee, so relations are fetched after the lock.
        ticket = await Ticket.filter(id=number).select_for_update().first()
        if ticket is None:
            raise TicketNotFound(number)
        await ticket.fetch_related(*TICKET_RELATED)
        if expected_version is not None and ticket.version != expected_version:
            raise StaleAction(number)
        return ticket

    async def _record(self, ticket: Ticket, actor: Actor, kind: InteractionKind, body: str = "",
                      **fields: Any) -> Interaction:
        row = await Interaction.create(
            ticket=ticket, kind=kind, channel=fields.pop("channel", ticket.channel),
            author_member_id=actor.member.id if actor.member else None,
            author_name=fields.pop("author_name", actor.name), body=body,
            created_at=self._clock.now(), **fields)
        await nocodb_queue.interaction_changed(self._settings.nocodb_enabled, row, row.created_at)
        return row

    async def _change(self, ticket: Ticket, actor: Actor, label: str, old: object,
                      new: object, changes: list[tuple[str, str, str]],
                      meta: dict[str, Any] | None = None) -> None:
        """Record one field change in the history (who, what, old -> new)."""
        old_s, new_s = _text(old), _text(new)
        changes.append((label, old_s, new_s))
        await self._record(ticket, actor, InteractionKind.EVENT, field=label, old_value=old_s,
                           new_value=new_s, meta=meta or {})

    async def _set_estado(self, ticket: Ticket, actor: Actor, new: Estado,
                          changes: list[tuple[str, str, str]], reason: str = "") -> None:
        old = Estado(ticket.estado)
        if old is new:
            return
        now = self._clock.now()
        ticket.estado = new
        await self._change(ticket, actor, "Estado", old.value, new.value, changes,
                           {"reason": reason} if reason else None)
        moved = ticket_clock.apply_estado(ticket, new, now, self._settings)
        if moved:
            await self._change(ticket, actor, "Plazo de resolución", moved[0], moved[1], changes,
                               {"reason": f"el reloj de resolución se reanuda ({new.value})"})

    async def _save(self, ticket: Ticket) -> None:
        ticket.version += 1
        ticket.updated_at = self._clock.now()
        await ticket.save()

    async def _publish(self, kind: EventKind, number: int, actor: Actor,
                       interaction: Interaction | None = None,
                       changes: Sequence[tuple[str, str, str]] = ()) -> TicketView:
        ticket = await Ticket.get(id=number).select_related(*TICKET_RELATED)
        view = ticket_view(ticket)
        iview = None
        if interaction is not None:
            attachments = await Attachment.filter(interaction_id=interaction.id)
            iview = interaction_view(interaction, attachments)
        await self._bus.publish(TicketEvent(kind, view, actor, iview, tuple(changes)))
        return view

    # --- opening ------------------------------------------------------------------
    async def open(self, actor: Actor, *, customer_id: int, channel: Canal, description: str,
                   subject: str = "", tipo: TipoIncidencia | None = None,
                   prioridad: Prioridad | None = None, assignee_id: int | None = None,
                   external_id: str | None = None,
                   attachments: Sequence[NewAttachment] = (),
                   previous_ticket: int | None = None,
                   created_at: datetime | None = None,
                   meta: dict[str, Any] | None = None) -> TicketView:
        """Open a ticket; its first interaction is the customer's message (or the
        description the team typed). Assigned to the administrator unless told otherwise."""
        if actor.member is not None:
            check_allowed(Action.NOTE, actor)
        description = description.strip()
        if not description and not attachments:
            raise InvalidInput("Describa la incidencia: la descripción no puede estar vacía.")
        now = created_at or self._clock.now()
        due = sla.deadlines(now, self._settings)
        async with in_transaction():
            customer = await Customer.get_or_none(id=customer_id)
            if customer is None:
                raise InvalidInput(f"No existe el cliente {customer_id}.")
            assignee = await self._default_assignee(assignee_id)
            # A ticket the team opens (after a phone call) is not the customer writing:
            # WhatsApp's 24-hour window runs from their last real message, if any.
            heard = now if actor.member is None else await _last_heard(customer)
            ticket = await Ticket.create(
                customer=customer, channel=channel,
                subject=(subject.strip() or _subject_from(description))[:300],
                description=description, tipo=tipo, prioridad=prioridad, assignee=assignee,
                created_at=now, updated_at=now, first_response_due=due.first_response,
                resolution_due=due.resolution, resolution_clock_since=now,
                last_customer_message_at=heard if channel in (Canal.EMAIL, Canal.WHATSAPP) else None,
                previous_ticket_id=previous_ticket,
            )
            first = await self._record(
                ticket, actor, InteractionKind.INBOUND, description, external_id=external_id,
                author_name=customer.name or customer.email or customer.phone or "Cliente",
                meta={**(meta or {}), "opened_by": actor.name})
            await _attach(first, attachments)
            await self._triage.on_open(ticket)  # the suggested Tipo/Prioridad (issue 16)
        log.info("ticket opened ticket=#%s channel=%s by=%s", ticket.id, channel.value, actor.for_log)
        return await self._publish(EventKind.CREATED, ticket.id, actor, first)

    async def _default_assignee(self, assignee_id: int | None) -> TeamMember | None:
        if assignee_id is not None:
            member = await TeamMember.get_or_none(id=assignee_id, active=True)
            if member is None:
                raise MemberNotFound(str(assignee_id))
            return member
        return await TeamMember.get_or_none(role="administrador", active=True)

    # --- triage ---------------------------------------------------------------------
    async def classify(self, actor: Actor, number: int, *, tipo: TipoIncidencia | None = None,
                       prioridad: Prioridad | None = None,
                       expected_version: int | None = None) -> TicketView:
        check_allowed(Action.CLASSIFY, actor)
        if tipo is None and prioridad is None:
            raise InvalidInput("Indique el Tipo_Incidencia, la Prioridad o ambos.")
        changes: list[tuple[str, str, str]] = []
        async with in_transaction():
            ticket = await self._locked(number, expected_version)
            if tipo is not None and ticket.tipo != tipo:
                await self._change(ticket, actor, "Tipo_Incidencia", ticket.tipo, tipo, changes)
                ticket.tipo = tipo
            if prioridad is not None and ticket.prioridad != prioridad:
                await self._change(ticket, actor, "Prioridad", ticket.prioridad, prioridad,
                                   changes)
                ticket.prioridad = prioridad
            if changes:
                await self._save(ticket)
                await self._triage.on_classify(ticket, actor)  # a labelled example
        log.info("ticket classified ticket=#%s by=%s %s", number, actor.for_log, changes)
        return await self._publish(EventKind.UPDATED, number, actor, changes=changes)

    async def assign(self, actor: Actor, number: int, member_id: int,
                     expected_version: int | None = None) -> TicketView:
        """Agents may take unassigned tickets or pass on their own; only the
        administrator reassigns someone else's."""
        check_allowed(Action.ASSIGN, actor)
        changes: list[tuple[str, str, str]] = []
        async with in_transaction():
            ticket = await self._locked(number, expected_version)
            check_legal(Action.ASSIGN, number, Estado(ticket.estado))
            current = ticket.assignee
            if (not actor.is_admin and current is not None and actor.member is not None
                    and current.id != actor.member.id):
                refuse(Action.ASSIGN, actor, "reassigning someone else's ticket", number)
                raise NotAllowed("Solo el administrador puede reasignar un ticket asignado a "
                                 "otra persona.")
            member = await TeamMember.get_or_none(id=member_id, active=True)
            if member is None:
                raise MemberNotFound(str(member_id))
            if current is None or current.id != member.id:
                await self._change(ticket, actor, "Responsable",
                                   current.name if current else None, member.name, changes,
                                   {"assignee_id": member.id})
                ticket.assignee = member
            if ticket.estado == Estado.NEW:
                await self._set_estado(ticket, actor, Estado.IN_PROGRESS, changes)
            if changes:
                await self._save(ticket)
        log.info("ticket assigned ticket=#%s to=%s by=%s", number, member.name, actor.for_log)
        return await self._publish(EventKind.UPDATED, number, actor, changes=changes)

    # --- customer messages ------------------------------------------------------------
    def render(self, ticket: TicketView | Ticket, template: TemplateName, agent: str,
               detalle: str = "", closed_without_answer: bool = False) -> RenderedMessage:
        return render_fitting(self._renderer, template, self._context(
            ticket, template, agent, detalle, closed_without_answer))

    def _context(self, ticket: TicketView | Ticket, template: TemplateName, agent: str,
                 detalle: str, closed_without_answer: bool = False) -> TemplateContext:
        view = ticket if isinstance(ticket, TicketView) else ticket_view(ticket)
        return build_context(view, template, agent, detalle, self._settings,
                             self._clock.now(), closed_without_answer=closed_without_answer)

    def templates_for(self, ticket: TicketView) -> list[TemplateName]:
        return self._renderer.available(ticket.tipo)

    async def draft(self, actor: Actor, number: int, template: TemplateName,
                    detalle: str = "") -> OutgoingDraft:
        """The rendered message and where it would go, before anyone confirms."""
        check_allowed(Action.REPLY, actor)
        ticket = await Ticket.get_or_none(id=number).select_related(*TICKET_RELATED)
        if ticket is None:
            raise TicketNotFound(number)
        return self._draft(ticket, template, _signer(ticket, actor), detalle)

    def _draft(self, ticket: Ticket, template: TemplateName | None, agent: str,
               detalle: str, closed_without_answer: bool = False) -> OutgoingDraft:
        channel, recipient = self.route(ticket)
        rendered = (self.render(ticket, template, agent, detalle, closed_without_answer)
                    if template
                    else _free_text(ticket, detalle, agent, self._settings.company_name))
        approved = None
        params: tuple[str, ...] = ()
        free_ok = True
        notice = ""
        if channel is Canal.WHATSAPP and not self.window_open(ticket):
            free_ok = False
            found = approved_template(self._settings.whatsapp_templates, template,
                                      closed_without_answer)
            if found is not None and template is not None:
                approved = found.name
                params = self._renderer.parameters(
                    self._context(ticket, template, agent, detalle, closed_without_answer),
                    found.params)
            notice = ("La ventana de 24 horas de WhatsApp está cerrada: solo puede salir una "
                      "plantilla aprobada, con su texto fijo.")
        return OutgoingDraft(channel, recipient, rendered, approved, free_ok, notice, params)

    def window_open(self, ticket: Ticket) -> bool:
        last = ticket.last_customer_message_at
        return last is not None and self._clock.now() - last < WHATSAPP_WINDOW

    def route(self, ticket: Ticket) -> tuple[Canal, str]:
        """Reply on the ticket's own channel; else by email, else by WhatsApp."""
        customer = ticket.customer
        channel = Canal(ticket.channel)
        if channel is Canal.EMAIL and customer.email:
            return channel, customer.email
        if channel is Canal.WHATSAPP and customer.phone:
            return channel, customer.phone.lstrip("+")
        if customer.email:
            return Canal.EMAIL, customer.email
        if customer.phone:
            return Canal.WHATSAPP, customer.phone.lstrip("+")
        raise InvalidInput(f"El cliente del ticket #{ticket.id} no tiene correo ni teléfono: "
                           "no hay cómo hacerle llegar la respuesta.")

    async def reply(self, actor: Actor, number: int, *, template: TemplateName | None = None,
                    text: str = "", detalle: str = "", wait_for_customer: bool | None = None,
                    expected_version: int | None = None, automatic: bool = False) -> TicketView:
        """Send a message to the customer: a standard template (optionally with the
        agent's ``detalle``, or fully edited ``text``) or free text."""
        if not automatic:
            check_allowed(Action.REPLY, actor)
        if template is None and not text.strip():
            raise InvalidInput("El mensaje al cliente no puede estar vacío.")
        changes: list[tuple[str, str, str]] = []
        async with in_transaction():
            ticket = await self._locked(number, expected_version)
            check_legal(Action.REPLY, number, Estado(ticket.estado))
            interaction = await self._send(ticket, actor, template, text, detalle, automatic,
                                           changes)
            waits = wait_for_customer if wait_for_customer is not None else \
                template in WAITING_TEMPLATES
            if not automatic and ticket.estado == Estado.NEW:
                await self._set_estado(ticket, actor, Estado.IN_PROGRESS, changes)
            if waits and Estado(ticket.estado) in (Estado.NEW, Estado.IN_PROGRESS):
                await self._set_estado(ticket, actor, Estado.WAITING_CUSTOMER, changes)
            await self._save(ticket)
        self._wake_outbox()
        log.info("reply queued ticket=#%s template=%s by=%s", number,
                 template.value if template else "-", actor.for_log)
        return await self._publish(EventKind.OUTBOUND, number, actor, interaction, changes)

    async def _send(self, ticket: Ticket, actor: Actor, template: TemplateName | None,
                    text: str, detalle: str, automatic: bool,
                    changes: list[tuple[str, str, str]], kind: str = "message",
                    closed_without_answer: bool = False) -> Interaction:
        """Record the outbound interaction and queue its delivery (same transaction)."""
        draft = self._draft(ticket, template, _signer(ticket, actor), detalle,
                            closed_without_answer)
        rendered = draft.message
        edited = text.strip()
        if edited:
            rendered = _with_text(rendered, edited)
        whatsapp_template = None
        if not draft.free_text_allowed:
            if edited or template is None:
                raise InvalidInput(draft.notice + " Elija una plantilla, sin editarla.")
            if draft.whatsapp_template is None:
                key = CLOSURE_WITHOUT_ANSWER if closed_without_answer else template.value
                raise InvalidInput(draft.notice + f" La plantilla «{key}» no tiene "
                                   "una plantilla aprobada configurada "
                                   "(ATIENDE_WHATSAPP_TEMPLATES).")
            whatsapp_template = draft.whatsapp_template
        body = rendered.whatsapp if draft.channel is Canal.WHATSAPP else rendered.text
        now = self._clock.now()
        interaction = await self._record(
            ticket, actor, InteractionKind.OUTBOUND, body, channel=draft.channel,
            template=template.value if template else None, automatic=automatic,
            delivery_status=DeliveryStatus.PENDING,
            meta={"subject": rendered.subject, "approved_template": whatsapp_template,
                  "window_closed": not draft.free_text_allowed})
        last_in = await (Interaction.filter(ticket_id=ticket.id, channel=draft.channel,
                                            kind=InteractionKind.INBOUND,
                                            external_id__isnull=False)
                         .order_by("-id").first())
        refs = await (Interaction.filter(ticket_id=ticket.id, channel=draft.channel,
                                         external_id__isnull=False)
                      .order_by("id").values_list("external_id", flat=True))
        await queue(interaction, draft.channel, draft.recipient, {
            "customer_name": ticket.customer.name, "subject": rendered.subject,
            "text": rendered.text, "html": rendered.html, "whatsapp": rendered.whatsapp,
            "template": template.value if template else None, "kind": kind,
            "whatsapp_template": whatsapp_template,
            "template_params": list(draft.template_params),
            "in_reply_to": last_in.external_id if last_in else None,
            "references": list(refs)[-20:],
        }, now)
        if not automatic:
            ticket.last_team_message_at = now
            if ticket.first_response_at is None:
                ticket.first_response_at = now
                late = now > ticket.first_response_due
                await self._change(ticket, actor, "Primera respuesta", None, now, changes,
                                   {"late": late})
        return interaction

    async def note(self, actor: Actor, number: int, text: str) -> TicketView:
        """An internal note: never reaches the customer."""
        check_allowed(Action.NOTE, actor)
        if not text.strip():
            raise InvalidInput("La nota no puede estar vacía.")
        async with in_transaction():
            ticket = await self._locked(number)
            interaction = await self._record(ticket, actor, InteractionKind.NOTE, text.strip())
            await self._save(ticket)
        log.info("note added ticket=#%s by=%s", number, actor.for_log)
        return await self._publish(EventKind.NOTE, number, actor, interaction)

    async def wait_for_customer(self, actor: Actor, number: int) -> TicketView:
        check_allowed(Action.WAIT, actor)
        changes: list[tuple[str, str, str]] = []
        async with in_transaction():
            ticket = await self._locked(number)
            check_legal(Action.WAIT, number, Estado(ticket.estado))
            await self._set_estado(ticket, actor, Estado.WAITING_CUSTOMER, changes)
            await self._save(ticket)
        return await self._publish(EventKind.UPDATED, number, actor, changes=changes)

    # --- resolution -------------------------------------------------------------------
    async def propose(self, actor: Actor, number: int, detalle: str = "",
                      text: str = "", expected_version: int | None = None) -> TicketView:
        """Send the conformity request; the resolution clock stops while we wait."""
        check_allowed(Action.PROPOSE, actor)
        changes: list[tuple[str, str, str]] = []
        async with in_transaction():
            ticket = await self._locked(number, expected_version)
            check_legal(Action.PROPOSE, number, Estado(ticket.estado))
            now = self._clock.now()
            ticket.conformity_requested_at = now
            ticket.conformity_reminded_at = None
            interaction = await self._send(ticket, actor, TemplateName.CONFORMITY_REQUEST, text,
                                           detalle, False, changes, kind="conformity_request")
            await self._set_estado(ticket, actor, Estado.PENDING_CONFORMITY, changes)
            await self._save(ticket)
        self._wake_outbox()
        log.info("resolution proposed ticket=#%s by=%s", number, actor.for_log)
        return await self._publish(EventKind.OUTBOUND, number, actor, interaction, changes)

    async def confirm(self, actor: Actor, number: int,
                      kind: ConformityKind = ConformityKind.EXPLICIT,
                      expected_version: int | None = None) -> TicketView:
        """The customer confirmed the fix: Resuelto, with Fecha_Resolucion."""
        check_allowed(Action.CONFIRM, actor)
        changes: list[tuple[str, str, str]] = []
        async with in_transaction():
            ticket = await self._locked(number, expected_version)
            check_legal(Action.CONFIRM, number, Estado(ticket.estado))
            now = self._clock.now()
            ticket.resolved_at = now
            ticket.conformity_kind = kind
            if kind is ConformityKind.EXPLICIT:
                ticket.customer_confirmed_at = now
            await self._set_estado(ticket, actor, Estado.RESOLVED, changes, reason=kind.label)
            await self._change(ticket, actor, "Fecha_Resolucion", None, now, changes,
                               {"conformity": kind.value})
            await self._send_closure(ticket, actor, kind, changes)
            await self._save(ticket)
        self._wake_outbox()
        log.info("ticket resolved ticket=#%s conformity=%s by=%s", number, kind.value, actor.for_log)
        return await self._publish(EventKind.UPDATED, number, actor, changes=changes)

    async def _send_closure(self, ticket: Ticket, actor: Actor, kind: ConformityKind,
                            changes: list[tuple[str, str, str]]) -> Interaction | None:
        """The closing message, queued with the change. A customer who cannot be reached
        (no address, WhatsApp window closed without an approved template) does not keep
        the ticket open: the history says why no closing message went out."""
        try:
            return await self._send(ticket, actor, TemplateName.CLOSURE, "", "", True, changes,
                                    kind="closure",
                                    closed_without_answer=kind is ConformityKind.NO_ANSWER)
        except InvalidInput as exc:
            await self._record(ticket, actor, InteractionKind.NOTE,
                               f"No se envió el mensaje de cierre: {exc}")
            return None

    async def reject(self, actor: Actor, number: int, reason: str = "",
                     expected_version: int | None = None) -> TicketView:
        """The customer says it is not fixed: back to En proceso, the clock resumes."""
        check_allowed(Action.REJECT, actor)
        changes: list[tuple[str, str, str]] = []
        async with in_transaction():
            ticket = await self._locked(number, expected_version)
            check_legal(Action.REJECT, number, Estado(ticket.estado))
            ticket.conformity_requested_at = None
            await self._set_estado(ticket, actor, Estado.IN_PROGRESS, changes,
                                   reason=reason or "el cliente indica que sigue pendiente")
            await self._save(ticket)
        return await self._publish(EventKind.UPDATED, number, actor, changes=changes)

    async def reopen(self, actor: Actor, number: int, reason: str = "") -> TicketView:
        check_allowed(Action.REOPEN, actor)
        changes: list[tuple[str, str, str]] = []
        async with in_transaction():
            ticket = await self._locked(number)
            check_legal(Action.REOPEN, number, Estado(ticket.estado))
            old_resolved = ticket.resolved_at
            ticket.resolved_at = None
            ticket.customer_confirmed_at = None
            ticket.conformity_kind = None
            ticket.conformity_requested_at = None
            ticket.discard_reason = None
            if old_resolved:
                await self._change(ticket, actor, "Fecha_Resolucion", old_resolved, None, changes)
            await self._set_estado(ticket, actor, Estado.IN_PROGRESS, changes,
                                   reason=reason or "reabierto")
            await self._save(ticket)
        log.info("ticket reopened ticket=#%s by=%s", number, actor.for_log)
        return await self._publish(EventKind.UPDATED, number, actor, changes=changes)

    async def record_inbound(self, actor: Actor, number: int, *, channel: Canal, body: str,
                             author: str, external_id: str | None = None,
                             meta: dict[str, Any] | None = None,
                             attachments: Sequence[NewAttachment] = (),
                             automatic: bool = False, third_party: bool = False,
                             ) -> tuple[TicketView, InteractionView]:
        """A message arrived on this ticket (the intake's one write on an existing ticket).

        A customer's message resumes a waiting ticket; an automatic one (auto-reply,
        bounce) and a third party's (someone who is not the customer) only join the
        history: they never change Estado. Raises ``IntegrityError`` on a duplicate id.
        """
        changes: list[tuple[str, str, str]] = []
        kind = InteractionKind.THIRD_PARTY if third_party else InteractionKind.INBOUND
        async with in_transaction():
            ticket = await self._locked(number)
            row = await self._record(ticket, actor, kind, body, channel=channel,
                                     author_name=author[:200], external_id=external_id,
                                     automatic=automatic, meta=dict(meta or {}))
            await _attach(row, attachments)
            if not automatic and not third_party:
                ticket.last_customer_message_at = self._clock.now()
                if ticket.estado == Estado.WAITING_CUSTOMER:
                    await self._set_estado(ticket, actor, Estado.IN_PROGRESS, changes,
                                           reason="el cliente respondió")
                await self._save(ticket)
        files = await Attachment.filter(interaction_id=row.id) if attachments else []
        view = ticket_view(await Ticket.get(id=number).select_related(*TICKET_RELATED))
        iview = interaction_view(row, files)
        if not automatic:
            await self._bus.publish(TicketEvent(EventKind.CUSTOMER_MESSAGE, view, actor, iview,
                                                tuple(changes)))
        return view, iview

    async def discard(self, actor: Actor, number: int, reason: str) -> TicketView:
        """Spam, duplicate, ...: needs a reason, and only the administrator does it."""
        check_allowed(Action.DISCARD, actor)
        if not reason.strip():
            raise InvalidInput("Indique el motivo para descartar el ticket.")
        changes: list[tuple[str, str, str]] = []
        async with in_transaction():
            ticket = await self._locked(number)
            check_legal(Action.DISCARD, number, Estado(ticket.estado))
            ticket.discard_reason = reason.strip()
            await self._set_estado(ticket, actor, Estado.DISCARDED, changes, reason=reason.strip())
            await self._save(ticket)
        log.info("ticket discarded ticket=#%s by=%s", number, actor.for_log)
        return await self._publish(EventKind.UPDATED, number, actor, changes=changes)


# --- small pure helpers --------------------------------------------------------------
def _text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return str(getattr(value, "value", value))


def _subject_from(description: str) -> str:
    first = description.strip().splitlines()[0] if description.strip() else "(sin asunto)"
    return first[:80] + ("…" if len(first) > 80 else "")


def _signer(ticket: Ticket, actor: Actor) -> str:
    """Who signs a customer message: the team member who sends it; for automatic messages
    (closure, reminders) the ticket's assignee; never the system nor the placeholder
    administrator a fresh installation starts with (then the team signs alone)."""
    if actor.member is not None:
        name = actor.member.name
    elif ticket.assignee is not None and ticket.assignee.active:
        name = ticket.assignee.name
    else:
        return ""
    return "" if name == PLACEHOLDER_ADMIN_NAME else name


def _free_text(ticket: Ticket, text: str, agent: str, company: str) -> RenderedMessage:
    return plain_message(ticket.id, ticket.subject, text, agent, company)


def _with_text(rendered: RenderedMessage, text: str) -> RenderedMessage:
    """The person edited the preview: their words replace every text form."""
    return RenderedMessage(template=rendered.template, subject=rendered.subject, text=text,
                           html=text_to_html(text), whatsapp=text)


async def _attach(interaction: Interaction, attachments: Sequence[NewAttachment]) -> None:
    for a in attachments:
        await Attachment.create(interaction=interaction, filename=a.filename,
                                content_type=a.content_type, size=a.size, sha256=a.sha256,
                                stored_path=a.stored_path, note=a.note)


async def _last_heard(customer: Customer) -> datetime | None:
    """When the customer last wrote to us, on any of their tickets."""
    latest = await Ticket.filter(customer=customer, last_customer_message_at__isnull=False
                                 ).order_by("-last_customer_message_at").first()
    return latest.last_customer_message_at if latest else None
