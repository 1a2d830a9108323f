"""The look-ups every message and every card makes go through an index, not a scan of
the whole table: a sender's latest ticket, a ticket's history, an interaction's files."""

from __future__ import annotations

from bot.process.domain import Canal
from bot.storage.sender_rows import sender_rows
from bot.storage.sql import connection
from db.models import Ticket
from tests.conftest import ON_POSTGRES, sqlite_only
from tests.statements import count_statements

INDEXES = {("tickets", "ix_tickets_customer"), ("interacciones", "ix_interacciones_ticket"),
           ("adjuntos", "ix_adjuntos_interaction")}


async def test_the_migrations_create_the_lookup_indexes(database: str) -> None:
    db = connection(Ticket)
    if ON_POSTGRES:
        rows = await db.execute_query_dict(
            "SELECT tablename AS t, indexname AS i FROM pg_indexes WHERE schemaname = "
            "current_schema()")
    else:
        rows = await db.execute_query_dict(
            "SELECT tbl_name AS t, name AS i FROM sqlite_master WHERE type = 'index'")
    assert INDEXES <= {(r["t"], r["i"]) for r in rows}


@sqlite_only("reads SQLite's query plan")
async def test_the_sender_read_finds_the_latest_ticket_by_index(database: str) -> None:
    with count_statements() as seen:
        await sender_rows(Canal.WHATSAPP, "phone", "+56912345678")
    [sql] = seen.sql
    rows = await connection(Ticket).execute_query_dict(f"EXPLAIN QUERY PLAN {sql}",
                                                       ["x"] * sql.count("?"))
    plan = [r["detail"] for r in rows]
    assert any("USING INDEX ix_tickets_customer" in step for step in plan), plan
    assert not any(step.startswith("SCAN") and " x" in step for step in plan), plan
