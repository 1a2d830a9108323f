"""The records' daily jobs: the backup at its hour with retention of old archives, its
failure told to the administrator, and the anonymisation of long-idle customers."""

from __future__ import annotations

from pathlib import Path

from bot.jobs.daily_records import DailyJobs
from bot.process.domain import Canal, ConformityKind
from bot.process.notify import Audience, Digest
from bot.records.archive import verify
from bot.services import Services, build_services
from db.models import PersonalDataLog
from tests.conftest import Team, santiago, sqlite_only


class RecordingNotifier:
    """Stands in for a chat (the interface is in-process; no wire to fake)."""

    name = "registro"

    def __init__(self) -> None:
        self.digests: list[Digest] = []

    def can_reach(self, digest: Digest) -> bool:
        return digest.audience is Audience.ADMIN

    async def deliver(self, digest: Digest) -> None:
        self.digests.append(digest)


def with_settings(services: Services, **changes: object) -> Services:
    return build_services(services.settings.model_copy(update=changes), services.clock)


@sqlite_only("the daily backup copies the SQLite file")
async def test_daily_backup_at_its_hour_keeps_the_newest(services: Services, team: Team,
                                                         tmp_path: Path) -> None:
    s = with_settings(services, backup_dir=tmp_path / "bk", backup_keep=2, backup_time="03:00")
    jobs = DailyJobs(s)
    assert await jobs.tick() == []  # Friday 17:50, fresh install: waits for 03:00
    s.clock.advance(hours=9)  # type: ignore[attr-defined]  # Saturday 02:50
    assert await jobs.tick() == []
    s.clock.advance(minutes=11)  # type: ignore[attr-defined]  # 03:01
    assert await jobs.tick() == ["respaldo"]
    assert await jobs.tick() == []  # once a day
    assert await DailyJobs(s).tick() == []  # a restart the same day does not repeat it
    for _ in range(3):
        s.clock.advance(days=1)  # type: ignore[attr-defined]
        assert await jobs.tick() == ["respaldo"]
    kept = sorted((tmp_path / "bk").glob("atiende-respaldo-*.tar.gz"))
    assert len(kept) == 2 and verify(kept[-1])["kind"] == "backup"
    assert kept[-1].name == "atiende-respaldo-20261208-060100.tar.gz"  # UTC of Tue 8 Dec 03:01

    s.clock.advance(days=2)  # type: ignore[attr-defined]  # Atiende was down: caught up at start
    assert await DailyJobs(s).tick() == ["respaldo"]


@sqlite_only("the daily backup copies the SQLite file")
async def test_daily_backup_failure_reaches_the_administrator(services: Services, team: Team,
                                                              tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    s = with_settings(services, backup_dir=blocker, backup_time="18:00")
    notifier = RecordingNotifier()
    s.notifiers.append(notifier)
    jobs = DailyJobs(s)
    await jobs.tick()
    s.clock.advance(minutes=15)  # type: ignore[attr-defined]
    assert await jobs.tick() == []
    [digest] = notifier.digests
    assert digest.member is not None and digest.member.name == "Carla"
    assert "respaldo diario falló" in digest.title and str(blocker) in digest.summary


async def test_retention_anonymises_only_long_idle_customers(services: Services, team: Team,
                                                             tmp_path: Path) -> None:
    clock = services.clock
    clock.set(santiago(2023, 3, 1, 10, 0))  # type: ignore[attr-defined]
    old = await services.customers.find_or_create(email="vieja@example.cl", name="Olga Vieja")
    t = await services.tickets.open(team.admin, customer_id=old.id, channel=Canal.EMAIL,
                                    description="Consulta antigua")
    await services.tickets.propose(team.admin, t.number, detalle="Listo")
    await services.tickets.confirm(team.admin, t.number, kind=ConformityKind.EXPLICIT)
    still = await services.customers.find_or_create(email="abierta@example.cl", name="Abel")
    await services.tickets.open(team.admin, customer_id=still.id, channel=Canal.EMAIL,
                                description="Sigue abierto")
    clock.set(santiago(2026, 12, 4, 17, 50))  # type: ignore[attr-defined]
    recent = await services.customers.find_or_create(email="nueva@example.cl", name="Nora")
    s = with_settings(services, anonymise_after_years=3, backup_enabled=False)
    jobs = DailyJobs(s)
    await jobs.tick()
    clock.advance(hours=10)  # type: ignore[attr-defined]
    assert await jobs.tick() == ["retención"]
    assert (await s.customers.get(old.id)).email is None
    assert (await s.customers.get(still.id)).email == "abierta@example.cl"
    assert (await s.customers.get(recent.id)).email == "nueva@example.cl"
    entry = await PersonalDataLog.get(action="anonimización")
    assert entry.customer_id == old.id and entry.actor == "retención (3 años)"
    resolved = await s.queries.get(t.number)
    assert resolved.estado.value == "Resuelto" and resolved.customer.name.startswith("Cliente")


async def test_a_pending_compaction_is_finished_by_the_daily_jobs(services: Services,
                                                                  team: Team) -> None:
    s = with_settings(services, backup_enabled=False)
    await s.kv.set("records", "compact_pending", {"since": "2026-12-04T17:50"})
    jobs = DailyJobs(s)
    await jobs.tick()
    assert await s.kv.get("records", "compact_pending") is not None  # not its hour yet
    s.clock.advance(hours=10)  # type: ignore[attr-defined]
    await jobs.tick()
    assert await s.kv.get("records", "compact_pending") is None
