"""A ticket's case file: the whole case as one archive a mediator (SERNAC) or the
customer can read without Atiende: ``expediente.html`` (printable, self-contained)
plus every attachment, and ``manifest.json`` with their SHA-256.

This module reads the case and works out what a mediator asks first: was each
deadline kept, and what did the customer say to the proposed solution (their own
words, or the request that went unanswered and its dates). ``casefile_html`` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.process.domain import Estado, InteractionKind
from bot.process.template_names import TemplateName
from bot.process.views import AttachmentView, InteractionView, TicketView
from bot.records.archive import ArchiveWriter
from bot.storage.attachments import safe_filename
from bot.tickets.queries import TicketQueries


@dataclass(frozen=True)
class Deadline:
    label: str
    due: datetime
    done_at: datetime | None
    kept: bool | None  # None: still running
    note: str = ""


@dataclass
class ConformityEpisode:
    """One request for the customer's conformity and what became of it."""

    requested_at: datetime
    request: InteractionView
    reminded_at: datetime | None = None
    words: list[InteractionView] = field(default_factory=list)  # the customer's answers
    outcome: str = "pendiente"  # "expresa" | "sin respuesta" | "rechazada" | "pendiente"
    closed_at: datetime | None = None
    recorded_by: str = ""
    reason: str = ""


@dataclass(frozen=True)
class CaseFile:
    ticket: TicketView
    history: list[InteractionView]
    deadlines: list[Deadline]
    conformity: list[ConformityEpisode]
    files: dict[int, str]  # attachment id -> its path inside the archive
    generated_at: datetime
    company: str


def deadlines(t: TicketView, now: datetime) -> list[Deadline]:
    first = Deadline("Primera respuesta", t.first_response_due, t.first_response_at,
                     None if t.first_response_at is None and t.is_open
                     else (t.first_response_at is not None
                           and t.first_response_at <= t.first_response_due),
                     "sin respuesta al cliente" if t.first_response_at is None else "")
    if t.estado is Estado.DISCARDED:
        resolution = Deadline("Resolución", t.resolution_due, None, None,
                              "no aplica: ticket descartado")
    elif t.resolved_at is None:
        resolution = Deadline("Resolución", t.resolution_due, None, None,
                              "vencido, sin resolver" if now > t.resolution_due else "en curso")
    else:
        resolution = Deadline("Resolución", t.resolution_due, t.resolved_at,
                              t.resolved_at <= t.resolution_due)
    return [first, resolution]


def conformity_episodes(history: list[InteractionView]) -> list[ConformityEpisode]:
    """Walk the history: each request, the reminder, the customer's words, the end."""
    episodes: list[ConformityEpisode] = []
    current: ConformityEpisode | None = None
    for i in history:
        if i.kind is InteractionKind.OUTBOUND and i.template == TemplateName.CONFORMITY_REQUEST:
            current = ConformityEpisode(i.created_at, i)
            episodes.append(current)
        elif current is None:
            continue
        elif i.kind is InteractionKind.OUTBOUND and i.template == TemplateName.CUSTOMER_REMINDER:
            current.reminded_at = i.created_at
        elif i.kind is InteractionKind.INBOUND and not i.automatic:
            current.words.append(i)
        elif (i.kind is InteractionKind.EVENT and i.field == "Estado"
              and i.old_value == Estado.PENDING_CONFORMITY.value):
            reason = str(i.meta.get("reason", ""))
            if i.new_value == Estado.RESOLVED.value:
                current.outcome = "sin respuesta" if "sin respuesta" in reason else "expresa"
            elif i.new_value == Estado.IN_PROGRESS.value:
                current.outcome = "rechazada"
            else:
                current.outcome = (i.new_value or "").lower()
            current.closed_at, current.recorded_by, current.reason = (
                i.created_at, i.author_name, reason)
            current = None
    return episodes


async def build_case_file(queries: TicketQueries, number: int, now: datetime,
                          company: str) -> CaseFile:
    ticket = await queries.get(number)
    history = await queries.history(number)
    files: dict[int, str] = {}
    for i in history:
        for a in i.attachments:
            if a.stored_path and Path(a.stored_path).is_file():
                files[a.id] = f"adjuntos/{a.id}-{safe_filename(a.filename)}"
    return CaseFile(ticket, history, deadlines(ticket, now), conformity_episodes(history),
                    files, now, company)


def write_archive(case: CaseFile, html: str, target: Path, zone: ZoneInfo) -> Path:
    """``expediente-ticket-<n>-<local time>.zip``: the document, the attachments, the
    manifest."""
    stamp = case.generated_at.astimezone(zone).strftime("%Y%m%d-%H%M%S")
    writer = ArchiveWriter(target / f"expediente-ticket-{case.ticket.number}-{stamp}.zip",
                           "case-file", {"ticket": case.ticket.number,
                                         "created_at": case.generated_at.isoformat()})
    try:
        writer.add_bytes("expediente.html", html.encode())
        for a in _attachments(case):
            writer.add_file(case.files[a.id], Path(a.stored_path or ""))
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def _attachments(case: CaseFile) -> list[AttachmentView]:
    return [a for i in case.history for a in i.attachments if a.id in case.files]
