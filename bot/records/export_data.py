"""The rows of each export table, read from the database (formats live in ``export.py``)."""

from __future__ import annotations

from tortoise.functions import Count

from bot.process.domain import Canal, DeliveryStatus, InteractionKind
from bot.records.export import CUSTOMER_COLUMNS, INTERACTION_COLUMNS, Table, tickets_table
from bot.tickets.queries import TicketQueries
from db.models import Customer, Interaction, Ticket

_KIND_LABELS = {InteractionKind.INBOUND: "Cliente", InteractionKind.OUTBOUND: "Respuesta",
                InteractionKind.NOTE: "Nota", InteractionKind.EVENT: "Cambio"}


async def customers_table() -> Table:
    counts = dict(await Ticket.all().group_by("customer_id").annotate(n=Count("id"))
                  .values_list("customer_id", "n"))
    rows = await Customer.all().order_by("id").values_list(
        "id", "name", "email", "phone", "company", "notes", "created_at")
    return Table("clientes", CUSTOMER_COLUMNS,
                 [(*r, counts.get(r[0], 0)) for r in rows])


async def interactions_table() -> Table:
    rows = await Interaction.all().order_by("id").values_list(
        "id", "ticket_id", "created_at", "kind", "channel", "author_name", "body", "template",
        "delivery_status", "automatic", "field", "old_value", "new_value")
    return Table("interacciones", INTERACTION_COLUMNS, [
        (r[0], r[1], r[2], _KIND_LABELS[InteractionKind(r[3])], Canal(r[4]).label, r[5], r[6],
         r[7], DeliveryStatus(r[8]).value if r[8] else None, "Sí" if r[9] else "No",
         r[10], r[11], r[12])
        for r in rows])


async def load_tables(queries: TicketQueries, names: tuple[str, ...]) -> list[Table]:
    """The named tables (``clientes``, ``tickets``, ``interacciones``), in that order."""
    found = []
    for name in names:
        if name == "clientes":
            found.append(await customers_table())
        elif name == "tickets":
            found.append(tickets_table(await queries.all()))
        else:
            found.append(await interactions_table())
    return found
