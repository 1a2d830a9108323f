"""Tortoise ORM models: the process's data (Clientes, Tickets, their history).

Only ``bot/`` services import this module; front ends get plain views instead. Nothing
here is SQLite-specific, so ``ATIENDE_DATABASE_URL=postgres://...`` works too. Table
names use the process's own words where the company sees them (clientes, tickets).
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

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

# ``_no_comments = True`` in every model: Tortoise would read each model's source for "#:"
# field comments (an AST parse of this whole module per class, about a fifth of a
# command's start-up); there are none here. Tortoise looks for it in the class's own
# body, so each model says it (as its own migration state models do).


class Customer(Model):
    """A customer (*Cliente*), found or created from an email address or a phone number."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, default="")
    email = fields.CharField(max_length=254, null=True, unique=True)  # normalised lower-case
    phone = fields.CharField(max_length=20, null=True, unique=True)  # E.164
    company = fields.CharField(max_length=200, default="")
    notes = fields.TextField(default="")
    created_at = fields.DatetimeField()
    # --- customer fields (issue 11: customers as one person across channels) ---
    first_name = fields.CharField(max_length=100, default="", db_default="")  # "" = derived from name
    form_of_address = fields.CharField(max_length=20, default="", db_default="")  # "Sr.", "Sra.", ...
    rut = fields.CharField(max_length=12, null=True, unique=True)  # normalised "12345678-5"

    class Meta:
        table = "clientes"


class TeamMember(Model):
    """Someone who works tickets. Exactly one active administrator is the default assignee."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    role = fields.CharEnumField(Rol, max_length=20)
    telegram_user_id = fields.BigIntField(null=True, unique=True)
    slack_user_id = fields.CharField(max_length=32, null=True, unique=True)
    email = fields.CharField(max_length=254, null=True, unique=True)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "equipo"


class Ticket(Model):
    """A ticket (*Ticket*). Its ``id`` is the human number shown as ``#123``."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    customer_id: int  # set by Tortoise beside the relation; typed
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="tickets", on_delete=fields.RESTRICT
    )
    channel = fields.CharEnumField(Canal, max_length=20)
    subject = fields.CharField(max_length=300, default="")
    description = fields.TextField(default="")
    tipo = fields.CharEnumField(TipoIncidencia, max_length=20, null=True)
    prioridad = fields.CharEnumField(Prioridad, max_length=10, null=True)
    estado = fields.CharEnumField(Estado, max_length=30, default=Estado.NEW, db_index=True)
    assignee_id: int | None  # set by Tortoise beside the relation; typed
    assignee: fields.ForeignKeyNullableRelation[TeamMember] = fields.ForeignKeyField(
        "models.TeamMember", related_name="tickets", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    # Bumped on every change: a stale chat button compares it and shows the fresh state.
    version = fields.IntField(default=1)

    first_response_due = fields.DatetimeField()
    first_response_at = fields.DatetimeField(null=True)
    resolution_due = fields.DatetimeField()
    # Business hours consumed while the clock ran, up to ``resolution_clock_since``.
    resolution_hours_used = fields.FloatField(default=0.0)
    # When the resolution clock last (re)started; NULL while paused or stopped.
    resolution_clock_since = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)  # Fecha_Resolucion
    customer_confirmed_at = fields.DatetimeField(null=True)
    # issue 11 (closing loop): "sin respuesta" is 13 characters (migration 0003)
    conformity_kind = fields.CharEnumField(ConformityKind, max_length=20, null=True)
    conformity_requested_at = fields.DatetimeField(null=True)
    conformity_reminded_at = fields.DatetimeField(null=True)
    discard_reason = fields.TextField(null=True)

    last_customer_message_at = fields.DatetimeField(null=True)
    last_team_message_at = fields.DatetimeField(null=True)
    # Reminders: the next instant something is due for this ticket (indexed, so the
    # due-reminder query costs the same with 100 or 1,000,000 tickets).
    next_reminder_at = fields.DatetimeField(null=True, db_index=True)
    # A message after the reopen window opens a new ticket linked to the old one.
    previous_ticket_id: int | None  # set by Tortoise beside the relation; typed
    previous_ticket: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="follow_ups", null=True, on_delete=fields.SET_NULL
    )
    # --- triage (issue 16): the suggested classification, until a person decides ---
    suggested_tipo = fields.CharEnumField(TipoIncidencia, max_length=20, null=True)
    suggested_prioridad = fields.CharEnumField(Prioridad, max_length=10, null=True)
    suggested_tipo_confidence = fields.FloatField(null=True)
    suggested_prioridad_confidence = fields.FloatField(null=True)
    # {"tipo": [...], "prioridad": [...], "source": "reglas"|"modelo"}: the words that drove it
    # (nullable: adding a NOT NULL column to a table with rows fails on SQLite)
    suggestion_reasons: fields.JSONField[Any] = fields.JSONField(null=True)

    # --- satisfaction (CSAT) after closing: asked once, answered 1-5 with a comment ---
    csat_requested_at = fields.DatetimeField(null=True)
    csat_rating = fields.SmallIntField(null=True)
    csat_comment = fields.TextField(null=True)
    csat_answered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "tickets"
        # a sender's latest ticket on a channel, at every message (bot/storage/sender_rows.py)
        indexes = (Index(fields=("customer_id", "channel"), name="ix_tickets_customer"),)


class Interaction(Model):
    """One row of a ticket's history, kept forever: messages, notes, state changes."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    ticket_id: int  # set by Tortoise beside the relation; typed
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="interactions", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(InteractionKind, max_length=10)
    channel = fields.CharEnumField(Canal, max_length=20)
    author_member_id: int | None  # set by Tortoise beside the relation; typed
    author_member: fields.ForeignKeyNullableRelation[TeamMember] = fields.ForeignKeyField(
        "models.TeamMember", related_name="interactions", null=True, on_delete=fields.SET_NULL
    )
    author_name = fields.CharField(max_length=200, default="")
    body = fields.TextField(default="")
    template = fields.CharField(max_length=60, null=True)
    # The channel's own id (Message-ID, wamid, ...): unique per channel, for de-duplication.
    external_id = fields.CharField(max_length=255, null=True)
    delivery_status = fields.CharEnumField(DeliveryStatus, max_length=12, null=True)
    automatic = fields.BooleanField(default=False)
    field = fields.CharField(max_length=40, null=True)
    old_value = fields.CharField(max_length=200, null=True)
    new_value = fields.CharField(max_length=200, null=True)
    meta: fields.JSONField[Any] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()

    class Meta:
        table = "interacciones"
        unique_together = (("channel", "external_id"),)
        indexes = (Index(fields=("ticket_id",), name="ix_interacciones_ticket"),)  # history


class Attachment(Model):
    """Metadata of a file that came with an interaction (the bytes live on disk)."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    interaction_id: int  # set by Tortoise beside the relation; typed
    interaction: fields.ForeignKeyRelation[Interaction] = fields.ForeignKeyField(
        "models.Interaction", related_name="attachments", on_delete=fields.CASCADE
    )
    filename = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=120, default="application/octet-stream")
    size = fields.BigIntField(default=0)
    sha256 = fields.CharField(max_length=64, default="")
    stored_path = fields.CharField(max_length=500, null=True)  # NULL: not kept (too big)
    note = fields.CharField(max_length=300, default="")

    class Meta:
        table = "adjuntos"
        indexes = (Index(fields=("interaction_id",), name="ix_adjuntos_interaction"),)


class OutboxMessage(Model):
    """A message to deliver, written in the same transaction as its interaction.

    The interaction id is the idempotency key: a crash between commit and delivery
    sends it later, never twice.
    """

    _no_comments = True

    id = fields.IntField(primary_key=True)
    interaction_id: int  # set by Tortoise beside the relation; typed
    interaction: fields.OneToOneRelation[Interaction] = fields.OneToOneField(
        "models.Interaction", related_name="outbox", on_delete=fields.CASCADE
    )
    channel = fields.CharEnumField(Canal, max_length=20)
    recipient = fields.CharField(max_length=254)
    payload: fields.JSONField[Any] = fields.JSONField(default=dict)
    status = fields.CharEnumField(DeliveryStatus, max_length=12, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    last_error = fields.TextField(default="")
    provider_id = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox"


class MessageRef(Model):
    """Maps a channel message id (e.g. an email Message-ID) to the ticket it belongs to.

    Kept for every id seen in Message-ID, In-Reply-To and References, so a reply that
    arrives before its parent still finds (or founds) the thread's ticket.
    """

    _no_comments = True

    id = fields.IntField(primary_key=True)
    ref = fields.CharField(max_length=255, unique=True)
    ticket_id: int  # set by Tortoise beside the relation; typed
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="message_refs", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "message_refs"


class ChatCard(Model):
    """Where a ticket's card was posted in a chat, so it is edited in place, not re-sent."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=20)
    ticket_id: int  # set by Tortoise beside the relation; typed
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="chat_cards", on_delete=fields.CASCADE
    )
    chat_id = fields.CharField(max_length=64)
    message_id = fields.CharField(max_length=64)
    thread_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "chat_cards"
        unique_together = (("platform", "ticket", "chat_id"),)


class KeyValue(Model):
    """Small persistent state for front ends (e.g. chat conversation state)."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    namespace = fields.CharField(max_length=60)
    key = fields.CharField(max_length=200)
    value: fields.JSONField[Any] = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "key_values"
        unique_together = (("namespace", "key"),)


class InviteCode(Model):
    """A one-time code that links a chat account to a team member."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    member: fields.ForeignKeyRelation[TeamMember] = fields.ForeignKeyField(
        "models.TeamMember", related_name="invites", on_delete=fields.CASCADE
    )
    member_id: int
    created_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invite_codes"


class SentReminder(Model):
    """A reminder that went out. The unique key makes sending it twice impossible."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=200, unique=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="reminders", on_delete=fields.CASCADE
    )
    ticket_id: int
    deadline = fields.CharField(max_length=40)
    threshold = fields.CharField(max_length=40)
    due_at = fields.DatetimeField()
    sent_at = fields.DatetimeField()
    recipients: fields.JSONField[Any] = fields.JSONField(default=list)

    class Meta:
        table = "sent_reminders"


# --- customer audit (issue 11: customer edits and merges, who and old -> new) ---
class CustomerChange(Model):
    """One change to a customer's data (an edit or a merge): who, what, old -> new.

    Kept apart from ticket history because a customer may have no ticket at all; a
    merge moves the dropped customer's changes to the kept one."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    customer_id: int  # set by Tortoise beside the relation; typed
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="changes", on_delete=fields.CASCADE)
    author_member: fields.ForeignKeyNullableRelation[TeamMember] = fields.ForeignKeyField(
        "models.TeamMember", related_name=False, null=True, on_delete=fields.SET_NULL)
    author_member_id: int | None
    author_name = fields.CharField(max_length=200)
    field = fields.CharField(max_length=40)
    old_value = fields.TextField(default="")
    new_value = fields.TextField(default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "clientes_cambios"


# --- triage (issue 16) ----------------------------------------------------------------
class TriageExample(Model):
    """A person's decision on a ticket that had a suggestion: the company's own label.

    One row per ticket (a later correction updates it), so the learner trains on what
    the team finally decided; ``accepted`` says whether the suggestion was kept as is.
    """

    _no_comments = True

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="triage_examples", null=True, unique=True,
        on_delete=fields.SET_NULL
    )
    ticket_id: int | None
    channel = fields.CharEnumField(Canal, max_length=20)
    subject = fields.CharField(max_length=300, default="")
    text = fields.TextField(default="")
    tipo = fields.CharEnumField(TipoIncidencia, max_length=20, null=True)
    prioridad = fields.CharEnumField(Prioridad, max_length=10, null=True)
    suggested_tipo = fields.CharEnumField(TipoIncidencia, max_length=20, null=True)
    suggested_prioridad = fields.CharEnumField(Prioridad, max_length=10, null=True)
    accepted = fields.BooleanField(default=False)
    source = fields.CharField(max_length=20, default="")
    member: fields.ForeignKeyNullableRelation[TeamMember] = fields.ForeignKeyField(
        "models.TeamMember", related_name="triage_examples", null=True,
        on_delete=fields.SET_NULL
    )
    member_id: int | None
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "triage_ejemplos"


# --- inbox and customer contacts (issue 10: a record you can trust) --------------------
class InboxItem(Model):
    """One inbound customer event, stored raw before we acknowledge it (the mirror of
    the outbox). ``key`` is the provider's id: a redelivery finds its row and is
    acknowledged again without being stored or processed twice."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=255, unique=True)  # e.g. "whatsapp:wamid.X"
    channel = fields.CharEnumField(Canal, max_length=20)
    kind = fields.CharField(max_length=30)  # which adapter translates it
    payload: fields.JSONField[Any] = fields.JSONField(default=dict)
    summary = fields.CharField(max_length=300, default="")  # sender / subject, for people
    status = fields.CharField(max_length=20, default="pendiente", db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    last_error = fields.TextField(default="")
    ticket_id_ref = fields.IntField(null=True)  # the ticket it landed on, once processed
    created_at = fields.DatetimeField()
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox"


class InboxRaw(Model):
    """The raw bytes of an inbox item (a whole email), apart: status updates of the item
    never rewrite megabytes."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    item: fields.OneToOneRelation[InboxItem] = fields.OneToOneField(
        "models.InboxItem", related_name="raw_bytes", on_delete=fields.CASCADE
    )
    item_id: int
    data = fields.BinaryField()

    class Meta:
        table = "inbox_raw"


class CustomerContact(Model):
    """Another address or phone that speaks for a customer (linked by the team)."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    customer_id: int  # set by Tortoise beside the relation; typed
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="contacts", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=10)  # "email" | "phone"
    value = fields.CharField(max_length=254, unique=True)  # normalised
    created_at = fields.DatetimeField()

    class Meta:
        table = "contactos_cliente"


# --- records: personal-data requests (issue 17) ------------------------------------------
class PersonalDataLog(Model):
    """Who exported or anonymised a person's data, when, and how much (Ley 21.719).

    Holds no personal value: the customer by id only, so the entry outlives the
    anonymisation it records.
    """

    _no_comments = True

    id = fields.IntField(primary_key=True)
    action = fields.CharField(max_length=20)  # "exportación" | "anonimización"
    customer_id = fields.IntField(db_index=True)
    actor = fields.CharField(max_length=200)
    tickets = fields.IntField(default=0)
    details: fields.JSONField[Any] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()

    class Meta:
        table = "registro_datos_personales"


# --- NocoDB sync (issue 12) ------------------------------------------------------------
class NocoSync(Model):
    """A customer, ticket or interaction that changed and must reach NocoDB.

    Appended in the same transaction as the change (never updated, so it never
    conflicts); the pusher coalesces rows of one record and deletes what it sent.
    """

    _no_comments = True

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=12)  # "cliente" | "ticket" | "interaccion"
    ref_id = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "nocodb_sync"


class NocoRow(Model):
    """Our record <-> its NocoDB row, and what we last wrote there (so our own writes
    are recognised when NocoDB's webhook echoes them back)."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=12)
    ref_id = fields.IntField()
    row_id = fields.IntField()
    pushed: fields.JSONField[Any] = fields.JSONField(default=dict)
    pushed_at = fields.DatetimeField()

    class Meta:
        table = "nocodb_rows"
        unique_together = (("kind", "ref_id"),)


# --- leases (issue 14: what runs on one instance at a time) ---------------------------
class Lease(Model):
    """Which instance runs a once-only loop (Telegram polling, the IMAP reader, the
    schedulers) and until when. Its holder renews it, another takes it once expired."""

    _no_comments = True

    name = fields.CharField(max_length=60, primary_key=True)
    holder = fields.CharField(max_length=120)
    acquired_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "leases"


# --- ticket events across instances (issue 14: bot/jobs/event_relay.py) --------------------
class TicketEventRow(Model):
    """A ticket event waiting for the instance that relays events to the chats. Stored
    after the change commits, claimed by the relay (``claimed_by``), deleted once shown:
    the table holds only what is in flight, so no customer data lingers in it."""

    _no_comments = True

    id = fields.BigIntField(primary_key=True)
    ticket_id = fields.IntField()
    kind = fields.CharField(max_length=30)
    actor_name = fields.CharField(max_length=200)
    actor_member_id = fields.IntField(null=True)
    interaction_id = fields.IntField(null=True)
    changes: fields.JSONField[Any] = fields.JSONField(default=list)
    created_at = fields.DatetimeField()
    claimed_by = fields.CharField(max_length=120, null=True)

    class Meta:
        table = "ticket_events"
