"""The process's tables in NocoDB, and how our records become their rows.

Column names default to the process's own words (Clientes: Nombre, Correo, ...;
Tickets: Ticket, Cliente, Estado, Fecha_Resolucion, ...); ``ATIENDE_NOCODB_COLUMNS``
renames any of them to the company's title. ``Schema`` is the live base resolved
once: table ids, column titles, and the foreign-key column behind each link (written
directly, so a whole batch links in one bulk request instead of one call per row).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.process.domain import Estado, Prioridad, TipoIncidencia

CLIENTES, TICKETS, INTERACCIONES = "Clientes", "Tickets", "Interacciones"
KINDS = {"cliente": CLIENTES, "ticket": TICKETS, "interaccion": INTERACCIONES}


@dataclass(frozen=True)
class Column:
    name: str  # the process's name
    uidt: str  # NocoDB's UI type
    options: tuple[str, ...] = ()  # single-select options
    link_to: str = ""  # for links: the parent table (a belongs-to from this table)


# Order matters: a table's links point at tables created before it.
TABLES: dict[str, tuple[Column, ...]] = {
    CLIENTES: (
        Column("Nombre", "SingleLineText"), Column("Correo", "Email"),
        Column("Telefono", "PhoneNumber"), Column("RUT", "SingleLineText"),
        Column("Empresa", "SingleLineText"), Column("Atiende_Id", "Number"),
    ),
    TICKETS: (
        Column("Ticket", "Number"), Column("Cliente", "Links", link_to=CLIENTES),
        Column("Canal", "SingleLineText"), Column("Asunto", "SingleLineText"),
        Column("Descripcion", "LongText"),
        Column("Tipo_Incidencia", "SingleSelect", tuple(t.value for t in TipoIncidencia)),
        Column("Prioridad", "SingleSelect", tuple(p.value for p in Prioridad)),
        Column("Estado", "SingleSelect", tuple(e.value for e in Estado)),
        Column("Responsable", "SingleLineText"), Column("Fecha_Creacion", "DateTime"),
        Column("Plazo_Primera_Respuesta", "DateTime"),
        Column("Fecha_Primera_Respuesta", "DateTime"), Column("Plazo_Resolucion", "DateTime"),
        Column("Fecha_Resolucion", "DateTime"), Column("Conformidad", "SingleLineText"),
    ),
    INTERACCIONES: (
        Column("Ticket", "Links", link_to=TICKETS), Column("Fecha", "DateTime"),
        Column("Tipo", "SingleLineText"), Column("Autor", "SingleLineText"),
        Column("Canal", "SingleLineText"), Column("Texto", "LongText"),
        Column("Atiende_Id", "Number"),
    ),
}
# The column holding our id in each table: the upsert key.
KEYS = {CLIENTES: "Atiende_Id", TICKETS: "Ticket", INTERACCIONES: "Atiende_Id"}
# The column NocoDB shows as the row's name.
DISPLAY = {CLIENTES: "Nombre", TICKETS: "Asunto", INTERACCIONES: "Fecha"}
# Link types that count as the same column (NocoDB reports a link as either).
LINK_TYPES = ("Links", "LinkToAnotherRecord")
TEXT_LIMIT = 10_000  # long texts are cut in NocoDB (the full text stays in Atiende)


@dataclass
class Schema:
    """The live base: ids and titles the pusher and puller use."""

    tables: dict[str, str] = field(default_factory=dict)  # process table -> table id
    titles: dict[str, str] = field(default_factory=dict)  # "Tabla.Columna" -> title
    fks: dict[str, str] = field(default_factory=dict)  # "Tabla.Columna" link -> fk title

    def col(self, table: str, name: str) -> str:
        return self.titles.get(f"{table}.{name}", name)

    def key(self, table: str) -> str:
        return self.col(table, KEYS[table])

    def table_of(self, table_id: str) -> str | None:
        return next((name for name, tid in self.tables.items() if tid == table_id), None)


def column_title(overrides: dict[str, str], table: str, name: str) -> str:
    return overrides.get(f"{table}.{name}", name)


def when(value: datetime | None) -> str | None:
    """NocoDB's DateTime value: UTC, ``2025-01-15 10:30:00+00:00``."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")


def parse_when(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cut(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT - 1] + "…"


def customer_fields(c: Any) -> dict[str, Any]:
    """Process column -> value for a customer (``db.models.Customer``)."""
    return {"Nombre": c.name, "Correo": c.email, "Telefono": c.phone, "RUT": c.rut,
            "Empresa": c.company, "Atiende_Id": c.id}


def ticket_fields(t: Any) -> dict[str, Any]:
    """Process column -> value for a ticket with ``assignee`` fetched."""
    conformity = getattr(t.conformity_kind, "value", t.conformity_kind)
    return {
        "Ticket": t.id, "Canal": _label(t.channel), "Asunto": t.subject,
        "Descripcion": cut(t.description), "Tipo_Incidencia": _value(t.tipo),
        "Prioridad": _value(t.prioridad), "Estado": _value(t.estado),
        "Responsable": t.assignee.name if t.assignee else None,
        "Fecha_Creacion": when(t.created_at),
        "Plazo_Primera_Respuesta": when(t.first_response_due),
        "Fecha_Primera_Respuesta": when(t.first_response_at),
        "Plazo_Resolucion": when(t.resolution_due), "Fecha_Resolucion": when(t.resolved_at),
        "Conformidad": conformity or None,
    }


def interaction_fields(i: Any) -> dict[str, Any]:
    """Process column -> value for an interaction: a state change reads
    ``Estado: Nuevo → En proceso``, a message its text."""
    text = i.body
    if i.field:
        text = f"{i.field}: {i.old_value or '—'} → {i.new_value or '—'}"
    return {"Fecha": when(i.created_at), "Tipo": _value(i.kind), "Autor": i.author_name,
            "Canal": _label(i.channel), "Texto": cut(text), "Atiende_Id": i.id}


def _value(v: object) -> Any:
    return getattr(v, "value", v) if v is not None else None


def _label(channel: object) -> str:
    from bot.process.domain import Canal

    try:
        return Canal(str(_value(channel))).label
    except ValueError:
        return str(_value(channel) or "")


def record_fields(kind: str, record: Any) -> dict[str, Any]:
    if kind == "cliente":
        return customer_fields(record)
    if kind == "ticket":
        return ticket_fields(record)
    return interaction_fields(record)


def link_of(schema: Schema, kind: str, record: Any,
          parents: dict[int, int]) -> tuple[str, int | None] | None:
    if kind == "ticket":
        fk, parent = schema.fks.get(f"{TICKETS}.Cliente"), record.customer_id
    elif kind == "interaccion":
        fk, parent = schema.fks.get(f"{INTERACCIONES}.Ticket"), record.ticket_id
    else:
        return None
    if fk is None:
        return None
    return fk, parents.get(parent)


def spans(ids: list[int], gap: int) -> list[tuple[int, int]]:
    """Sorted ids -> (low, high) ranges without big gaps."""
    spans: list[tuple[int, int]] = []
    for ref in ids:
        if spans and ref - spans[-1][1] <= gap:
            spans[-1] = (spans[-1][0], ref)
        else:
            spans.append((ref, ref))
    return spans
