"""Backups of a running Atiende: the SQLite database and the attachment store, one
archive with checksums; and the restore of such an archive into an empty place.

Consistency while Atiende runs: the database is copied with SQLite's online backup
API in one step, which reads one snapshot beside a WAL writer without stopping it.
Attachments are copied *after* the database: the store writes a file before the row
that names it commits and never rewrites a file, so every file the copied database
names is already on disk (a newer file without a row is harmless).

PostgreSQL has its own tools (``pg_dump``); this module only says so.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.process.settings import Settings
from bot.records.archive import ArchiveError, ArchiveWriter, extract, verify

log = logging.getLogger(__name__)

DB_MEMBER = "atiende.db"
ATTACHMENTS = "attachments"
PREFIX = "atiende-respaldo-"
SUFFIX = ".tar.gz"
PG_DUMP_HINT = ("La base de datos es PostgreSQL: respáldela con pg_dump "
                "(p. ej. pg_dump -Fc -f atiende.dump \"$ATIENDE_DATABASE_URL\") y copie "
                "aparte la carpeta de adjuntos ({attachments}).")


class NotSqlite(Exception):
    """The database is not a SQLite file (PostgreSQL): use its own tools."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    files: int
    bytes: int
    tickets: int
    seconds: float


def sqlite_file(settings: Settings) -> Path:
    """The SQLite file behind the settings, or ``NotSqlite``."""
    url = settings.effective_database_url
    if not url.startswith("sqlite://") or url == "sqlite://:memory:":
        raise NotSqlite(PG_DUMP_HINT.format(attachments=attachments_dir(settings)))
    return Path(url.removeprefix("sqlite://").split("?", 1)[0])


def attachments_dir(settings: Settings) -> Path:
    return settings.data_dir / ATTACHMENTS


def backup_dir(settings: Settings) -> Path:
    """Where daily backups go: the setting, else ``backups`` beside the data directory
    (outside it, so a backup never contains older backups)."""
    return settings.backup_dir or settings.data_dir.resolve().parent / "backups"


def make_backup(settings: Settings, target_dir: Path, now: datetime) -> BackupResult:
    """Write ``atiende-respaldo-<UTC time>.tar.gz`` into ``target_dir`` (blocking: run
    it in a thread)."""
    started = time.monotonic()
    source = sqlite_file(settings)
    if not source.exists():
        raise FileNotFoundError(f"no existe la base de datos {source}")
    stamp = now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    target = target_dir / f"{PREFIX}{stamp}{SUFFIX}"
    n = 1
    while target.exists():  # two backups in the same second keep both
        n += 1
        target = target_dir / f"{PREFIX}{stamp}-{n}{SUFFIX}"
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir, prefix=".respaldo-") as tmp:
        copy = Path(tmp) / DB_MEMBER
        tickets = _online_copy(source, copy)
        writer = ArchiveWriter(target, "backup", {
            "created_at": now.astimezone(UTC).isoformat(timespec="seconds"),
            "database": "sqlite", "tickets": tickets})
        try:
            writer.add_file(DB_MEMBER, copy)
            files = _add_attachments(writer, attachments_dir(settings))
            path = writer.close()
        except BaseException:
            writer.abort()
            raise
    size = path.stat().st_size
    log.info("backup written path=%s tickets=%s attachments=%s bytes=%s", path.name,
             tickets, files, size)
    return BackupResult(path, files, size, tickets, time.monotonic() - started)


def _online_copy(source: Path, copy: Path) -> int:
    """One consistent snapshot through the backup API; the copy is a single file."""
    src = sqlite3.connect(source, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)  # pages=-1: the whole database in one step, one snapshot
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"la copia no pasa quick_check: {check}")
            tickets = dst.execute("SELECT count(*) FROM tickets").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    return int(tickets)


def _add_attachments(writer: ArchiveWriter, root: Path) -> int:
    count = 0
    if not root.is_dir():
        return 0
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.endswith(".tmp"):
            continue  # a .tmp is a file being written: its final name comes later
        try:
            writer.add_file(f"{ATTACHMENTS}/{path.relative_to(root).as_posix()}", path)
        except FileNotFoundError:  # removed meanwhile (an anonymisation): nothing to keep
            continue
        count += 1
    return count


def prune(target_dir: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest backups in ``target_dir`` (names sort by time)."""
    if keep <= 0 or not target_dir.is_dir():
        return []
    ours = sorted(p for p in target_dir.iterdir()
                  if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX))
    old = ours[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old


@dataclass(frozen=True)
class RestoreResult:
    database: Path
    attachments: int
    tickets: int


def restore(settings: Settings, archive: Path) -> RestoreResult:
    """Put a backup back into an empty data directory (never over existing data)."""
    database = sqlite_file(settings)
    manifest = verify(archive)
    if manifest.get("kind") != "backup":
        raise ArchiveError("el archivo no es un respaldo de Atiende")
    data_dir = settings.data_dir
    if data_dir.exists() and any(data_dir.iterdir()):
        raise ArchiveError(f"la carpeta de datos {data_dir} no está vacía: restaure en una "
                           "carpeta vacía (no se sobrescribe nada)")
    if database.exists() and database.stat().st_size > 0:
        raise ArchiveError(f"ya existe la base de datos {database}: no se sobrescribe")
    data_dir.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    written = extract(archive, [(DB_MEMBER, database),
                                (f"{ATTACHMENTS}/", attachments_dir(settings))])
    tickets = _relocate_attachments(database, attachments_dir(settings))
    return RestoreResult(database, sum(1 for p in written if p != database), tickets)


def _relocate_attachments(database: Path, root: Path) -> int:
    """Stored paths name the old data directory: point them at the restored store."""
    con = sqlite3.connect(database)
    try:
        check = con.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise ArchiveError(f"la base restaurada no pasa integrity_check: {check}")
        rows = con.execute("SELECT id, stored_path FROM adjuntos "
                           "WHERE stored_path IS NOT NULL").fetchall()
        with con:
            for row_id, stored in rows:
                parts = Path(stored).parts[-2:]
                con.execute("UPDATE adjuntos SET stored_path = ? WHERE id = ?",
                            (os.fspath(root.joinpath(*parts)), row_id))
        return int(con.execute("SELECT count(*) FROM tickets").fetchone()[0])
    finally:
        con.close()
