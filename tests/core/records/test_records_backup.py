"""Backups of a running Atiende and their restore (``bot.records.backup``, the CLI)."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest

from bot.process.domain import Canal
from bot.process.settings import Settings
from bot.records.archive import ArchiveError, verify
from bot.records.backup import make_backup, prune, restore
from bot.services import Services
from tests.conftest import Team, sqlite_only
from tests.core.app.test_cli_export import atiende


async def open_with_file(services: Services, team: Team, n: int) -> int:
    customer = await services.customers.find_or_create(email=f"c{n}@example.cl",
                                                       name=f"Cliente {n}")
    stored = services.attachments.store(f"boleta {n}".encode() * 50, f"boleta-{n}.pdf",
                                        "application/pdf")
    view = await services.tickets.open(team.admin, customer_id=customer.id,
                                       channel=Canal.EMAIL, description=f"Consulta {n}",
                                       attachments=[stored])
    return view.number


def restored_settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "restored",  # type: ignore[call-arg]
                    timezone="America/Santiago")


@sqlite_only("the backup copies the SQLite file (PostgreSQL: pg_dump, tested apart)")
async def test_backup_under_concurrent_writes_restores_whole(services: Services, team: Team,
                                                             tmp_path: Path) -> None:
    written = 0
    stop, warmed = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        nonlocal written
        while not stop.is_set():
            await open_with_file(services, team, written)
            written += 1
            if written >= 20:
                warmed.set()

    task = asyncio.create_task(writer())
    await warmed.wait()
    archives, during = [], 0
    for _ in range(4):
        before = written
        result = await asyncio.to_thread(make_backup, services.settings, tmp_path / "bk",
                                         services.clock.now())
        during += written - before
        archives.append(result)
    stop.set()
    await task
    assert during > 0, "the writer never wrote while a backup ran"
    assert len({r.path for r in archives}) == 4
    last = archives[-1]
    manifest = verify(last.path)
    assert manifest["kind"] == "backup" and manifest["tickets"] == last.tickets
    assert 20 <= last.tickets <= written
    names = {f["path"] for f in manifest["files"]}
    assert "atiende.db" in names and sum(n.startswith("attachments/") for n in names) >= 20

    target = restored_settings(tmp_path)
    done = restore(target, last.path)
    con = sqlite3.connect(done.database)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM tickets").fetchone()[0] == last.tickets
        paths = [r[0] for r in con.execute("SELECT stored_path FROM adjuntos")]
    finally:
        con.close()
    assert len(paths) == last.tickets  # every ticket's file, consistent with its row
    for p in paths:
        assert Path(p).is_file() and Path(p).is_relative_to(target.data_dir / "attachments")


@sqlite_only("the backup copies the SQLite file (PostgreSQL: pg_dump, tested apart)")
async def test_restore_round_trip_exports_the_same(services: Services, team: Team,
                                                   tmp_path: Path) -> None:
    for n in range(3):
        await open_with_file(services, team, n)
    await services.tickets.note(team.admin, 1, "Llamé al cliente; «ok» & <b>listo</b>")
    original_env = {"ATIENDE_DATABASE_URL": services.settings.effective_database_url}
    backup = atiende(tmp_path, "backup", "--to", str(tmp_path / "bk"), env=original_env)
    assert backup.returncode == 0, backup.stderr
    archive = next((tmp_path / "bk").glob("atiende-respaldo-*.tar.gz"))

    restored_env = {"ATIENDE_DATA_DIR": str(tmp_path / "restored")}
    done = atiende(tmp_path, "restore", str(archive), env=restored_env)
    assert done.returncode == 0, done.stderr
    assert "3 tickets, 3 adjuntos" in done.stdout
    first = atiende(tmp_path, "export", env=original_env)
    second = atiende(tmp_path, "export", env=restored_env)
    assert first.returncode == second.returncode == 0, second.stderr
    assert first.stdout.count("\n") == 4 and second.stdout == first.stdout

    again = atiende(tmp_path, "restore", str(archive), env=restored_env)
    assert again.returncode == 1 and "no está vacía" in again.stderr


def tampered_copy(archive: Path, target: Path) -> Path:
    """The same archive with one attachment's bytes changed, the manifest untouched."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(target, "w:gz") as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("attachments/"):
                data = data.replace(b"boleta", b"BOLETA", 1)
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return target


@sqlite_only("the backup copies the SQLite file (PostgreSQL: pg_dump, tested apart)")
async def test_restore_refuses_tampered_archive_and_non_empty_dir(
        services: Services, team: Team, tmp_path: Path) -> None:
    await open_with_file(services, team, 1)
    good = make_backup(services.settings, tmp_path / "bk", services.clock.now()).path
    bad = tampered_copy(good, tmp_path / "bad.tar.gz")
    target = restored_settings(tmp_path)
    with pytest.raises(ArchiveError, match="SHA-256"):
        restore(target, bad)
    assert not (target.data_dir / "atiende.db").exists()

    target.data_dir.mkdir(parents=True, exist_ok=True)
    (target.data_dir / "notas.txt").write_text("algo")
    with pytest.raises(ArchiveError, match="no está vacía"):
        restore(target, good)
    assert sorted(p.name for p in target.data_dir.iterdir()) == ["notas.txt"]

    manifest = json.loads(tarfile.open(good).extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])


async def test_postgres_backup_points_to_pg_dump(tmp_path: Path) -> None:
    result = atiende(tmp_path, "backup",
                     env={"ATIENDE_DATABASE_URL": "postgres://u:p@127.0.0.1:1/atiende"})
    assert result.returncode == 2 and "pg_dump" in result.stderr


@sqlite_only("the backup copies the SQLite file (PostgreSQL: pg_dump, tested apart)")
async def test_prune_keeps_the_newest(services: Services, tmp_path: Path) -> None:
    made = []
    for _ in range(4):
        made.append(make_backup(services.settings, tmp_path, services.clock.now()).path)
        services.clock.advance(days=1)  # type: ignore[attr-defined]
    removed = prune(tmp_path, keep=2)
    assert removed == made[:2]
    assert sorted(p for p in tmp_path.glob("atiende-respaldo-*")) == made[2:]


def hostile_archive(path: Path, members: list[tuple[str, bytes]],
                    listed: list[tuple[str, bytes]]) -> Path:
    """A .tar.gz with ``members`` whose manifest lists ``listed`` (checksums right)."""
    import hashlib

    manifest = {"format": "atiende-archive/1", "kind": "backup",
                "files": [{"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                          for n, d in listed]}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [*members, ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("members,listed", [
    ([("../fuera.txt", b"x")], [("../fuera.txt", b"x")]),  # outside the target
    ([("atiende.db", b"x"), ("extra.sh", b"y")], [("atiende.db", b"x")]),  # unlisted
    ([("atiende.db", b"x"), ("atiende.db", b"x")], [("atiende.db", b"x")]),  # twice
    ([], [("atiende.db", b"x")]),  # listed but missing
])
def test_restore_refuses_a_hostile_archive(tmp_path: Path, members: list[tuple[str, bytes]],
                                           listed: list[tuple[str, bytes]]) -> None:
    archive = hostile_archive(tmp_path / "h.tar.gz", members, listed)
    target = restored_settings(tmp_path)
    with pytest.raises(ArchiveError):
        restore(target, archive)
    assert not (tmp_path / "fuera.txt").exists() and not target.data_dir.exists()
