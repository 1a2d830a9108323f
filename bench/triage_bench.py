"""Triage: how good and how fast the suggested Tipo_Incidencia / Prioridad is.

    python bench/triage_bench.py bench/triage/labelled.jsonl [--split test] [--repeat 20]

Scores the day-one rules on the labelled file (only the ``--split`` lines, ``test`` by
default: the rules were tuned on ``tune``), then times one suggestion per message:
the rules alone, the rules with a learner in use for both fields (trained here on the
other split, forced on, to show its cost), a long email (cut at the analysed bound), and,
as the floor measured in the same run, normalisation alone.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _common import machine, percentile, print_table

from bot.process.domain import Prioridad, TipoIncidencia
from bot.process.settings import Settings
from bot.triage.evaluate import read_labelled, score
from bot.triage.learner import train
from bot.triage.normalise import MAX_CHARS, normalise
from bot.triage.rules import message_text, suggest_rules
from bot.triage.service import TriageService


def timings(fn: Callable[[str, str | None], object], texts: list[tuple[str, str | None]],
            repeat: int) -> tuple[list[float], list[float]]:
    """(wall ms, this thread's CPU ms) per call: on a shared, loaded machine the CPU time
    is what the suggestion costs, the wall time adds whatever else the cores were doing."""
    out: tuple[list[float], list[float]] = ([], [])
    gc.collect()
    gc.disable()  # as timeit does: a collection mid-call is the machine's noise, not ours
    try:
        _run(fn, texts, repeat, out)
    finally:
        gc.enable()
    return out


def _run(fn: Callable[[str, str | None], object], texts: list[tuple[str, str | None]],
         repeat: int, out: tuple[list[float], list[float]]) -> None:
    for _ in range(repeat):
        for text, subject in texts:
            start, cpu = time.perf_counter(), time.thread_time()
            fn(text, subject)
            out[1].append((time.thread_time() - cpu) * 1000)
            out[0].append((time.perf_counter() - start) * 1000)


def row(name: str, measured: tuple[list[float], list[float]]) -> list[object]:
    wall, cpu = measured
    return [name, len(wall), f"{percentile(wall, 50):.3f}", f"{percentile(wall, 99):.3f}",
            f"{sum(wall) / len(wall):.3f}", f"{percentile(cpu, 50):.3f}",
            f"{percentile(cpu, 99):.3f}", f"{max(cpu):.3f}", f"{sum(cpu) / len(cpu):.3f}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="labelled JSON lines")
    parser.add_argument("--split", default="test", help="the lines to score ('' for all)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rows, skipped = read_labelled(args.file, args.split or None)
    if not rows:
        print(f"no lines with split {args.split!r} in {args.file}", file=sys.stderr)
        return 1
    result = score(rows, suggest_rules)
    figures = result.as_json()
    print(f"{machine()}\n{args.file} split={args.split or 'all'}: n={result.n} "
          f"(skipped {skipped})")
    print_table(["field", "score"], [
        ["Tipo_Incidencia accuracy", f"{figures['tipo_accuracy']:.1%}"],
        ["Prioridad accuracy", f"{figures['prioridad_accuracy']:.1%}"],
        ["Alta recall", f"{figures['alta_recall']:.1%} of {result.alta_total}"]])

    texts = [(r.text, r.subject) for r in rows]
    service = TriageService(Settings(_env_file=None), clock=None)  # type: ignore[arg-type, call-arg]
    others, _ = read_labelled(args.file, None)
    learn_from = [r for r in others if r.split != args.split] or others
    norms = [(normalise(message_text(r.subject, r.text)), r) for r in learn_from]
    service._models = {  # forced on, to time a suggestion that uses the learner
        "tipo": train([(n, r.tipo.value) for n, r in norms], [t.value for t in TipoIncidencia]),
        "prioridad": train([(n, r.prioridad.value) for n, r in norms],
                           [p.value for p in Prioridad])}
    long_email = [(" ".join(r.text for r in rows)[: MAX_CHARS * 3], None)]
    table = [
        row("floor: normalise only", timings(lambda t, s: normalise(message_text(s, t)),
                                             texts, args.repeat)),
        row("rules", timings(suggest_rules, texts, args.repeat)),
        row("rules + learner (both fields)", timings(service.suggest, texts, args.repeat)),
        row(f"rules, long email (cut at {MAX_CHARS} chars)",
            timings(suggest_rules, long_email, args.repeat * 10)),
    ]
    print_table(["path (ms per suggestion)", "n", "wall p50", "wall p99", "wall mean",
                 "cpu p50", "cpu p99", "cpu max", "cpu mean"], table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
