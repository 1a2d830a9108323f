"""Plain, immutable results that services hand to front ends.

Front ends never see ORM objects: they get these snapshots and render them as cards,
messages or rows. Converting from models happens only here and in the services.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime

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
from bot.process.rut import format_rut

# Kept for the record (e.g. an email's whole original message), never posted to chats.
ARCHIVAL_NOTE = "Original completo, guardado para consulta."


@dataclass(frozen=True)
class MemberView:
    id: int
    name: str
    role: Rol
    active: bool = True
    email: str | None = None
    telegram_user_id: int | None = None
    slack_user_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Rol.ADMIN


@dataclass(frozen=True)
class Actor:
    """Who performs an operation: a team member, or the system on a channel's behalf.

    The system acts for the customer (a confirmation by email or a WhatsApp button) and
    for automatic jobs (closing an unanswered case); it never gets team permissions.
    """

    name: str
    member: MemberView | None = None

    @classmethod
    def of(cls, member: MemberView) -> Actor:
        return cls(name=member.name, member=member)

    @classmethod
    def system(cls, name: str = "Atiende") -> Actor:
        return cls(name=name)

    @property
    def for_log(self) -> str:
        """Who acted, as logs may say it: a team member's name, never a customer's (logs
        outlive an anonymisation)."""
        return self.member.name if self.member is not None else "no-miembro"

    @property
    def is_member(self) -> bool:
        return self.member is not None and self.member.active

    @property
    def is_admin(self) -> bool:
        return self.is_member and self.member is not None and self.member.is_admin


@dataclass(frozen=True)
class CustomerView:
    id: int
    name: str
    email: str | None
    phone: str | None
    company: str = ""
    notes: str = ""
    # issue 11: how to greet them, and the Chilean tax id (normalised "12345678-5")
    first_name: str = ""  # as typed by the team, or derived from ``name`` (see below)
    first_name_derived: bool = True  # True: nobody typed it, it is the name's first word
    form_of_address: str = ""  # "Sr.", "Sra.", ... or ""
    rut: str | None = None

    @property
    def display(self) -> str:
        """How a person recognises the customer in one short line."""
        return self.name or self.email or self.phone or f"Cliente {self.id}"

    @property
    def rut_display(self) -> str:
        """The RUT as Chileans write it ("12.345.678-5"), or ""."""
        if not self.rut:
            return ""
        return format_rut(self.rut)

    @property
    def contact(self) -> str:
        return " · ".join(part for part in (self.email, self.phone) if part)


@dataclass(frozen=True)
class CustomerChangeView:
    """One recorded edit or merge of a customer (issue 11)."""

    customer_id: int
    author_name: str
    field: str
    old_value: str
    new_value: str
    created_at: datetime


@dataclass(frozen=True)
class AttachmentView:
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    stored_path: str | None
    note: str = ""

    @property
    def archival(self) -> bool:
        """Kept for the record only (an email's original message): not posted to chats."""
        return self.note.startswith(ARCHIVAL_NOTE)


@dataclass(frozen=True)
class InteractionView:
    id: int
    ticket_number: int
    kind: InteractionKind
    channel: Canal
    author_name: str
    body: str
    created_at: datetime
    template: str | None = None
    external_id: str | None = None
    delivery_status: DeliveryStatus | None = None
    automatic: bool = False
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    attachments: tuple[AttachmentView, ...] = ()
    meta: dict[str, object] = dc_field(default_factory=dict, compare=False, hash=False)

    @property
    def chat_attachments(self) -> tuple[AttachmentView, ...]:
        """The files a chat should show (not the archival originals)."""
        return tuple(a for a in self.attachments if not a.archival)


@dataclass(frozen=True)
class SuggestionView:
    """What the quick analysis suggested on intake (issue 16), with why."""

    tipo: TipoIncidencia | None
    prioridad: Prioridad | None
    tipo_confidence: float = 0.0
    prioridad_confidence: float = 0.0
    reasons: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class TicketView:
    number: int
    customer: CustomerView
    channel: Canal
    subject: str
    description: str
    tipo: TipoIncidencia | None
    prioridad: Prioridad | None
    estado: Estado
    assignee: MemberView | None
    created_at: datetime
    updated_at: datetime
    version: int
    first_response_due: datetime
    first_response_at: datetime | None
    resolution_due: datetime
    resolution_running: bool
    resolution_hours_used: float
    resolved_at: datetime | None
    customer_confirmed_at: datetime | None
    conformity_kind: ConformityKind | None
    conformity_requested_at: datetime | None
    discard_reason: str | None
    last_customer_message_at: datetime | None
    previous_ticket: int | None = None
    # Satisfaction (CSAT) after closing: asked once, rated 1-5 with an optional comment.
    csat_requested_at: datetime | None = None
    csat_rating: int | None = None
    csat_comment: str | None = None
    suggestion: SuggestionView | None = None  # triage (issue 16)

    @property
    def suggested_tipo(self) -> TipoIncidencia | None:
        """The suggested type while nobody has decided one."""
        return self.suggestion.tipo if self.suggestion and self.tipo is None else None

    @property
    def suggested_prioridad(self) -> Prioridad | None:
        return self.suggestion.prioridad if self.suggestion and self.prioridad is None \
            else None

    @property
    def effective_prioridad(self) -> Prioridad | None:
        """Until a person decides, an Alta suggestion counts as Alta (reminders)."""
        if self.prioridad is None and self.suggested_prioridad is Prioridad.ALTA:
            return Prioridad.ALTA
        return self.prioridad

    @property
    def ref(self) -> str:
        return f"#{self.number}"

    @property
    def is_open(self) -> bool:
        return self.estado.is_open

    def first_response_overdue(self, now: datetime) -> bool:
        return self.first_response_at is None and self.is_open and now > self.first_response_due

    def resolution_overdue(self, now: datetime) -> bool:
        return self.resolution_running and now > self.resolution_due


@dataclass(frozen=True)
class Page:
    """One page of a listing, for chat pagination."""

    items: tuple[TicketView, ...]
    page: int
    pages: int
    total: int
