"""The report's charts as PNG, drawn for a phone screen.

matplotlib is imported inside ``render_charts`` only, so the idle bot never loads it
(with numpy and Pillow, about 50 MB that would stay for the life of the process). The
bot itself draws through ``draw_charts``, which runs ``render_charts`` in a fresh child
process: the weekly report does not leave the long-running process 50 MB heavier, and
drawing never holds the event loop. Figures are built with the object API (``Figure``
+ the Agg canvas), never ``pyplot``.

Phone rules: 900 px wide, large type, Spanish labels, a value printed on every bar (no
one reads gridlines on a phone) and the Okabe-Ito palette, which colour-blind readers
tell apart.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from .figures import ReportFigures
from .text import hours, share, week_label

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442",
             "#000000")
_SIZE = (6.0, 4.6)  # inches; at 150 dpi: 900 x 690 px
_DPI = 150
_FONT = 13


@dataclass(frozen=True)
class Chart:
    name: str  # file stem, also the name of its CSV table
    title: str
    png: bytes


async def draw_charts(f: ReportFigures, first_hours: float,
                      resolution_hours: float) -> list[Chart]:
    """``render_charts`` in a fresh child process (see the module docstring)."""
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        return await asyncio.get_running_loop().run_in_executor(
            pool, render_charts, f, first_hours, resolution_hours)
    finally:
        pool.shutdown(wait=False)


def render_charts(f: ReportFigures, first_hours: float, resolution_hours: float) -> list[Chart]:
    """Every chart of the report (six PNGs, each well under 300 KB)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({
        "font.size": _FONT, "axes.titlesize": _FONT + 3, "axes.titleweight": "bold",
        "axes.labelsize": _FONT, "xtick.labelsize": _FONT - 1, "ytick.labelsize": _FONT - 1,
        "legend.fontsize": _FONT - 1, "axes.spines.top": False, "axes.spines.right": False,
    })
    period = f.period.label
    charts = [
        ("cumplimiento", "Cumplimiento de plazos", _compliance(f, first_hours, resolution_hours)),
        ("volumen", "Tickets nuevos", _volumes(f)),
        ("antiguedad", "Abiertos por antigüedad", _backlog(f)),
        ("personas", "Por persona", _people(f)),
        ("cierres", "Cierres", _closures(f)),
        ("satisfaccion", "Satisfacción", _satisfaction(f)),
    ]
    today = f"hoy, {f.now.astimezone(f.period.zone):%d/%m/%Y}"  # the backlog is "now"
    return [Chart(name, title, _png(draw, title, today if name == "antiguedad" else period))
            for name, title, draw in charts]


def _png(draw: Any, title: str, subtitle: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(f"{title}\n", fontsize=_FONT + 4, fontweight="bold")
    fig.text(0.5, 0.905, subtitle, ha="center", fontsize=_FONT - 1, color="#444444")
    draw(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=_DPI)
    return out.getvalue()


def _empty(ax: Any, text: str = "Sin datos en el período") -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=_FONT + 2, color="#444444",
            transform=ax.transAxes)


def _hbars(ax: Any, items: list[tuple[str, int]], color: str, title: str = "") -> None:
    """Horizontal bars with the count printed at the end of each bar."""
    if title:
        ax.set_title(title, loc="left", fontsize=_FONT, fontweight="bold")
    if not items or not any(n for _, n in items):
        _empty(ax, "Sin tickets")
        return
    labels = [label for label, _ in items][::-1]
    values = [n for _, n in items][::-1]
    bars = ax.barh(labels, values, color=color)
    ax.bar_label(bars, padding=3, fontsize=_FONT - 1)
    ax.set_xlim(0, max(values) * 1.25)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)


def _compliance(f: ReportFigures, first_hours: float, resolution_hours: float) -> Any:
    labels = (f"Respondidos en {first_hours:g} h", f"Resueltos en {resolution_hours:g} h hábiles")

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        if not any(w.answered or w.resolved for w in f.weeks):
            _empty(ax)
            return
        x = list(range(len(f.weeks)))
        series = [[w.answered_share for w in f.weeks], [w.resolved_share for w in f.weeks]]
        if len(x) <= 8:  # few weeks: bars with each share printed on them
            for i, (values, label) in enumerate(zip(series, labels, strict=True)):
                xs = [xi + (i - 0.5) * 0.38 for xi in x]
                bars = ax.bar(xs, [v * 100 if v is not None else 0 for v in values],
                              width=0.38, color=OKABE_ITO[i], label=label,
                              hatch="//" if i else None, edgecolor="white")
                ax.bar_label(bars, labels=[share(v) for v in values], padding=2,
                             fontsize=_FONT - 2)
        else:  # a long period: lines, the trend matters more than each week
            for i, (values, label) in enumerate(zip(series, labels, strict=True)):
                ax.plot(x, [v * 100 if v is not None else float("nan") for v in values],
                        marker="os"[i], lw=2.2, ms=4, color=OKABE_ITO[i], ls="-" if i == 0
                        else "--", label=label)
        ax.set_ylim(0, 112)
        ax.set_yticks([0, 25, 50, 75, 100], ["0 %", "25 %", "50 %", "75 %", "100 %"])
        step = max(1, len(x) // 6)
        ax.set_xticks(x[::step], [week_label(w) for w in f.weeks][::step])
        ax.set_xlabel("Semana (lunes)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1, frameon=False)
    return draw


def _volumes(f: ReportFigures) -> Any:
    def draw(fig: Any) -> None:
        if not f.created:
            _empty(fig.add_subplot())
            return
        axes = fig.subplots(3, 1, height_ratios=[len(f.by_tipo), len(f.by_prioridad),
                                                 len(f.by_channel)])
        for ax, items, color, title in zip(
                axes, (f.by_tipo, f.by_prioridad, f.by_channel), OKABE_ITO[:3],
                ("Tipo_Incidencia", "Prioridad", "Canal"), strict=True):
            _hbars(ax, list(items), color, title)
    return draw


def _backlog(f: ReportFigures) -> Any:
    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        if not any(n for _, n in f.backlog):
            _empty(ax, "Sin tickets abiertos")
            return
        labels = [label for label, _ in f.backlog]
        values = [n for _, n in f.backlog]
        colors = [OKABE_ITO[2], OKABE_ITO[4], OKABE_ITO[1], OKABE_ITO[3], OKABE_ITO[7]]
        bars = ax.bar(labels, values, color=colors)
        ax.bar_label(bars, padding=3, fontsize=_FONT)
        ax.set_ylim(0, max(values) * 1.2)
        ax.yaxis.set_visible(False)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="x", labelrotation=20)
        ax.set_xlabel("Antigüedad (días desde que llegó)")
    return draw


def _people(f: ReportFigures) -> Any:
    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        people = list(f.people)[:8]
        if not people:
            _empty(ax)
            return
        names = [f"{p.name}\n1ª resp. {hours(p.median_first_reply_hours)}\n"
                 f"resol. {hours(p.median_resolution_business_hours)} háb."
                 for p in people][::-1]
        y = list(range(len(names)))
        tickets = [p.tickets for p in people][::-1]
        late = [p.overdue_now for p in people][::-1]
        a = ax.barh([i + 0.2 for i in y], tickets, height=0.4, color=OKABE_ITO[0],
                    label="Tickets del período")
        b = ax.barh([i - 0.2 for i in y], late, height=0.4, color=OKABE_ITO[3],
                    label="Vencidos ahora")
        ax.bar_label(a, padding=3, fontsize=_FONT - 1)
        ax.bar_label(b, padding=3, fontsize=_FONT - 1)
        ax.set_yticks(y, names, fontsize=_FONT - 3)
        ax.set_xlim(0, max(tickets + late + [1]) * 1.25)
        ax.xaxis.set_visible(False)
        ax.spines["bottom"].set_visible(False)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=2, frameon=False)
        ax.set_title("Medianas: 1ª respuesta y resolución", loc="left", fontsize=_FONT - 2)
    return draw


def _closures(f: ReportFigures) -> Any:
    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        items = [("Con conformidad\ndel cliente", f.closed_confirmed),
                 ("Sin respuesta\ndel cliente", f.closed_no_answer)]
        if not f.closed_confirmed and not f.closed_no_answer:
            _empty(ax, "Sin cierres en el período")
            return
        bars = ax.bar([label for label, _ in items], [n for _, n in items],
                      color=[OKABE_ITO[2], OKABE_ITO[5]], width=0.55)
        total = f.closed_confirmed + f.closed_no_answer
        ax.bar_label(bars, labels=[f"{n} ({round(100 * n / total)} %)" for _, n in items],
                     padding=3, fontsize=_FONT)
        ax.set_ylim(0, max(n for _, n in items) * 1.25)
        ax.yaxis.set_visible(False)
        ax.spines["left"].set_visible(False)
    return draw


def _satisfaction(f: ReportFigures) -> Any:
    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        s = f.satisfaction
        if not s.answered:
            _empty(ax, f"Sin respuestas ({s.asked} encuestas)")
            return
        colors = [OKABE_ITO[3], OKABE_ITO[1], OKABE_ITO[6], OKABE_ITO[4], OKABE_ITO[0]]
        bars = ax.bar(["1", "2", "3", "4", "5"], list(s.counts), color=colors,
                      edgecolor="#333333", linewidth=0.6)
        ax.bar_label(bars, padding=3, fontsize=_FONT)
        ax.set_ylim(0, max(s.counts) * 1.25)
        ax.yaxis.set_visible(False)
        ax.spines["left"].set_visible(False)
        avg = f"{s.average:.1f}".replace(".", ",")
        ax.set_xlabel(f"Calificación (1 = muy mal, 5 = muy bien) · promedio {avg} · "
                      f"{s.answered} de {s.asked}", fontsize=_FONT - 2)
    return draw
