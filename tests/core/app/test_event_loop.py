"""Every ``atiende`` command runs on the loop ``ATIENDE_EVENT_LOOP`` names: uvloop by
default, the standard loop on request or where uvloop is not installed."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from argparse import Namespace
from pathlib import Path

import pytest

from bot.app import cli, event_loop
from bot.process.settings import Settings
from tests.core.app.test_cli_export import atiende


def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


async def which() -> str:
    return loop_module()


def test_uvloop_by_default_and_the_standard_loop_on_request() -> None:
    assert event_loop.run(which(), "uvloop").startswith("uvloop")
    assert event_loop.run(which(), "asyncio").startswith("asyncio")


def test_without_uvloop_the_standard_loop_runs_and_the_log_says_so(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop -> ImportError
    with caplog.at_level(logging.WARNING, logger="bot.app.event_loop"):
        assert event_loop.run(which(), "uvloop").startswith("asyncio")
    assert "uvloop is not installed" in caplog.text


@pytest.mark.parametrize(("setting", "expected"), [(None, "uvloop"), ("asyncio", "asyncio")])
def test_a_command_runs_on_the_configured_loop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str | None,
        expected: str) -> None:
    for key in [k for k in os.environ if k.startswith("ATIENDE_")]:
        if key not in ("ATIENDE_TEST_DB", "ATIENDE_TEST_POSTGRES_URL"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ATIENDE_DATA_DIR", str(tmp_path / "data"))
    if setting is not None:
        monkeypatch.setenv("ATIENDE_EVENT_LOOP", setting)
    seen: list[str] = []

    async def probe(args: Namespace, settings: Settings) -> int:
        seen.append(loop_module())
        return 0

    monkeypatch.setitem(cli.COMMANDS, "report", probe)
    assert cli.main(["report"]) == 0
    assert len(seen) == 1 and seen[0].startswith(expected)


def test_an_unknown_loop_is_a_configuration_error_naming_the_variable(tmp_path: Path) -> None:
    done = atiende(tmp_path, "db", "upgrade", env={"ATIENDE_EVENT_LOOP": "tokio"})
    assert done.returncode == 2
    assert "ATIENDE_EVENT_LOOP" in done.stderr and "asyncio" in done.stderr
