"""Exports for the company: the process's own column names, CSV (one table) or XLSX.

Both formats are safe to open in Excel or LibreOffice. Customer text that starts like a
formula (``=``, ``+``, ``-``, ``@``, tab, CR) is never live: in CSV it gets a leading
``'`` (the only defence a plain-text format has); in XLSX every text cell is written as
a typed string cell, so nothing is ever a formula and no ``'`` shows. A value that is
only a signed number (``-5``, ``+56 9 1234 5678``) cannot call anything and stays as it
is. In XLSX dates are real dates in the company's zone, numbers are numbers and phones
are text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.process.views import TicketView

TABLE_NAMES = ("clientes", "tickets", "interacciones")
SHEETS = {"clientes": "Clientes", "tickets": "Tickets", "interacciones": "Interacciones"}

# Column kinds: how a value is written in each format.
TEXT, INT, FLOAT, WHEN, PHONE, NUMBER_TAG = "text", "int", "float", "when", "phone", "ticket"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = TEXT
    width: int = 16


@dataclass(frozen=True)
class Table:
    """One sheet / one CSV: typed Python values (datetimes aware, in UTC)."""

    name: str  # clientes | tickets | interacciones
    columns: tuple[Column, ...]
    rows: Iterable[Sequence[Any]]


TICKET_COLUMNS = (
    Column("Ticket", NUMBER_TAG, 9), Column("Cliente", TEXT, 24), Column("Correo", TEXT, 26),
    Column("Teléfono", PHONE, 16), Column("Canal", TEXT, 12), Column("Asunto", TEXT, 36),
    Column("Tipo_Incidencia", TEXT, 14), Column("Prioridad", TEXT, 10),
    Column("Estado", TEXT, 22), Column("Responsable", TEXT, 16),
    Column("Fecha_Creacion", WHEN, 17), Column("Plazo_Primera_Respuesta", WHEN, 17),
    Column("Fecha_Primera_Respuesta", WHEN, 17), Column("Plazo_Resolucion", WHEN, 17),
    Column("Fecha_Resolucion", WHEN, 17), Column("Conformidad", TEXT, 13),
    Column("Primera_Respuesta_En_Plazo", TEXT, 10), Column("Resolucion_En_Plazo", TEXT, 10),
    Column("Horas_Habiles_Resolucion", FLOAT, 12), Column("Motivo_Descarte", TEXT, 24),
    Column("Satisfaccion", INT, 12), Column("Comentario_Satisfaccion", TEXT, 30),
)
COLUMNS = [c.name for c in TICKET_COLUMNS]
CUSTOMER_COLUMNS = (
    Column("Cliente_ID", INT, 10), Column("Nombre", TEXT, 26), Column("Correo", TEXT, 28),
    Column("Teléfono", PHONE, 16), Column("Empresa", TEXT, 22), Column("Notas", TEXT, 30),
    Column("Fecha_Alta", WHEN, 17), Column("Tickets", INT, 9),
)
INTERACTION_COLUMNS = (
    Column("Interaccion_ID", INT, 12), Column("Ticket", NUMBER_TAG, 9),
    Column("Fecha", WHEN, 17), Column("Tipo", TEXT, 10), Column("Canal", TEXT, 12),
    Column("Autor", TEXT, 20), Column("Texto", TEXT, 60), Column("Plantilla", TEXT, 18),
    Column("Estado_Entrega", TEXT, 12), Column("Automatico", TEXT, 10),
    Column("Campo", TEXT, 16), Column("Valor_Anterior", TEXT, 18),
    Column("Valor_Nuevo", TEXT, 18),
)


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("Sí" if value else "No")


def ticket_row(t: TicketView) -> list[Any]:
    first_ok = None if t.first_response_at is None else t.first_response_at <= t.first_response_due
    # The resolution clock stops when the fix is proposed: that instant is what counts.
    stopped = t.conformity_requested_at or t.resolved_at
    resolved_ok = None if t.resolved_at is None or stopped is None else stopped <= t.resolution_due
    return [
        t.number, t.customer.display, t.customer.email, t.customer.phone, t.channel.label,
        t.subject, t.tipo.value if t.tipo else None,
        t.prioridad.value if t.prioridad else None, t.estado.value,
        t.assignee.name if t.assignee else None, t.created_at, t.first_response_due,
        t.first_response_at, t.resolution_due, t.resolved_at,
        t.conformity_kind.value if t.conformity_kind else None, _yes_no(first_ok),
        _yes_no(resolved_ok), round(t.resolution_hours_used, 2), t.discard_reason,
        t.csat_rating, t.csat_comment,
    ]


def tickets_table(tickets: Iterable[TicketView]) -> Table:
    return Table("tickets", TICKET_COLUMNS, (ticket_row(t) for t in tickets))


# --- formula neutralising -------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d ]*(?:[.,]\d+)?")


def neutralise(value: str) -> str:
    """Text that a spreadsheet would run as a formula gets a leading ``'`` (CSV only)."""
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _text(value: Any, kind: str, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if kind == WHEN:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if kind == NUMBER_TAG:
        return f"#{value}"
    if kind == FLOAT:
        return f"{value:g}"
    return neutralise(str(value))


def to_csv(table: Table, zone: ZoneInfo) -> bytes:
    """UTF-8 with BOM and semicolons, so a Spanish-locale spreadsheet opens it right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.name for c in table.columns])
    for row in table.rows:
        writer.writerow([_text(v, c.kind, zone) for v, c in zip(row, table.columns, strict=True)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- XLSX ---------------------------------------------------------------------------------
def to_xlsx(tables: Sequence[Table], zone: ZoneInfo) -> bytes:
    """One sheet per table: header frozen, widths set, typed cells (see module doc)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in tables:
        sheet = book.create_sheet(SHEETS[table.name])
        sheet.freeze_panes = "A2"
        for index, column in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        header = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=column.name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        writers = [_cell_writer(c.kind, zone, ILLEGAL_CHARACTERS_RE) for c in table.columns]
        for row in table.rows:
            cells = []
            for value, write in zip(row, writers, strict=True):
                cell = WriteOnlyCell(sheet)
                write(cell, value)
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell_writer(kind: str, zone: ZoneInfo, illegal: re.Pattern[str],
                 ) -> Callable[[Any, Any], None]:
    def write(cell: Any, value: Any) -> None:
        if value is None:
            return
        if kind == WHEN:
            cell.value = value.astimezone(zone).replace(tzinfo=None)
            cell.number_format = "yyyy-mm-dd hh:mm"
        elif kind in (INT, FLOAT):
            cell.value = value
            cell.number_format = "0" if kind == INT else "0.00"
        elif kind == NUMBER_TAG:
            cell.value = int(value)
            cell.number_format = '"#"0'
        else:
            # A typed string cell: openpyxl would turn "=..." into a formula otherwise.
            cell.value = illegal.sub("", str(value))
            cell.data_type = "s"
    return write
