"""Fixtures shared by the reliability suite (``tests/reliability/``).

The root ``tests/conftest.py`` gives the database, clock, team and servers; here only
what several reliability modules need on top of it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.process.clock import SystemClock
from bot.process.settings import Settings
from bot.services import Services, build_services


@pytest.fixture
async def wall_clock_services(database: str, settings: Settings) -> Services:
    """Services on the test's SQLite file with the real clock: for tests that share the
    file with a real ``atiende`` process, whose clock is the wall clock too."""
    return build_services(settings, SystemClock())


@pytest.fixture
def process_log(tmp_path: Path) -> Path:
    """Where a subprocess under test writes its output (read back by the assertions)."""
    return tmp_path / "process.log"
