"""Shared fixtures: real SQLite files, a clock the test controls, the team of the scenarios.

Servers (fake Telegram/Slack/Graph, SMTP, Dovecot IMAP, PostgreSQL) come from
``tests.servers.fixtures``.

``ATIENDE_TEST_DB=postgres`` runs the same tests on PostgreSQL: the ``database`` fixture
then hands each test a fresh database copied from a migrated template (``scripts/test``
runs the suite once per database).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app.event_loop import loop_factory
from bot.process.clock import ManualClock
from bot.process.domain import Rol
from bot.process.settings import Settings
from bot.process.views import Actor, MemberView
from bot.services import Services, build_services
from db.connection import close_database, open_database, upgrade
from tests.servers.pg_copies import TemplateCopies

pytest_plugins = ["tests.servers.fixtures"]

SANTIAGO = ZoneInfo("America/Santiago")
# The shared real-world corpus (real emails and chat payloads from public test suites) lives
# beside the clone, never inside it. A clone without it still passes: the tests over it skip.
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
NO_CORPUS = ("the shared real-world corpus is not beside this clone (../shared/corpus): "
             "the tests over it are skipped")
requires_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=NO_CORPUS)

# Which database the ``database`` fixture gives: "sqlite" (default) or "postgres".
TEST_DB = os.environ.get("ATIENDE_TEST_DB", "sqlite").strip().lower() or "sqlite"
if TEST_DB not in ("sqlite", "postgres"):
    raise pytest.UsageError(f"ATIENDE_TEST_DB={TEST_DB!r}: use sqlite or postgres")
ON_POSTGRES = TEST_DB == "postgres"


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """Every async test runs on the loop ``atiende`` runs on (``ATIENDE_EVENT_LOOP``,
    uvloop by default), named in the test's id."""
    name = os.environ.get("ATIENDE_EVENT_LOOP", "uvloop").strip().lower() or "uvloop"
    if name not in ("uvloop", "asyncio"):
        raise pytest.UsageError(f"ATIENDE_EVENT_LOOP={name!r}: use uvloop or asyncio")
    factory = loop_factory("asyncio" if name == "asyncio" else "uvloop")
    return {"asyncio" if factory is asyncio.new_event_loop else "uvloop": factory}


def sqlite_only(reason: str) -> pytest.MarkDecorator:
    """For a test about SQLite itself (its file, its locking): skipped on PostgreSQL."""
    return pytest.mark.skipif(ON_POSTGRES, reason=f"SQLite-specific: {reason}")


def postgres_only(reason: str) -> pytest.MarkDecorator:
    """For a test about several instances on one PostgreSQL: skipped on SQLite (one
    process by design)."""
    return pytest.mark.skipif(not ON_POSTGRES, reason=f"PostgreSQL-specific: {reason}")


def corpus_params(folder: str, pattern: str = "*") -> list[Any]:
    """Corpus files for ``parametrize``; one skipped parameter when the corpus is absent."""
    if not CORPUS.is_dir():
        return [pytest.param(None, id="no-corpus", marks=pytest.mark.skip(reason=NO_CORPUS))]
    return sorted(p for p in (CORPUS / folder).glob(pattern) if p.is_file())


def santiago(*args: int) -> datetime:
    """A wall-clock time in the scenarios' zone: ``santiago(2026, 12, 4, 17, 50)``."""
    return datetime(*args, tzinfo=SANTIAGO)  # type: ignore[misc]


@pytest.fixture(scope="session")
def schema_db(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | TemplateCopies]:
    """The migrated schema once per session: a SQLite file each test copies, or (on
    PostgreSQL) a migrated template database whose copies are made ahead of the tests."""
    if not ON_POSTGRES:
        path = tmp_path_factory.mktemp("schema") / "schema.db"
        asyncio.run(upgrade(f"sqlite://{path}"))
        yield path
        return
    server = request.getfixturevalue("postgres_server")
    name = f"atiende_template_{os.getpid()}"
    url = asyncio.run(server.create_database(name=name))
    asyncio.run(upgrade(url))  # closes its connections: a template must have none
    copies = TemplateCopies(server, name).start()
    yield copies
    copies.close()
    asyncio.run(server.drop_database(url))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data",  # type: ignore[call-arg]
                    database_url=f"sqlite://{tmp_path / 'atiende.db'}",
                    timezone="America/Santiago", holidays_country="CL",
                    company_name="Hosting Andino")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(santiago(2026, 12, 4, 17, 50))


@pytest.fixture
async def database(settings: Settings, schema_db: Path | TemplateCopies) -> AsyncIterator[str]:
    """A real database with the migrated schema, connected for this test: a SQLite file,
    or with ``ATIENDE_TEST_DB=postgres`` a fresh PostgreSQL database (``settings`` then
    points at it, so whatever the test builds from them uses it too)."""
    if isinstance(schema_db, Path):
        target = Path(settings.effective_database_url.removeprefix("sqlite://"))
        shutil.copy(schema_db, target)
        await open_database(settings.effective_database_url)
        yield settings.effective_database_url
        await close_database()
        return
    url = await asyncio.to_thread(schema_db.take)
    settings.database_url = url
    await open_database(url)
    try:
        yield url
    finally:
        await close_database()
        schema_db.give_back(url)


@pytest.fixture
async def services(database: str, settings: Settings, clock: ManualClock) -> Services:
    return build_services(settings, clock)


class Team:
    """The scenarios' team: Carla (administradora), Diego and Sofía (agentes)."""

    def __init__(self, carla: MemberView, diego: MemberView, sofia: MemberView) -> None:
        self.carla, self.diego, self.sofia = carla, diego, sofia

    @property
    def admin(self) -> Actor:
        return Actor.of(self.carla)

    def actor(self, member: MemberView) -> Actor:
        return Actor.of(member)


@pytest.fixture
async def team(services: Services) -> Team:
    carla = await services.team.add("Carla", Rol.ADMIN, email="carla@empresa.cl",
                                    telegram_user_id=1001)
    diego = await services.team.add("Diego", Rol.AGENT, email="diego@empresa.cl",
                                    slack_user_id="UDIEGO")
    sofia = await services.team.add("Sofía", Rol.AGENT, email="sofia@empresa.cl",
                                    slack_user_id="USOFIA")
    return Team(carla, diego, sofia)
