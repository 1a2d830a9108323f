"""After an anonymisation: the bytes that outlive an ``UPDATE``.

- Attachment files: deleted, unless another attachment row still names the same file
  (the store is content-addressed, so two people who sent the very same file share
  it; it stays as the other person's record, and the result counts it).
- The SQLite file: an ``UPDATE`` leaves the old text in free pages, in the unused
  space of pages, and in the write-ahead log. ``secure_delete`` zeroes what is freed,
  ``VACUUM`` rebuilds the file without free pages, and ``wal_checkpoint(TRUNCATE)``
  writes the log back and truncates it to zero bytes.

PostgreSQL keeps old row versions until its own ``VACUUM``; ``VACUUM FULL`` on the
touched tables rewrites them (its WAL archive, if any, is the operator's).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from tortoise import connections

from db.models import Attachment

log = logging.getLogger(__name__)

TOUCHED_TABLES = ("clientes", "tickets", "interacciones", "adjuntos", "outbox",
                  "message_refs", "key_values")


async def delete_files(paths: list[str], root: Path) -> tuple[int, int]:
    """Delete the files no other attachment row names: ``(deleted, shared)``."""
    deleted = shared = 0
    store = root.resolve()
    for stored in paths:
        if await Attachment.exists(stored_path=stored):
            shared += 1
            continue
        path = Path(stored)
        if store not in path.resolve().parents:
            log.warning("anonymisation: %s is outside the attachment store, left alone", path)
            continue
        if await asyncio.to_thread(_wipe, path):
            deleted += 1
    return deleted, shared


def _wipe(path: Path) -> bool:
    """Overwrite, then delete: a plain unlink leaves the bytes in free blocks."""
    try:
        size = path.stat().st_size
        with path.open("r+b") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
        return True
    except FileNotFoundError:
        return False


async def enable_secure_delete() -> None:
    """Zero freed content from now on, on this connection (SQLite only)."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        await conn.execute_script("PRAGMA secure_delete=ON")


async def compact_database() -> bool:
    """Rewrite the database so no old value survives in it; True when fully done.

    False means another process held a read snapshot so the log could not be
    truncated yet; it is retried at the next anonymisation or daily job.
    """
    conn = connections.get("default")
    try:
        if conn.capabilities.dialect == "postgres":
            await conn.execute_script("VACUUM FULL " + ", ".join(TOUCHED_TABLES))
            return True
        if conn.capabilities.dialect != "sqlite":
            return False
        await conn.execute_script("VACUUM")
        _, rows = await conn.execute_query("PRAGMA wal_checkpoint(TRUNCATE)")
    except Exception as exc:  # e.g. another process kept the database busy too long
        log.warning("anonymisation: compacting the database failed, retried later: %s", exc)
        return False
    row = rows[0] if rows else None
    busy = int(row[0]) if row is not None else 1
    if busy:
        log.warning("anonymisation: the write-ahead log is in use by another process; "
                    "it will be truncated later")
    return not busy
