"""Which ticket a set of message ids belongs to, in one read; and recording them.

An email names its thread by ids (its own Message-ID, In-Reply-To, References). The ids
the intake has seen are in ``message_refs``; ids of messages we sent are the
``external_id`` of their interaction. Asking the two tables one after the other costs a
second round trip for every new mail (the usual case: nothing matches); one
``UNION ALL`` asks both, the recorded refs first, each by age. Recording is one
``INSERT .. ON CONFLICT DO NOTHING`` whose SQL is built once per number of ids (a
Tortoise ``bulk_create`` built it anew for every mail).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.process.domain import Canal
from bot.storage.sql import connection, meta, placeholders
from db.models import Interaction, MessageRef

_STATEMENTS: dict[tuple[str, int], str] = {}
_INSERTS: dict[tuple[str, int], str] = {}
MAX_REF_CHARS = 255  # the column's size


def _statement(db: BaseDBAsyncClient, n: int) -> str:
    dialect = db.capabilities.dialect
    sql = _STATEMENTS.get((dialect, n))
    if sql is None:
        if dialect == "postgres":  # $1 the channel, then the ids, named once
            channel, *ids = placeholders(db, n + 1)
            refs = again = ", ".join(ids)
        else:  # "?" by position: the ids, the channel, the ids again
            refs = again = ", ".join(placeholders(db, n))
            channel = "?"
        sql = _STATEMENTS[(dialect, n)] = (
            'SELECT w."ticket_id" FROM ('
            f'SELECT "ticket_id", 0 AS pref, "id" FROM "{MessageRef.Meta.table}" '
            f'WHERE "ref" IN ({refs}) UNION ALL '
            f'SELECT "ticket_id", 1 AS pref, "id" FROM "{Interaction.Meta.table}" '
            f'WHERE "channel" = {channel} AND "external_id" IN ({again})) w '
            'ORDER BY w.pref, w."id" LIMIT 1')
    return sql


async def ticket_of_refs(channel: Canal, refs: Sequence[str]) -> int | None:
    """The ticket of the first known id: recorded refs first, then our own messages'."""
    wanted = list(dict.fromkeys(r for r in refs if r))
    if not wanted:
        return None
    db = connection(MessageRef)
    sql = _statement(db, len(wanted))
    args: list[str] = ([channel.value, *wanted] if db.capabilities.dialect == "postgres"
                       else [*wanted, channel.value, *wanted])
    rows = await db.execute_query_dict(sql, args)
    return int(rows[0]["ticket_id"]) if rows else None


async def remember_refs(refs: Sequence[str], ticket_id: int, now: datetime) -> None:
    """Record ``refs`` as the ticket's; an id known already (or stored concurrently) is
    skipped by the database, so no error can abort an enclosing transaction."""
    wanted = list(dict.fromkeys(r[:MAX_REF_CHARS] for r in refs if r))
    if not wanted:
        return
    db = connection(MessageRef)
    dialect = db.capabilities.dialect
    sql = _INSERTS.get((dialect, len(wanted)))
    if sql is None:
        marks = placeholders(db, 3 * len(wanted))
        rows = ", ".join(f"({', '.join(marks[i:i + 3])})" for i in range(0, len(marks), 3))
        sql = _INSERTS[(dialect, len(wanted))] = (
            f'INSERT INTO "{MessageRef.Meta.table}" ("ref", "ticket_id", "created_at") '
            f'VALUES {rows} ON CONFLICT ("ref") DO NOTHING')
    when = meta(MessageRef).fields_map["created_at"].to_db_value(now, MessageRef)
    await db.execute_query(sql, [v for ref in wanted for v in (ref, ticket_id, when)])
