"""The report as words and tables: the chat message and the CSV beside each chart.

Plain text, unescaped (each front end escapes for its format). Short lines: the
administrator reads this on a phone.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from bot.records.export import neutralise

from .figures import ReportFigures, WeekFigures

CHART_TABLES = ("cumplimiento", "volumen", "antiguedad", "personas", "cierres", "satisfaccion")


def pct(ok: int, total: int) -> str:
    return f"{round(100 * ok / total)} %" if total else "—"


def hours(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} h".replace(".", ",")


def share(value: float | None) -> str:
    return "—" if value is None else f"{round(100 * value)} %"


def week_label(week: WeekFigures) -> str:
    return f"{week.monday:%d/%m}"


def summary(f: ReportFigures, budget_first: float, budget_resolution: float) -> str:
    """The chat message: headline compliance, volumes, backlog, people, closures, CSAT."""
    t = f.totals()
    first_h, res_h = f"{budget_first:g}", f"{budget_resolution:g}"
    lines = [
        f"Reporte · {f.period.label}",
        f"Tickets nuevos: {f.created}",
        f"Respondidos en {first_h} h: {pct(t.answered_ok, t.answered)} "
        f"({t.answered_ok} de {t.answered})",
        f"Resueltos en {res_h} h hábiles: {pct(t.resolved_ok, t.resolved)} "
        f"({t.resolved_ok} de {t.resolved})",
    ]
    if f.created:
        lines.append("Tipo: " + " · ".join(f"{k} {n}" for k, n in f.by_tipo))
        lines.append("Prioridad: " + " · ".join(f"{k} {n}" for k, n in f.by_prioridad))
        lines.append("Canal: " + " · ".join(f"{k} {n}" for k, n in f.by_channel))
    open_now = sum(n for _, n in f.backlog)
    lines.append(f"Abiertos hoy: {open_now}" + (
        " (" + " · ".join(f"{k}: {n}" for k, n in f.backlog if n) + ")" if open_now else ""))
    if f.people:
        lines.append("Por persona (tickets · 1ª respuesta · resolución · vencidos):")
        lines.extend(f"· {p.name}: {p.tickets} · {hours(p.median_first_reply_hours)} · "
                     f"{hours(p.median_resolution_business_hours)} háb. · {p.overdue_now}"
                     for p in f.people)
    lines.append(f"Cerrados: {f.closed_confirmed} con conformidad del cliente, "
                 f"{f.closed_no_answer} sin respuesta del cliente")
    s = f.satisfaction
    if s.answered:
        avg = f"{s.average:.1f}".replace(".", ",")
        lines.append(f"Satisfacción: {avg} de 5 ({s.answered} respuestas de {s.asked} "
                     f"encuestas; 1-2: {s.counts[0] + s.counts[1]})")
    else:
        lines.append(f"Satisfacción: sin respuestas ({s.asked} encuestas)")
    return "\n".join(lines)


def tables(f: ReportFigures) -> dict[str, list[list[Any]]]:
    """One table per chart (header first), as the CSVs and the chart data."""
    return {
        "cumplimiento": [["Semana (lunes)", "Respondidos a tiempo", "Respondidos (decididos)",
                          "% respondidos", "Resueltos a tiempo", "Resueltos (decididos)",
                          "% resueltos"]] + [
            [w.monday.isoformat(), w.answered_ok, w.answered, share(w.answered_share),
             w.resolved_ok, w.resolved, share(w.resolved_share)] for w in f.weeks],
        "volumen": [["Grupo", "Valor", "Tickets"]]
        + [["Tipo_Incidencia", k, n] for k, n in f.by_tipo]
        + [["Prioridad", k, n] for k, n in f.by_prioridad]
        + [["Canal", k, n] for k, n in f.by_channel],
        "antiguedad": [["Antigüedad", "Abiertos"]] + [[k, n] for k, n in f.backlog],
        "personas": [["Responsable", "Tickets", "Mediana 1ª respuesta (h)",
                      "Mediana resolución (h hábiles)", "Vencidos ahora"]] + [
            [p.name, p.tickets, _num(p.median_first_reply_hours),
             _num(p.median_resolution_business_hours), p.overdue_now] for p in f.people],
        "cierres": [["Cierre", "Tickets"], ["Con conformidad del cliente", f.closed_confirmed],
                    ["Sin respuesta del cliente", f.closed_no_answer]],
        "satisfaccion": [["Calificación", "Respuestas"]]
        + [[str(i + 1), n] for i, n in enumerate(f.satisfaction.counts)],
    }


def _num(value: float | None) -> object:
    return "" if value is None else round(value, 1)


def to_csv(table: list[list[object]]) -> bytes:
    """Same dialect as the exports: UTF-8 with BOM, semicolons, formula-safe cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in table:
        writer.writerow([neutralise(str(v)) if isinstance(v, str) else v for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def caption(title: str, table: list[list[object]], limit: int = 1000) -> str:
    """A chart's figures as a short text table (a photo caption, a Slack message)."""
    lines = [title] + [" · ".join(_cell(v) for v in row) for row in table]
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(value: object) -> str:
    return f"{value:g}".replace(".", ",") if isinstance(value, float) else str(value)
