"""A message to the customer: drafted, rendered, and queued in the outbox.

Apart from the ticket's life (``bot/tickets/service.py``) because it answers other questions:
which channel and address reach the customer, whether WhatsApp's 24-hour window still
allows free text or only an approved template, what the person previews before
confirming, and the outbox payload each channel's sender reads. Queueing happens inside
the ticket's unit of work (``TicketUnit``), so the message goes out only if the change
commits, and exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.outgoing.fitting import render_fitting
from bot.outgoing.message_context import build_context
from bot.outgoing.outbox import queue
from bot.outgoing.templates import (
    RenderedMessage,
    TemplateContext,
    TemplateRenderer,
    plain_message,
    text_to_html,
)
from bot.people.team import PLACEHOLDER_ADMIN_NAME
from bot.process.clock import Clock
from bot.process.domain import WHATSAPP_WINDOW, Canal, DeliveryStatus, InteractionKind
from bot.process.errors import InvalidInput, TicketNotFound
from bot.process.settings import Settings
from bot.process.template_names import TemplateName
from bot.process.views import Actor, TicketView
from bot.process.whatsapp_templates import CLOSURE_WITHOUT_ANSWER, approved_template
from bot.storage.presenters import TICKET_RELATED, ticket_view
from bot.tickets.lifecycle import Action, check_allowed
from bot.tickets.work import TicketUnit
from db.models import Interaction, Ticket


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


class Replies:
    """Renders and routes customer messages; ``services.replies``."""

    def __init__(self, settings: Settings, clock: Clock, renderer: TemplateRenderer) -> None:
        self._settings = settings
        self._clock = clock
        self._renderer = renderer

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
        return self.draft_for(ticket, template, signer(ticket, actor), detalle)

    def draft_for(self, ticket: Ticket, template: TemplateName | None, agent: str,
                  detalle: str, closed_without_answer: bool = False) -> OutgoingDraft:
        channel, recipient = self.route(ticket)
        rendered = (self.render(ticket, template, agent, detalle, closed_without_answer)
                    if template
                    else plain_message(ticket.id, ticket.subject, detalle, agent,
                                       self._settings.company_name))
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

    async def send(self, uow: TicketUnit, template: TemplateName | None, text: str = "",
                   detalle: str = "", automatic: bool = False, kind: str = "message",
                   closed_without_answer: bool = False) -> Interaction:
        """Record the outbound interaction and queue its delivery (same transaction)."""
        ticket, actor = uow.ticket, uow.actor
        draft = self.draft_for(ticket, template, signer(ticket, actor), detalle,
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
        now = uow.now
        interaction = await uow.record(
            InteractionKind.OUTBOUND, body, channel=draft.channel,
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
        uow.queued = True
        if not automatic:
            ticket.last_team_message_at = now
            if ticket.first_response_at is None:
                ticket.first_response_at = now
                late = now > ticket.first_response_due
                await uow.change("Primera respuesta", None, now, {"late": late})
        return interaction


def signer(ticket: Ticket, actor: Actor) -> str:
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


def _with_text(rendered: RenderedMessage, text: str) -> RenderedMessage:
    """The person edited the preview: their words replace every text form."""
    return RenderedMessage(template=rendered.template, subject=rendered.subject, text=text,
                           html=text_to_html(text), whatsapp=text)
