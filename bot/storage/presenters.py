"""Model -> view conversion for tickets, interactions, customers and team members (the
only place that does it): every layer above hands out these views, never ORM rows."""

from __future__ import annotations

from collections.abc import Sequence

from bot.process.domain import (
    Canal,
    ConformityKind,
    DeliveryStatus,
    Estado,
    InteractionKind,
    Prioridad,
    Rol,
    TipoIncidencia,
)
from bot.process.greeting import derive_first_name
from bot.process.views import (
    AttachmentView,
    CustomerView,
    InteractionView,
    MemberView,
    SuggestionView,
    TicketView,
)
from db.models import Attachment, Customer, Interaction, TeamMember, Ticket


def member_view(member: TeamMember) -> MemberView:
    return MemberView(
        id=member.id,
        name=member.name,
        role=Rol(member.role),
        active=member.active,
        email=member.email,
        telegram_user_id=member.telegram_user_id,
        slack_user_id=member.slack_user_id,
    )


def customer_view(customer: Customer) -> CustomerView:
    typed = (customer.first_name or "").strip()
    return CustomerView(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        company=customer.company,
        notes=customer.notes,
        first_name=typed or derive_first_name(customer.name),
        first_name_derived=not typed,
        form_of_address=customer.form_of_address or "",
        rut=customer.rut,
    )


TICKET_RELATED = ("customer", "assignee")


def ticket_view(ticket: Ticket) -> TicketView:
    """Needs ``customer`` and ``assignee`` fetched (``select_related(*TICKET_RELATED)``)."""
    return TicketView(
        number=ticket.id,
        customer=customer_view(ticket.customer),
        channel=Canal(ticket.channel),
        subject=ticket.subject,
        description=ticket.description,
        tipo=TipoIncidencia(ticket.tipo) if ticket.tipo else None,
        prioridad=Prioridad(ticket.prioridad) if ticket.prioridad else None,
        estado=Estado(ticket.estado),
        assignee=member_view(ticket.assignee) if ticket.assignee else None,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        version=ticket.version,
        first_response_due=ticket.first_response_due,
        first_response_at=ticket.first_response_at,
        resolution_due=ticket.resolution_due,
        resolution_running=ticket.resolution_clock_since is not None,
        resolution_hours_used=ticket.resolution_hours_used,
        resolved_at=ticket.resolved_at,
        customer_confirmed_at=ticket.customer_confirmed_at,
        conformity_kind=ConformityKind(ticket.conformity_kind) if ticket.conformity_kind else None,
        conformity_requested_at=ticket.conformity_requested_at,
        discard_reason=ticket.discard_reason,
        last_customer_message_at=ticket.last_customer_message_at,
        previous_ticket=ticket.previous_ticket_id,
        suggestion=suggestion_view(ticket),
        csat_requested_at=ticket.csat_requested_at,
        csat_rating=ticket.csat_rating,
        csat_comment=ticket.csat_comment,
    )


def suggestion_view(ticket: Ticket) -> SuggestionView | None:
    """The stored triage suggestion (issue 16), reasons of both fields in one list."""
    if ticket.suggested_tipo is None and ticket.suggested_prioridad is None:
        return None
    stored = ticket.suggestion_reasons or {}
    reasons: list[str] = []
    for reason in list(stored.get("tipo", [])) + list(stored.get("prioridad", [])):
        if reason not in reasons:
            reasons.append(str(reason))
    return SuggestionView(
        tipo=TipoIncidencia(ticket.suggested_tipo) if ticket.suggested_tipo else None,
        prioridad=Prioridad(ticket.suggested_prioridad) if ticket.suggested_prioridad else None,
        tipo_confidence=ticket.suggested_tipo_confidence or 0.0,
        prioridad_confidence=ticket.suggested_prioridad_confidence or 0.0,
        reasons=tuple(reasons), source=str(stored.get("source", "")))


def attachment_view(a: Attachment) -> AttachmentView:
    return AttachmentView(a.id, a.filename, a.content_type, a.size, a.sha256, a.stored_path,
                          a.note)


def interaction_view(i: Interaction, attachments: Sequence[Attachment] | None = None) -> InteractionView:
    return InteractionView(
        id=i.id,
        ticket_number=i.ticket_id,
        kind=InteractionKind(i.kind),
        channel=Canal(i.channel),
        author_name=i.author_name,
        body=i.body,
        created_at=i.created_at,
        template=i.template,
        external_id=i.external_id,
        delivery_status=DeliveryStatus(i.delivery_status) if i.delivery_status else None,
        automatic=i.automatic,
        field=i.field,
        old_value=i.old_value,
        new_value=i.new_value,
        attachments=tuple(attachment_view(a) for a in attachments or ()),
        meta=dict(i.meta or {}),
    )
