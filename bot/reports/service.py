"""One report, for every front end: figures -> text, CSV tables, PNG charts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.process.clock import Clock
from bot.process.settings import Settings

from .charts import Chart, draw_charts
from .figures import ReportFigures, compute
from .load import compliance_line, load_rows
from .period import Period, parse_period
from .text import summary, tables, to_csv


@dataclass(frozen=True)
class Report:
    figures: ReportFigures
    text: str
    tables: dict[str, list[list[object]]]
    charts: list[Chart] = field(default_factory=list)

    def csv(self, name: str) -> bytes:
        return to_csv(self.tables[name])

    def files(self) -> list[tuple[str, bytes]]:
        """``(file name, bytes)`` of every chart and table, for a chat upload or a folder."""
        slug = self.figures.period.slug
        found = [(f"{c.name}_{slug}.png", c.png) for c in self.charts]
        return found + [(f"{name}_{slug}.csv", self.csv(name)) for name in self.tables]

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, data in self.files():
            path = folder / name
            path.write_bytes(data)
            written.append(path)
        return written


class ReportService:
    """Reports on demand (``/reporte``, ``/ticket reporte``, ``atiende report``)."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock

    def period(self, words: list[str] | str) -> Period:
        """The period asked for; ``DomainError`` with a Spanish explanation if unclear."""
        return parse_period(words, self._clock.now(), self._settings.zone)

    async def figures(self, period: Period, now: datetime | None = None) -> ReportFigures:
        rows = await load_rows(period)
        return compute(rows, period, now or self._clock.now(),
                       self._settings.resolution_business_hours)

    async def build(self, words: list[str] | str | Period, charts: bool = True) -> Report:
        """The whole report; charts are drawn in a child process (see ``charts.py``)."""
        period = words if isinstance(words, Period) else self.period(words)
        figures = await self.figures(period)
        s = self._settings
        text = summary(figures, s.first_response_hours, s.resolution_business_hours)
        drawn = await draw_charts(figures, s.first_response_hours,
                                  s.resolution_business_hours) if charts else []
        return Report(figures, text, tables(figures), drawn)

    async def compliance_line(self, start: datetime, end: datetime) -> str:
        """One line on a stretch of time (yesterday, for the morning summary)."""
        return await compliance_line(self._settings, start, end)
