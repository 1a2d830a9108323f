"""The ticket life: one service that every front end uses.

Each operation is one unit of work (``bot/tickets/work.py``): who may do it, the row
lock, the version the person saw, whether the Estado allows it, every change recorded as
an interaction (who, what, old -> new), the save, and one event after the commit. What
remains here is what differs between operations. Customer messages are drafted and
queued by ``bot/tickets/replies.py`` inside the same unit, so they leave only if it commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.calendar import sla
from bot.process.domain import (
    Canal,
    ConformityKind,
    Estado,
    InteractionKind,
    Prioridad,
    TipoIncidencia,
)
from bot.process.errors import InvalidInput, MemberNotFound, NotAllowed, StaleAction
from bot.process.events import EventKind
from bot.process.template_names import TemplateName
from bot.process.views import Actor, InteractionView, TicketView
from bot.storage.attachments import NewAttachment
from bot.storage.inserts import build, save_new
from bot.storage.prepared import PreparedSelect
from bot.tickets.lifecycle import Action, check_allowed, refuse
from bot.tickets.replies import Replies
from bot.tickets.work import TicketUnit, TicketWork
from bot.triage.service import TriageService
from db.models import Customer, Interaction, TeamMember, Ticket

log = logging.getLogger(__name__)

# Templates after which the ticket waits for the customer (and the clock may pause).
WAITING_TEMPLATES = frozenset({TemplateName.INFO_REQUEST})


class TicketService:
    def __init__(self, work: TicketWork, replies: Replies, triage: TriageService) -> None:
        self._work = work
        self._replies = replies
        self._triage = triage
        self._settings = work.settings

    @property
    def work(self) -> TicketWork:
        """The unit of work, for the few services that change a ticket in their own
        words (NocoDB edits coming back)."""
        return self._work

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
        view, _ = await self.open_with_message(
            actor, customer_id=customer_id, channel=channel, description=description,
            subject=subject, tipo=tipo, prioridad=prioridad, assignee_id=assignee_id,
            external_id=external_id, attachments=attachments, previous_ticket=previous_ticket,
            created_at=created_at, meta=meta)
        return view

    async def open_with_message(
            self, actor: Actor, *, customer_id: int, channel: Canal, description: str,
            subject: str = "", tipo: TipoIncidencia | None = None,
            prioridad: Prioridad | None = None, assignee_id: int | None = None,
            external_id: str | None = None, attachments: Sequence[NewAttachment] = (),
            previous_ticket: int | None = None, created_at: datetime | None = None,
            meta: dict[str, Any] | None = None, customer: Customer | None = None,
            default_assignee: TeamMember | None = None, admin_read: bool = False,
    ) -> tuple[TicketView, InteractionView]:
        """``open``, also returning the first interaction as published (the intake shows
        it); ``customer``: the row of ``customer_id`` when the caller holds it already;
        ``default_assignee``: the administrator as the caller has just read it, and
        ``admin_read`` says it did (then None means there is none: not read again)."""
        if actor.member is not None:
            check_allowed(Action.NOTE, actor)
        description = description.strip()
        if not description and not attachments:
            raise InvalidInput("Describa la incidencia: la descripción no puede estar vacía.")
        now = created_at or self._work.clock.now()
        due = sla.deadlines(now, self._settings)
        async with self._work.new(actor) as uow:
            if customer is None or customer.id != customer_id:
                customer = await Customer.get_or_none(id=customer_id)
            if customer is None:
                raise InvalidInput(f"No existe el cliente {customer_id}.")
            assignee = default_assignee if assignee_id is None and (
                default_assignee is not None or admin_read) \
                else await self._default_assignee(assignee_id)
            # A ticket the team opens (after a phone call) is not the customer writing:
            # WhatsApp's 24-hour window runs from their last real message, if any.
            heard = now if actor.member is None else await _last_heard(customer)
            ticket = build(
                Ticket, customer=customer, channel=channel,
                subject=(subject.strip() or _subject_from(description))[:300],
                description=description, tipo=tipo, prioridad=prioridad, assignee=assignee,
                created_at=now, updated_at=now, first_response_due=due.first_response,
                resolution_due=due.resolution, resolution_clock_since=now,
                last_customer_message_at=heard if channel in (Canal.EMAIL, Canal.WHATSAPP) else None,
                previous_ticket_id=previous_ticket,
            )
            # Written once, with the suggested Tipo/Prioridad (issue 16) and the reminder plan.
            applied = self._triage.suggest_into(ticket)
            await self._work.plan(ticket)
            uow.ticket = await save_new(ticket)
            uow.interaction = await uow.record(
                InteractionKind.INBOUND, description, external_id=external_id,
                author_name=customer.name or customer.email or customer.phone or "Cliente",
                meta={**(meta or {}), "opened_by": actor.name})
            await uow.attach(uow.interaction, attachments)
            await self._triage.record_applied(ticket, applied)
            log.info("ticket opened ticket=#%s channel=%s by=%s", uow.ticket.id, channel.value,
                     actor.for_log)
        assert uow.interaction_view is not None
        return _shown(uow), uow.interaction_view

    async def _default_assignee(self, assignee_id: int | None) -> TeamMember | None:
        if assignee_id is not None:
            member = await TeamMember.get_or_none(id=assignee_id, active=True)
            if member is None:
                raise MemberNotFound(str(assignee_id))
            return member
        return await _ADMIN.first()  # asked for every new ticket: SQL built once

    # --- triage ---------------------------------------------------------------------
    async def classify(self, actor: Actor, number: int, *, tipo: TipoIncidencia | None = None,
                       prioridad: Prioridad | None = None,
                       expected_version: int | None = None) -> TicketView:
        unit = self._work.begin(actor, number, Action.CLASSIFY, expected_version)
        if tipo is None and prioridad is None:
            raise InvalidInput("Indique el Tipo_Incidencia, la Prioridad o ambos.")
        async with unit as uow:
            ticket = uow.ticket
            if tipo is not None and ticket.tipo != tipo:
                await uow.change("Tipo_Incidencia", ticket.tipo, tipo)
                ticket.tipo = tipo
            if prioridad is not None and ticket.prioridad != prioridad:
                await uow.change("Prioridad", ticket.prioridad, prioridad)
                ticket.prioridad = prioridad
            uow.save = bool(uow.changes)
            if uow.changes:
                await self._triage.on_classify(ticket, actor)  # a labelled example
        log.info("ticket classified ticket=#%s by=%s %s", number, actor.for_log, uow.changes)
        return _shown(uow)

    async def assign(self, actor: Actor, number: int, member_id: int,
                     expected_version: int | None = None) -> TicketView:
        """Agents may take unassigned tickets or pass on their own; only the
        administrator reassigns someone else's."""
        async with self._work.begin(actor, number, Action.ASSIGN, expected_version) as uow:
            current = uow.ticket.assignee
            if (not actor.is_admin and current is not None and actor.member is not None
                    and current.id != actor.member.id):
                refuse(Action.ASSIGN, actor, "reassigning someone else's ticket", number)
                raise NotAllowed("Solo el administrador puede reasignar un ticket asignado a "
                                 "otra persona.")
            member = await TeamMember.get_or_none(id=member_id, active=True)
            if member is None:
                raise MemberNotFound(str(member_id))
            if current is None or current.id != member.id:
                await uow.change("Responsable", current.name if current else None, member.name,
                                 {"assignee_id": member.id})
                uow.ticket.assignee = member
            if uow.ticket.estado == Estado.NEW:
                await uow.set_estado(Estado.IN_PROGRESS)
            uow.save = bool(uow.changes)
        log.info("ticket assigned ticket=#%s to=%s by=%s", number, member.name, actor.for_log)
        return _shown(uow)

    # --- customer messages ------------------------------------------------------------
    async def reply(self, actor: Actor, number: int, *, template: TemplateName | None = None,
                    text: str = "", detalle: str = "", wait_for_customer: bool | None = None,
                    expected_version: int | None = None, automatic: bool = False) -> TicketView:
        """Send a message to the customer: a standard template (optionally with the
        agent's ``detalle``, or fully edited ``text``) or free text."""
        unit = self._work.begin(actor, number, Action.REPLY, expected_version,
                                event=EventKind.OUTBOUND, check_role=not automatic)
        if template is None and not text.strip():
            raise InvalidInput("El mensaje al cliente no puede estar vacío.")
        async with unit as uow:
            uow.interaction = await self._replies.send(uow, template, text, detalle, automatic)
            waits = wait_for_customer if wait_for_customer is not None else \
                template in WAITING_TEMPLATES
            if not automatic and uow.ticket.estado == Estado.NEW:
                await uow.set_estado(Estado.IN_PROGRESS)
            if waits and Estado(uow.ticket.estado) in (Estado.NEW, Estado.IN_PROGRESS):
                await uow.set_estado(Estado.WAITING_CUSTOMER)
        log.info("reply queued ticket=#%s template=%s by=%s", number,
                 template.value if template else "-", actor.for_log)
        return _shown(uow)

    async def note(self, actor: Actor, number: int, text: str,
                   expected_version: int | None = None) -> TicketView:
        """An internal note: never reaches the customer."""
        unit = self._work.begin(actor, number, Action.NOTE, expected_version,
                                event=EventKind.NOTE)
        if not text.strip():
            raise InvalidInput("La nota no puede estar vacía.")
        async with unit as uow:
            uow.interaction = await uow.record(InteractionKind.NOTE, text.strip())
        log.info("note added ticket=#%s by=%s", number, actor.for_log)
        return _shown(uow)

    async def wait_for_customer(self, actor: Actor, number: int,
                                expected_version: int | None = None) -> TicketView:
        async with self._work.begin(actor, number, Action.WAIT, expected_version) as uow:
            await uow.set_estado(Estado.WAITING_CUSTOMER)
        return _shown(uow)

    # --- resolution -------------------------------------------------------------------
    async def propose(self, actor: Actor, number: int, detalle: str = "",
                      text: str = "", expected_version: int | None = None) -> TicketView:
        """Send the conformity request; the resolution clock stops while we wait."""
        async with self._work.begin(actor, number, Action.PROPOSE, expected_version,
                                    event=EventKind.OUTBOUND) as uow:
            uow.ticket.conformity_requested_at = uow.now
            uow.ticket.conformity_reminded_at = None
            uow.interaction = await self._replies.send(
                uow, TemplateName.CONFORMITY_REQUEST, text, detalle, kind="conformity_request")
            await uow.set_estado(Estado.PENDING_CONFORMITY)
        log.info("resolution proposed ticket=#%s by=%s", number, actor.for_log)
        return _shown(uow)

    async def confirm(self, actor: Actor, number: int,
                      kind: ConformityKind = ConformityKind.EXPLICIT,
                      expected_version: int | None = None) -> TicketView:
        """The customer confirmed the fix: Resuelto, with Fecha_Resolucion."""
        async with self._work.begin(actor, number, Action.CONFIRM, expected_version) as uow:
            ticket, now = uow.ticket, uow.now
            ticket.resolved_at = now
            ticket.conformity_kind = kind
            if kind is ConformityKind.EXPLICIT:
                ticket.customer_confirmed_at = now
            await uow.set_estado(Estado.RESOLVED, reason=kind.label)
            await uow.change("Fecha_Resolucion", None, now, {"conformity": kind.value})
            await self._send_closure(uow, kind)
        log.info("ticket resolved ticket=#%s conformity=%s by=%s", number, kind.value,
                 actor.for_log)
        return _shown(uow)

    async def _send_closure(self, uow: TicketUnit, kind: ConformityKind) -> Interaction | None:
        """The closing message, queued with the change. A customer who cannot be reached
        (no address, WhatsApp window closed without an approved template) does not keep
        the ticket open: the history says why no closing message went out."""
        try:
            return await self._replies.send(
                uow, TemplateName.CLOSURE, automatic=True, kind="closure",
                closed_without_answer=kind is ConformityKind.NO_ANSWER)
        except InvalidInput as exc:
            await uow.record(InteractionKind.NOTE, f"No se envió el mensaje de cierre: {exc}")
            return None

    async def reject(self, actor: Actor, number: int, reason: str = "",
                     expected_version: int | None = None) -> TicketView:
        """The customer says it is not fixed: back to En proceso, the clock resumes."""
        async with self._work.begin(actor, number, Action.REJECT, expected_version) as uow:
            uow.ticket.conformity_requested_at = None
            await uow.set_estado(Estado.IN_PROGRESS,
                                 reason=reason or "el cliente indica que sigue pendiente")
        return _shown(uow)

    async def reopen(self, actor: Actor, number: int, reason: str = "",
                     expected_version: int | None = None) -> TicketView:
        async with self._work.begin(actor, number, Action.REOPEN, expected_version) as uow:
            ticket = uow.ticket
            old_resolved = ticket.resolved_at
            ticket.resolved_at = None
            ticket.customer_confirmed_at = None
            ticket.conformity_kind = None
            ticket.conformity_requested_at = None
            ticket.discard_reason = None
            if old_resolved:
                await uow.change("Fecha_Resolucion", old_resolved, None)
            await uow.set_estado(Estado.IN_PROGRESS, reason=reason or "reabierto")
        log.info("ticket reopened ticket=#%s by=%s", number, actor.for_log)
        return _shown(uow)

    async def record_inbound(self, actor: Actor, number: int, *, channel: Canal, body: str,
                             author: str, external_id: str | None = None,
                             meta: dict[str, Any] | None = None,
                             attachments: Sequence[NewAttachment] = (),
                             automatic: bool = False, third_party: bool = False,
                             current: Ticket | None = None,
                             ) -> tuple[TicketView, InteractionView]:
        """A message arrived on this ticket (the intake's one write on an existing ticket).

        A customer's message resumes a waiting ticket; an automatic one (auto-reply,
        bounce) and a third party's (someone who is not the customer) only join the
        history: they never change Estado. Raises ``IntegrityError`` on a duplicate id.
        ``current``: the ticket as the intake just read it (see ``TicketWork.begin``);
        if it changed since, the message is recorded on a fresh read instead.
        """
        fields: dict[str, Any] = dict(channel=channel, body=body, author=author,
                                      external_id=external_id, meta=meta,
                                      attachments=attachments, automatic=automatic,
                                      third_party=third_party)
        if current is not None:
            try:
                return await self._record_inbound(actor, number, current=current, **fields)
            except StaleAction:
                log.info("ticket changed while a message arrived ticket=#%s: read again",
                         number)
        return await self._record_inbound(actor, number, **fields)

    async def _record_inbound(self, actor: Actor, number: int, *, channel: Canal, body: str,
                              author: str, external_id: str | None,
                              meta: dict[str, Any] | None,
                              attachments: Sequence[NewAttachment], automatic: bool,
                              third_party: bool, current: Ticket | None = None,
                              ) -> tuple[TicketView, InteractionView]:
        kind = InteractionKind.THIRD_PARTY if third_party else InteractionKind.INBOUND
        unit = self._work.begin(actor, number, event=None if automatic
                                else EventKind.CUSTOMER_MESSAGE, current=current)
        async with unit as uow:
            uow.interaction = await uow.record(
                kind, body, channel=channel, author_name=author[:200], external_id=external_id,
                automatic=automatic, meta=dict(meta or {}))
            await uow.attach(uow.interaction, attachments)
            uow.save = not automatic and not third_party
            if uow.save:
                uow.ticket.last_customer_message_at = uow.now
                if uow.ticket.estado == Estado.WAITING_CUSTOMER:
                    await uow.set_estado(Estado.IN_PROGRESS, reason="el cliente respondió")
        assert uow.interaction_view is not None
        return _shown(uow), uow.interaction_view

    async def discard(self, actor: Actor, number: int, reason: str,
                      expected_version: int | None = None) -> TicketView:
        """Spam, duplicate, ...: needs a reason, and only the administrator does it."""
        unit = self._work.begin(actor, number, Action.DISCARD, expected_version)
        if not reason.strip():
            raise InvalidInput("Indique el motivo para descartar el ticket.")
        async with unit as uow:
            uow.ticket.discard_reason = reason.strip()
            await uow.set_estado(Estado.DISCARDED, reason=reason.strip())
        log.info("ticket discarded ticket=#%s by=%s", number, actor.for_log)
        return _shown(uow)


_ADMIN = PreparedSelect(TeamMember, lambda: TeamMember.filter(role="administrador",
                                                               active=True).limit(1), [])


# --- small pure helpers --------------------------------------------------------------
def _shown(uow: TicketUnit) -> TicketView:
    assert uow.view is not None, "a committed unit always holds its view"
    return uow.view


def _subject_from(description: str) -> str:
    first = description.strip().splitlines()[0] if description.strip() else "(sin asunto)"
    return first[:80] + ("…" if len(first) > 80 else "")


async def _last_heard(customer: Customer) -> datetime | None:
    """When the customer last wrote to us, on any of their tickets."""
    latest = await Ticket.filter(customer=customer, last_customer_message_at__isnull=False
                                 ).order_by("-last_customer_message_at").first()
    return latest.last_customer_message_at if latest else None
