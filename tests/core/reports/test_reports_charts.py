"""Every chart rendered for an empty period, one ticket, the known set and a year of
generated tickets: real PNGs, under 300 KB, with a CSV table beside each."""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

from bot.process.domain import Canal
from bot.reports import ReportService
from bot.services import Services
from tests.conftest import Team, santiago
from tests.core.reports.harness import generate_tickets, known_set

NAMES = {"cumplimiento", "volumen", "antiguedad", "personas", "cierres", "satisfaccion"}
PNG = b"\x89PNG\r\n\x1a\n"
# ATIENDE_TEST_CHARTS_DIR=folder keeps the PNGs, to look at them as the administrator would.
KEEP = os.environ.get("ATIENDE_TEST_CHARTS_DIR")


def check_charts(report, tag: str) -> None:  # type: ignore[no-untyped-def]
    assert {c.name for c in report.charts} == NAMES
    for chart in report.charts:
        assert chart.png.startswith(PNG), chart.name
        assert len(chart.png) < 300_000, (chart.name, len(chart.png))
        width, height = struct.unpack(">II", chart.png[16:24])
        assert (width, height) == (900, 690), chart.name
        assert chart.name in report.tables  # the same figures as a table
        if KEEP:
            Path(KEEP).mkdir(parents=True, exist_ok=True)
            (Path(KEEP) / f"{tag}_{chart.name}.png").write_bytes(chart.png)


async def test_charts_for_an_empty_period(services: Services, team: Team) -> None:
    report = await ReportService(services.settings, services.clock).build("semana")
    check_charts(report, "empty")
    assert "Tickets nuevos: 0" in report.text


async def test_charts_for_one_ticket(services: Services, team: Team) -> None:
    customer = await services.customers.find_or_create(email="ana@example.cl", name="Ana")
    await services.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                                description="No puedo entrar")
    report = await ReportService(services.settings, services.clock).build("semana")
    check_charts(report, "one")
    assert "Tickets nuevos: 1" in report.text


async def test_charts_for_the_known_set(services: Services, team: Team,
                                        tmp_path: Path) -> None:
    await known_set(services, team)
    report = await ReportService(services.settings, services.clock).build("2026-12")
    check_charts(report, "known")
    written = report.write(tmp_path / "out")
    assert sorted(p.suffix for p in written) == [".csv"] * 6 + [".png"] * 6
    assert all(p.stat().st_size > 0 for p in written)


async def test_charts_for_a_year_of_tickets(services: Services, team: Team) -> None:
    await generate_tickets(3000, santiago(2025, 12, 1), santiago(2026, 12, 4),
                           member_ids=[team.carla.id, team.diego.id, team.sofia.id])
    report = await ReportService(services.settings, services.clock).build(
        ["2025-12-01", "2026-12-04"])
    check_charts(report, "year")
    assert len(report.figures.weeks) == 53
    assert report.figures.created == 3000


def test_matplotlib_is_not_imported_by_the_idle_core() -> None:
    import subprocess

    code = ("import sys, bot.app.run, bot.reports, bot.services, bot.reminders, bot.records.export; "
            "print('matplotlib' in sys.modules, 'openpyxl' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[3])
    assert out.stdout.split() == ["False", "False"]


def test_cli_report_writes_charts_and_tables(tmp_path: Path) -> None:
    from tests.core.app.test_cli_export import atiende

    assert atiende(tmp_path, "db", "upgrade").returncode == 0
    out = tmp_path / "reporte"
    result = atiende(tmp_path, "report", "--from", "2026-11-01", "--to", "2026-11-30",
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Reporte · 01/11/2026 al 30/11/2026")
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 12 and "cumplimiento_2026-11-01_2026-11-30.png" in names
    assert "personas_2026-11-01_2026-11-30.csv" in names
    bad = atiende(tmp_path, "report", "--period", "ayer")
    assert bad.returncode == 1 and "No entiendo el período" in bad.stderr
