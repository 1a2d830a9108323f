"""Scoring suggestions against a labelled file (JSON lines), for the CLI and the bench.

Each line has ``channel`` (email|whatsapp), ``subject`` (or null), ``text``, ``tipo``
and ``prioridad``; other fields (``split``, notes) are ignored unless a split is asked
for. Lines that cannot be read are counted and reported, never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.process.domain import Prioridad, TipoIncidencia
from bot.triage.rules import Suggestion

MAX_LINE = 100_000  # one labelled message; a longer line is refused, not loaded


@dataclass(frozen=True)
class Labelled:
    channel: str
    subject: str | None
    text: str
    tipo: TipoIncidencia
    prioridad: Prioridad
    split: str = ""


@dataclass
class Score:
    n: int = 0
    tipo_ok: int = 0
    prioridad_ok: int = 0
    alta_total: int = 0
    alta_found: int = 0
    skipped: int = 0
    tipo_confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    prioridad_confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "n": self.n, "skipped": self.skipped,
            "tipo_accuracy": _ratio(self.tipo_ok, self.n),
            "prioridad_accuracy": _ratio(self.prioridad_ok, self.n),
            "alta_recall": _ratio(self.alta_found, self.alta_total),
            "alta_total": self.alta_total,
            "tipo_confusion": self.tipo_confusion,
            "prioridad_confusion": self.prioridad_confusion,
        }


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def read_labelled(path: Path, split: str | None = None) -> tuple[list[Labelled], int]:
    """(examples, lines skipped as unreadable)."""
    rows: list[Labelled] = []
    skipped = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                if len(line) > MAX_LINE:
                    raise ValueError("line too long")
                data = json.loads(line)
                row = Labelled(str(data.get("channel") or "email"), data.get("subject"),
                               str(data["text"]), TipoIncidencia(data["tipo"]),
                               Prioridad(data["prioridad"]), str(data.get("split") or ""))
            except (ValueError, KeyError, TypeError):
                skipped += 1
                continue
            if split is None or row.split == split:
                rows.append(row)
    return rows, skipped


def score(rows: Iterable[Labelled], suggest: Callable[[str, str | None], Suggestion],
          keep_errors: int = 0) -> Score:
    result = Score()
    for row in rows:
        s = suggest(row.text, row.subject)
        result.n += 1
        result.tipo_ok += s.tipo is row.tipo
        result.prioridad_ok += s.prioridad is row.prioridad
        if row.prioridad is Prioridad.ALTA:
            result.alta_total += 1
            result.alta_found += s.prioridad is Prioridad.ALTA
        _count(result.tipo_confusion, row.tipo.value, s.tipo.value)
        _count(result.prioridad_confusion, row.prioridad.value, s.prioridad.value)
        if keep_errors and len(result.errors) < keep_errors and (
                s.tipo is not row.tipo or s.prioridad is not row.prioridad):
            result.errors.append({"text": row.text[:160], "want": f"{row.tipo}/{row.prioridad}",
                                  "got": f"{s.tipo}/{s.prioridad}",
                                  "why": "; ".join(s.tipo_reasons + s.prioridad_reasons)})
    return result


def _count(table: dict[str, dict[str, int]], want: str, got: str) -> None:
    row = table.setdefault(want, {})
    row[got] = row.get(got, 0) + 1


def confusion_lines(title: str, table: dict[str, dict[str, int]], labels: list[str]) -> list[str]:
    """A small text table: rows are the labels, columns what was suggested."""
    width = max(len(x) for x in labels + [title]) + 2
    lines = [title.ljust(width) + "".join(x[:10].rjust(12) for x in labels)]
    for want in labels:
        counts = table.get(want, {})
        lines.append(want.ljust(width) + "".join(str(counts.get(g, 0)).rjust(12)
                                                 for g in labels))
    return lines
