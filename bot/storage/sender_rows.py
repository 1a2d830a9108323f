"""Who wrote, in one read: the sender, their latest ticket and the default assignee.

Every customer message asks the same three questions before it can be recorded: which
customer has this phone or address (or has it as a linked contact), which is their
latest ticket on this channel (to join it when open), and, should it open a ticket, who
the administrator is (the default assignee). Asked one by one that is three round trips
per message; Tortoise cannot join them (the ticket hangs off the customer, the
administrator off nothing), so this module asks them in one statement, built once per
SQL dialect, and hydrates the rows exactly as a queryset would (``_init_from_db``, the
related objects set where ``select_related`` sets them).

Nothing is cached across calls: every answer is read when the message is handled, so a
change of administrator or a new ticket on another instance is seen by the next message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from bot.process.domain import Canal, Estado, Rol
from bot.storage.sql import connection, meta
from db.models import Customer, CustomerContact, TeamMember, Ticket

By = Literal["phone", "email"]
M = TypeVar("M", bound=Model)

# alias prefix -> model, in the order the columns are selected
_PARTS: tuple[tuple[str, type[Model]], ...] = (
    ("c", Customer), ("t", Ticket), ("ta", TeamMember), ("adm", TeamMember))


@dataclass(frozen=True)
class SenderRows:
    """What one read found. ``latest`` is the latest ticket (not discarded) on the channel
    of the customer whose *own* phone or address this is (a linked contact names the
    customer but joins no ticket), with ``customer`` and ``assignee`` loaded."""

    customer: Customer | None
    latest: Ticket | None
    admin: TeamMember | None


@cache
def _columns(model: type[Model]) -> tuple[str, ...]:
    """The columns ``_init_from_db`` expects (the model's own, foreign keys' ids too)."""
    info = meta(model)
    return tuple(sorted(key for key, _, _ in (
        *info.db_native_fields, *info.db_default_fields, *info.db_complex_fields)))


def _template(by: By, latest: bool) -> str:
    """The statement with named slots (``{v}`` the value, ``{ch}`` the channel, ``{gone}``
    the discarded Estado, ``{role}`` the administrator's role, ``{yes}`` True); without
    ``latest`` the sender's tickets are not joined at all."""
    parts = [(a, m) for a, m in _PARTS if latest or a in ("c", "adm")]
    select = ", ".join(f'{alias}."{col}" AS "{alias}__{col}"'
                       for alias, model in parts for col in _columns(model))
    customers, tickets, team, contacts = (
        meta(m).db_table for m in (Customer, Ticket, TeamMember, CustomerContact))
    their_latest = (
        f'LEFT JOIN "{tickets}" t ON c."{by}" = {{v}} AND t."id" = ('
        f'SELECT MAX(x."id") FROM "{tickets}" x WHERE x."customer_id" = c."id" '
        f'AND x."channel" = {{ch}} AND x."estado" <> {{gone}}) '
        f'LEFT JOIN "{team}" ta ON ta."id" = t."assignee_id" ') if latest else ""
    return (
        f'SELECT {select} FROM (SELECT 1 AS one) base '
        # the customer: their own phone/address first, else the linked contact's owner
        f'LEFT JOIN "{customers}" c ON c."id" = ('
        f'SELECT w."id" FROM (SELECT "id", 0 AS pref FROM "{customers}" WHERE "{by}" = {{v}} '
        f'UNION ALL SELECT "customer_id", 1 FROM "{contacts}" WHERE "value" = {{v}}) w '
        f'ORDER BY w.pref, w."id" LIMIT 1) '
        f'{their_latest}'
        f'LEFT JOIN "{team}" adm ON adm."id" = ('
        f'SELECT "id" FROM "{team}" WHERE "role" = {{role}} AND "active" = {{yes}} '
        f'ORDER BY "id" LIMIT 1)')


_SLOT = re.compile(r"\{(v|ch|gone|role|yes)\}")
_STATEMENTS: dict[tuple[str, By, bool], tuple[str, tuple[str, ...]]] = {}


def _statement(db: BaseDBAsyncClient, by: By, latest: bool) -> tuple[str, tuple[str, ...]]:
    """The dialect's SQL and the slot names in the order its parameters take them
    (SQLite: one "?" per use; PostgreSQL: one "$n" per name, reused)."""
    dialect = db.capabilities.dialect
    found = _STATEMENTS.get((dialect, by, latest))
    if found is None:
        order: list[str] = []

        def mark(match: re.Match[str]) -> str:
            name = match.group(1)
            if dialect != "postgres":
                order.append(name)
                return "?"
            if name not in order:
                order.append(name)
            return f"${order.index(name) + 1}"

        sql = _SLOT.sub(mark, _template(by, latest))
        found = _STATEMENTS[(dialect, by, latest)] = (sql, tuple(order))
    return found


@cache
def _keys(alias: str, model: type[Model]) -> tuple[tuple[str, str], ...]:
    """(column, the row's key for it under ``alias``), worked out once."""
    return tuple((col, f"{alias}__{col}") for col in _columns(model))


def _part(row: dict[str, Any], alias: str, model: type[M]) -> M | None:
    if row[f"{alias}__id"] is None:
        return None
    return model._init_from_db(**{col: row[key] for col, key in _keys(alias, model)})


async def sender_rows(channel: Canal, by: By, value: str, *, latest: bool = True) -> SenderRows:
    """One statement: the customer by ``by`` (normalised ``value``), their latest ticket on
    ``channel`` (not asked when ``latest`` is False: a message that never joins by its
    sender) and the active administrator."""
    db = connection(Ticket)
    sql, order = _statement(db, by, latest)
    slots: dict[str, Any] = {"v": value, "ch": channel.value, "gone": Estado.DISCARDED.value,
                             "role": Rol.ADMIN.value, "yes": True}
    rows = await db.execute_query_dict(sql, [slots[name] for name in order])
    row = rows[0]
    customer = _part(row, "c", Customer)
    ticket = _part(row, "t", Ticket) if latest else None
    if ticket is not None:
        object.__setattr__(ticket, "_customer", customer)
        object.__setattr__(ticket, "_assignee", _part(row, "ta", TeamMember))
    return SenderRows(customer, ticket, _part(row, "adm", TeamMember))
