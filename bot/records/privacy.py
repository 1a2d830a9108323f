"""Personal-data requests (Chile's Ley 21.719): everything held about one person, and
their anonymisation.

Export: one archive with ``datos.json`` (customer, tickets, interactions, attachment
metadata) and the files themselves. Anonymisation: the person's values in customers,
tickets, interactions (texts, author names, channel ids, metadata), outbox rows,
threading references and front-end state become placeholders; the ticket *figures*
stay (dates, Estado, Tipo_Incidencia, Prioridad, deadlines), so reports and SLA
figures do not change. Files and the database's free pages are dealt with afterwards
(``scrub.py``). Both are recorded in ``registro_datos_personales``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from bot.attachments import safe_filename
from bot.domain import DeliveryStatus, Estado, InteractionKind
from bot.errors import DomainError
from bot.records.archive import ArchiveWriter
from bot.records.people import personal_values, scrub_text
from db.models import (
    Attachment,
    Customer,
    CustomerChange,
    CustomerContact,
    InboxItem,
    InboxRaw,
    Interaction,
    KeyValue,
    MessageRef,
    NocoRow,
    NocoSync,
    OutboxMessage,
    PersonalDataLog,
    Ticket,
    TriageExample,
)

log = logging.getLogger(__name__)

TEXT = "[texto anonimizado]"
AUTHOR = "Cliente (anonimizado)"
ANONYMOUS_PREFIX = "Cliente anonimizado "
REMOVED = "Eliminado al anonimizar los datos del cliente."
# Metadata that describes the process, not the person: kept (then scrubbed anyway).
SAFE_META = frozenset({"reason", "conformity", "approved_template", "voice", "forwarded",
                       "wa_timestamp", "unsupported", "errors", "automatic"})


class OpenTickets(DomainError):
    def __init__(self, numbers: list[int]) -> None:
        refs = ", ".join(f"#{n}" for n in numbers)
        super().__init__(f"El cliente tiene tickets abiertos ({refs}): ciérrelos antes de "
                         "anonimizar, o fuerce la anonimización.")
        self.numbers = numbers


@dataclass
class AnonymisationResult:
    customer_id: int
    tickets: int
    interactions: int
    attachments: int
    forced_open: list[int]
    files_to_delete: list[str] = field(default_factory=list)
    files_deleted: int = 0
    files_shared: int = 0
    database_scrubbed: bool = False


def _iso(value: datetime | None, zone: ZoneInfo) -> str | None:
    return value.astimezone(zone).isoformat(timespec="seconds") if value else None


def _enum(value: Any) -> Any:
    return getattr(value, "value", value)


async def export_person(customer: Customer, target: Path, zone: ZoneInfo, actor: str,
                        now: datetime) -> Path:
    """Write ``datos-cliente-<id>-<date>.zip`` into ``target`` (a .zip: the person
    opens it on any computer); returns its path."""
    tickets = await Ticket.filter(customer_id=customer.id).order_by("id")
    interactions = await Interaction.filter(ticket_id__in=[t.id for t in tickets]).order_by("id")
    files = await Attachment.filter(interaction_id__in=[i.id for i in interactions]).order_by("id")
    by_interaction: dict[int, list[Attachment]] = {}
    for a in files:
        by_interaction.setdefault(a.interaction_id, []).append(a)
    stamp = now.astimezone(zone).strftime("%Y%m%d-%H%M%S")
    writer = ArchiveWriter(target / f"datos-cliente-{customer.id}-{stamp}.zip",
                           "personal-data", {"created_at": _iso(now, zone),
                                             "customer_id": customer.id})
    try:
        doc = {
            "generado": _iso(now, zone),
            "cliente": _customer_json(customer, zone),
            "tickets": [_ticket_json(t, zone, [i for i in interactions
                                               if i.ticket_id == t.id],
                                     by_interaction, writer) for t in tickets],
        }
        writer.add_bytes("datos.json", json.dumps(doc, ensure_ascii=False, indent=2).encode())
        path = writer.close()
    except BaseException:
        writer.abort()
        raise
    await PersonalDataLog.create(action="exportación", customer_id=customer.id, actor=actor,
                                 tickets=len(tickets),
                                 details={"interacciones": len(interactions),
                                          "adjuntos": len(files)}, created_at=now)
    log.info("personal data exported customer=%s tickets=%s by=%s", customer.id, len(tickets),
             actor)
    return path


def _customer_json(c: Customer, zone: ZoneInfo) -> dict[str, Any]:
    data = {"id": c.id, "nombre": c.name, "correo": c.email, "telefono": c.phone,
            "empresa": c.company, "notas": c.notes, "creado": _iso(c.created_at, zone),
            "rut": c.rut, "nombre_de_pila": c.first_name, "tratamiento": c.form_of_address}
    return data


def _ticket_json(t: Ticket, zone: ZoneInfo, interactions: list[Interaction],
                 files: dict[int, list[Attachment]], writer: ArchiveWriter) -> dict[str, Any]:
    return {
        "numero": t.id, "canal": _enum(t.channel), "asunto": t.subject,
        "descripcion": t.description, "Tipo_Incidencia": _enum(t.tipo),
        "Prioridad": _enum(t.prioridad), "Estado": _enum(t.estado),
        "Fecha_Creacion": _iso(t.created_at, zone),
        "Fecha_Primera_Respuesta": _iso(t.first_response_at, zone),
        "Fecha_Resolucion": _iso(t.resolved_at, zone),
        "conformidad": _enum(t.conformity_kind), "motivo_descarte": t.discard_reason,
        "interacciones": [{
            "id": i.id, "tipo": _enum(i.kind), "canal": _enum(i.channel),
            "autor": i.author_name, "texto": i.body, "fecha": _iso(i.created_at, zone),
            "campo": i.field, "antes": i.old_value, "despues": i.new_value,
            "adjuntos": [_attachment_json(a, writer) for a in files.get(i.id, [])],
        } for i in interactions],
    }


def _attachment_json(a: Attachment, writer: ArchiveWriter) -> dict[str, Any]:
    data: dict[str, Any] = {"nombre": a.filename, "tipo": a.content_type, "bytes": a.size,
                            "sha256": a.sha256, "nota": a.note, "archivo": None}
    source = Path(a.stored_path) if a.stored_path else None
    if source is not None and source.is_file():
        name = f"adjuntos/{a.id}-{safe_filename(a.filename)}"
        writer.add_file(name, source)
        data["archivo"] = name
    return data


async def anonymise_person(customer: Customer, actor: str, now: datetime, *,
                           force: bool = False) -> AnonymisationResult:
    """Replace the person's data in the database (one transaction) and log it.

    Files and the database's free pages are the caller's next step (``scrub``).
    """
    values = personal_values(customer)
    values += [c.value for c in await CustomerContact.filter(customer_id=customer.id)
               if c.value not in values]
    own_name = (customer.name or "").strip()
    async with in_transaction():
        customer = await Customer.filter(id=customer.id).select_for_update().get()
        tickets = await Ticket.filter(customer_id=customer.id).order_by("id")
        open_numbers = [t.id for t in tickets if Estado(t.estado).is_open]
        if open_numbers and not force:
            raise OpenTickets(open_numbers)
        ticket_ids = [t.id for t in tickets]
        interactions = await Interaction.filter(ticket_id__in=ticket_ids)
        files = await Attachment.filter(interaction_id__in=[i.id for i in interactions])
        old_paths = sorted({a.stored_path for a in files if a.stored_path})
        await _customer(customer)
        for t in tickets:
            t.subject, t.description = "[anonimizado]", TEXT
            t.discard_reason = TEXT if t.discard_reason else t.discard_reason
            t.suggestion_reasons = None  # the triage quoted the customer's own words
            t.csat_comment = TEXT if t.csat_comment else t.csat_comment
            await t.save(update_fields=["subject", "description", "discard_reason",
                                        "suggestion_reasons", "csat_comment"])
        for i in interactions:
            await _interaction(i, values, own_name)
        for a in files:
            suffix = PurePosixPath(safe_filename(a.filename)).suffix.lower()[:10]
            a.filename = f"adjunto-{a.id}{suffix}"
            a.sha256, a.stored_path, a.note = "", None, REMOVED
            await a.save(update_fields=["filename", "sha256", "stored_path", "note"])
        await _outbox([i.id for i in interactions])
        await _kept_copies(customer.id, ticket_ids, values)
        await _nocodb_copies(customer.id, ticket_ids, [i.id for i in interactions], now)
        await MessageRef.filter(ticket_id__in=ticket_ids).delete()
        await _sweep_elsewhere(values)
        result = AnonymisationResult(customer.id, len(tickets), len(interactions), len(files),
                                     open_numbers, old_paths)
        await PersonalDataLog.create(
            action="anonimización", customer_id=customer.id, actor=actor[:200],
            tickets=len(tickets), created_at=now,
            details={"interacciones": len(interactions), "adjuntos": len(files),
                     "forzado_con_abiertos": open_numbers})
    log.info("personal data anonymised customer=%s tickets=%s forced_open=%s by=%s",
             customer.id, len(tickets), open_numbers, actor)
    return result


async def _kept_copies(customer_id: int, ticket_ids: list[int], values: list[str]) -> None:
    """Where else the person's words and addresses were kept: their other addresses,
    the audit of edits to their record, the raw messages in the inbox, and the
    examples the triage learner keeps."""
    await CustomerContact.filter(customer_id=customer_id).delete()
    await CustomerChange.filter(customer_id=customer_id).update(old_value="", new_value="")
    items = await InboxItem.filter(ticket_id_ref__in=ticket_ids)
    for value in values:
        items += await InboxItem.filter(summary__icontains=value)
    for item in {i.id: i for i in items}.values():
        item.payload, item.summary, item.last_error = {}, "[anonimizado]", ""
        await item.save(update_fields=["payload", "summary", "last_error"])
        await InboxRaw.filter(item_id=item.id).delete()
    await TriageExample.filter(ticket_id__in=ticket_ids).update(subject="", text=TEXT)


async def _nocodb_copies(customer_id: int, ticket_ids: list[int],
                         interaction_ids: list[int], now: datetime) -> None:
    """Rows already in the company's NocoDB: forget what we wrote there and push the
    placeholders over it (the queue does it, like any change)."""
    for kind, ids in (("cliente", [customer_id]), ("ticket", ticket_ids),
                      ("interaccion", interaction_ids)):
        rows = await NocoRow.filter(kind=kind, ref_id__in=ids)
        for row in rows:
            row.pushed = {}
            await row.save(update_fields=["pushed"])
        if rows:
            await NocoSync.bulk_create([NocoSync(kind=kind, ref_id=r.ref_id, created_at=now)
                                        for r in rows])


async def _customer(customer: Customer) -> None:
    customer.name = f"{ANONYMOUS_PREFIX}{customer.id}"
    customer.email = customer.phone = None
    customer.company = customer.notes = ""
    customer.first_name = customer.form_of_address = ""
    customer.rut = None
    update = ["name", "email", "phone", "company", "notes", "first_name", "form_of_address",
              "rut"]
    await customer.save(update_fields=update)


async def _interaction(i: Interaction, values: list[str], own_name: str) -> None:
    if i.body:
        i.body = TEXT
    author = (i.author_name or "").strip()
    if i.author_member_id is None and (
            i.kind == InteractionKind.INBOUND or (own_name and author.lower() == own_name.lower())):
        i.author_name = AUTHOR
    else:
        i.author_name = scrub_text(author, values)[:200]
    i.old_value = scrub_text(i.old_value, values)[:200] if i.old_value else i.old_value
    i.new_value = scrub_text(i.new_value, values)[:200] if i.new_value else i.new_value
    if i.external_id:
        i.external_id = f"anonimizado:{i.id}"
    meta = {k: v for k, v in (i.meta or {}).items() if k in SAFE_META}
    i.meta = json.loads(scrub_text(json.dumps(meta, ensure_ascii=False), values))
    await i.save(update_fields=["body", "author_name", "old_value", "new_value",
                                "external_id", "meta"])


async def _outbox(interaction_ids: list[int]) -> None:
    rows = await OutboxMessage.filter(interaction_id__in=interaction_ids)
    for row in rows:
        row.recipient, row.payload, row.last_error = "anonimizado", {}, ""
        if row.status == DeliveryStatus.PENDING:
            row.status = DeliveryStatus.FAILED
            row.last_error = "no enviado: los datos del cliente se anonimizaron"
        await row.save(update_fields=["recipient", "payload", "last_error", "status"])


async def _sweep_elsewhere(values: list[str]) -> None:
    """The person named in other rows: a team note on someone else's ticket, a chat
    conversation in progress (front-end state), an author name."""
    if not values:
        return
    for value in values:
        for t in await Ticket.filter(description__icontains=value):
            t.description = scrub_text(t.description, values)
            t.subject = scrub_text(t.subject, values)[:300]
            await t.save(update_fields=["description", "subject"])
        for t in await Ticket.filter(subject__icontains=value):
            t.subject = scrub_text(t.subject, values)[:300]
            await t.save(update_fields=["subject"])
        for i in await Interaction.filter(body__icontains=value):
            i.body = scrub_text(i.body, values)
            await i.save(update_fields=["body"])
        for i in await Interaction.filter(author_name__icontains=value):
            i.author_name = scrub_text(i.author_name, values)[:200]
            await i.save(update_fields=["author_name"])
        for c in await Customer.filter(notes__icontains=value):
            c.notes = scrub_text(c.notes, values)
            await c.save(update_fields=["notes"])
    lowered = [v.lower() for v in values]
    for row in await KeyValue.all():
        text = json.dumps(row.value, ensure_ascii=False)
        if any(v in text.lower() for v in lowered):
            row.value = json.loads(scrub_text(text, values))
            await row.save(update_fields=["value"])
