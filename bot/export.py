"""Exports for the company: the process's own column names, CSV or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from bot.views import TicketView

COLUMNS = [
    "Ticket", "Cliente", "Correo", "Teléfono", "Canal", "Asunto", "Tipo_Incidencia",
    "Prioridad", "Estado", "Responsable", "Fecha_Creacion", "Plazo_Primera_Respuesta",
    "Fecha_Primera_Respuesta", "Plazo_Resolucion", "Fecha_Resolucion", "Conformidad",
    "Primera_Respuesta_En_Plazo", "Resolucion_En_Plazo", "Motivo_Descarte",
]


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("Sí" if value else "No")


def row(t: TicketView, zone: ZoneInfo) -> list[str]:
    first_ok = None if t.first_response_at is None else t.first_response_at <= t.first_response_due
    # The resolution clock stops when the fix is proposed: that instant is what counts.
    stopped = t.conformity_requested_at or t.resolved_at
    resolved_ok = None if t.resolved_at is None or stopped is None else stopped <= t.resolution_due
    return [
        f"#{t.number}", t.customer.display, t.customer.email or "", t.customer.phone or "",
        t.channel.label, t.subject, t.tipo.value if t.tipo else "",
        t.prioridad.value if t.prioridad else "", t.estado.value,
        t.assignee.name if t.assignee else "", _when(t.created_at, zone),
        _when(t.first_response_due, zone), _when(t.first_response_at, zone),
        _when(t.resolution_due, zone), _when(t.resolved_at, zone),
        t.conformity_kind.value if t.conformity_kind else "", _yes_no(first_ok),
        _yes_no(resolved_ok), t.discard_reason or "",
    ]


def to_csv(tickets: Iterable[TicketView], zone: ZoneInfo) -> bytes:
    """UTF-8 with BOM and semicolons, so a Spanish-locale spreadsheet opens it right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for t in tickets:
        writer.writerow([_neutralise(v) for v in row(t, zone)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(tickets: Iterable[TicketView], zone: ZoneInfo) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Tickets"
    sheet.append(COLUMNS)
    for t in tickets:
        sheet.append([_neutralise(v) for v in row(t, zone)])
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _neutralise(value: str) -> str:
    """Customer text that starts like a formula stays text in a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") and not value[1:2].isdigit() else value
