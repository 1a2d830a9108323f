"""Writing down that a record changed, inside the transaction that changed it.

The core calls these after its own writes (``bot/tickets/service.py``, ``bot/incoming/intake.py``,
``bot/people/customers.py``); nothing is written while NocoDB sync is off, so a company
without NocoDB pays nothing. Rows are only appended: the pusher coalesces them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from db.models import Interaction, NocoSync


async def changed(enabled: bool, kind: str, ref_id: int, now: datetime) -> None:
    """``kind`` is "cliente", "ticket" or "interaccion"."""
    if enabled:
        await NocoSync.create(kind=kind, ref_id=ref_id, created_at=now)


async def interaction_changed(enabled: bool, interaction: Interaction, now: datetime) -> None:
    """A new history line: the interaction and its ticket (Estado, dates) both move."""
    if not enabled:
        return
    ticket_id = interaction.ticket_id
    await NocoSync.bulk_create([
        NocoSync(kind="ticket", ref_id=ticket_id, created_at=now),
        NocoSync(kind="interaccion", ref_id=interaction.id, created_at=now),
    ])


async def many(kind: str, ref_ids: Iterable[int], now: datetime) -> int:
    """Queue many records at once (backfill, import)."""
    rows = [NocoSync(kind=kind, ref_id=ref, created_at=now) for ref in ref_ids]
    for start in range(0, len(rows), 1000):
        await NocoSync.bulk_create(rows[start:start + 1000])
    return len(rows)
