"""``atiende nocodb import``: a company's existing base becomes Atiende's records.

Every Clientes row is matched to a customer by email, phone or RUT (or becomes a new
one); every open Tickets row becomes a ticket of its customer. Each imported row is
mapped to its record in the same transaction that creates it, so running the import
again skips what is already in, and the pusher then writes our ids (Atiende_Id,
Ticket) into those same rows instead of adding new ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from bot.nocodb.api import NocoApi
from bot.nocodb.mapping import CLIENTES, TICKETS, Schema, parse_when
from bot.nocodb.push import Pusher
from bot.people.customers import normalise_email, normalise_phone
from bot.process.domain import Canal, Prioridad, TipoIncidencia
from bot.process.errors import InvalidInput
from bot.process.views import Actor
from bot.storage.nocodb_queue import changed
from db.models import Customer, NocoRow

log = logging.getLogger(__name__)

CLOSED = {"resuelto", "descartado", "cerrado", "closed", "resolved"}
PAGE = 500


@dataclass
class ImportReport:
    customers_matched: int = 0
    customers_created: int = 0
    tickets_created: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"Clientes: {self.customers_matched} ya existían, "
                 f"{self.customers_created} nuevos; Tickets abiertos importados: "
                 f"{self.tickets_created}."]
        lines += [f"omitido: {why}" for why in self.skipped]
        return "\n".join(lines)


async def _all_rows(api: NocoApi, table_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = await api.records(table_id, limit=PAGE, offset=len(rows), sort="Id")
        rows += page.get("list", [])
        if page.get("pageInfo", {}).get("isLastPage", True) or not page.get("list"):
            return rows


def _text(row: dict[str, Any], schema: Schema, table: str, name: str) -> str:
    value = row.get(schema.col(table, name))
    return str(value).strip() if value is not None else ""


async def import_base(api: NocoApi, services: Any, pusher: Pusher) -> ImportReport:
    schema = await pusher.ensure_schema()
    report = ImportReport()
    customer_of_row: dict[int, int] = {
        r.row_id: r.ref_id for r in await NocoRow.filter(kind="cliente")}
    if CLIENTES in schema.tables:
        for row in await _all_rows(api, schema.tables[CLIENTES]):
            if int(row["Id"]) in customer_of_row:
                continue
            customer_id = await _customer(services, schema, row, report)
            if customer_id is not None:
                customer_of_row[int(row["Id"])] = customer_id
    if TICKETS in schema.tables:
        done = set(await NocoRow.filter(kind="ticket").values_list("row_id", flat=True))
        fk = schema.fks.get(f"{TICKETS}.Cliente")
        for row in await _all_rows(api, schema.tables[TICKETS]):
            estado = _text(row, schema, TICKETS, "Estado").lower()
            if int(row["Id"]) in done or estado in CLOSED:
                continue
            parent = row.get(fk) if fk else None
            customer_id = customer_of_row.get(int(parent)) if parent else None
            if customer_id is None:
                report.skipped.append(f"Tickets fila {row['Id']}: sin Cliente enlazado")
                continue
            await _ticket(services, schema, row, customer_id)
            report.tickets_created += 1
    return report


async def _customer(services: Any, schema: Schema, row: dict[str, Any],
                    report: ImportReport) -> int | None:
    try:
        typed_email = _text(row, schema, CLIENTES, "Correo")
        email = normalise_email(typed_email) if typed_email else None
        typed_phone = _text(row, schema, CLIENTES, "Telefono")
        phone = normalise_phone(typed_phone) if typed_phone else None
    except InvalidInput as exc:
        report.skipped.append(f"Clientes fila {row['Id']}: {exc}")
        return None
    rut = _text(row, schema, CLIENTES, "RUT")[:20] or None
    name = _text(row, schema, CLIENTES, "Nombre")[:200]
    query = Q(id=-1)
    for attr, value in (("email", email), ("phone", phone), ("rut", rut)):
        if value:
            query |= Q(**{attr: value})
    now = services.clock.now()
    async with in_transaction():
        customer = await Customer.filter(query).order_by("id").first()
        if customer is None:
            customer = await Customer.create(
                name=name, email=email, phone=phone, rut=rut, created_at=now,
                company=_text(row, schema, CLIENTES, "Empresa")[:200])
            report.customers_created += 1
        else:
            report.customers_matched += 1
            for attr, value in (("name", name), ("email", email), ("phone", phone),
                                ("rut", rut)):
                if value and not getattr(customer, attr) and not await Customer.filter(
                        **{attr: value}).exists():
                    setattr(customer, attr, value)
            await customer.save()
        await NocoRow.create(kind="cliente", ref_id=customer.id, row_id=int(row["Id"]),
                             pushed={}, pushed_at=now)
        await changed(True, "cliente", customer.id, now)
    return customer.id


async def _ticket(services: Any, schema: Schema, row: dict[str, Any], customer_id: int) -> None:
    def enum(kind: Any, name: str) -> Any:
        try:
            return kind(_text(row, schema, TICKETS, name)) or None
        except ValueError:
            return None

    subject = _text(row, schema, TICKETS, "Asunto")
    description = _text(row, schema, TICKETS, "Descripcion") or subject or \
        "(importado de NocoDB)"
    created: datetime | None = parse_when(row.get(schema.col(TICKETS, "Fecha_Creacion")))
    async with in_transaction():
        view = await services.tickets.open(
            Actor.system("NocoDB"), customer_id=customer_id, channel=Canal.OTHER,
            description=description, subject=subject,
            tipo=enum(TipoIncidencia, "Tipo_Incidencia"), prioridad=enum(Prioridad, "Prioridad"),
            created_at=created)
        await NocoRow.create(kind="ticket", ref_id=view.number, row_id=int(row["Id"]),
                             pushed={}, pushed_at=services.clock.now())
    log.info("nocodb import: row %s -> ticket #%s", row["Id"], view.number)
