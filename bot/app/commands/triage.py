"""``atiende triage``: try the quick analysis on a text, score it on a labelled file,
retrain the learner on the company's examples.

``suggest`` and ``retrain`` open the database (the learner learns from the examples kept
there); ``eval`` scores the day-one rules alone, so its figures do not depend on any
database and can be compared across versions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.app.commands import Command, UsageError, with_services
from bot.app.progress import track
from bot.process.domain import Prioridad, TipoIncidencia
from bot.process.settings import Settings

if TYPE_CHECKING:  # imported where used: every other command starts without them
    from bot.services import Services
    from bot.triage.evaluate import Score
    from bot.triage.rules import Suggestion

MAX_TEXT = 20_000


def register(sub: Any) -> dict[str, Command]:
    triage = sub.add_parser("triage", help="análisis rápido: Tipo_Incidencia y Prioridad "
                                           "sugeridos").add_subparsers(dest="triage_command",
                                                                       required=True)
    suggest = triage.add_parser("suggest", help="sugiere tipo y prioridad para un texto")
    suggest.add_argument("text", help="el mensaje del cliente")
    suggest.add_argument("--subject", default=None, help="el asunto, si lo hay")
    suggest.add_argument("--json", action="store_true", help="salida en JSON")
    ev = triage.add_parser("eval", help="compara las sugerencias con un archivo etiquetado")
    ev.add_argument("file", help="JSON lines: channel, subject, text, tipo, prioridad")
    ev.add_argument("--split", default=None, help="solo las líneas con este split (p. ej. test)")
    ev.add_argument("--json", action="store_true", help="un objeto JSON con las cifras")
    triage.add_parser("retrain", help="reentrena con los ejemplos de la empresa")
    return {"triage": cmd_triage}


async def cmd_triage(args: argparse.Namespace, settings: Settings) -> int:
    if args.triage_command == "eval":
        return evaluate(args)
    async def work(services: Services) -> int:
        verdicts = await services.triage.retrain()
        if args.triage_command == "retrain":
            for verdict in verdicts:
                print(verdict.describe())
            return 0
        text = args.text[:MAX_TEXT]
        suggestion = services.triage.suggest(text, args.subject)
        print(json.dumps(suggestion.as_json(), ensure_ascii=False) if args.json
              else describe(suggestion))
        return 0

    return await with_services(settings, work)


def describe(s: Suggestion) -> str:
    """The suggestion as a person reads it, with the customer's words behind it."""
    origin = "modelo aprendido" if s.source != "reglas" else "reglas"
    lines = [f"Tipo_Incidencia: {s.tipo.value} ({s.tipo_confidence:.0%})",
             *[f"  · {r}" for r in s.tipo_reasons],
             f"Prioridad: {s.prioridad.value} ({s.prioridad_confidence:.0%})",
             *[f"  · {r}" for r in s.prioridad_reasons],
             f"(según: {origin})"]
    return "\n".join(lines)


def evaluate(args: argparse.Namespace) -> int:
    from bot.triage.evaluate import read_labelled, score
    from bot.triage.rules import suggest_rules

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"No existe {args.file}.")
    rows, skipped = read_labelled(path, args.split)
    result = score(track(rows, "Evaluando", unit="mensajes", quiet=args.quiet),
                   suggest_rules)
    result.skipped = skipped
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        print(report(result))
    if skipped:
        print(f"{skipped} líneas no se pudieron leer.", file=sys.stderr)
    return 0 if result.n else 1


def _pct(a: int, b: int) -> str:
    return f"{a / b:.1%}".replace(".", ",") + f" ({a}/{b})" if b else "— (0/0)"


def report(r: Score) -> str:
    from bot.triage.evaluate import confusion_lines

    lines = [f"Mensajes: {r.n}",
             f"Tipo_Incidencia: {_pct(r.tipo_ok, r.n)}",
             f"Prioridad: {_pct(r.prioridad_ok, r.n)}",
             f"Recall de Alta: {_pct(r.alta_found, r.alta_total)}", "",
             "Confusión (filas: etiqueta; columnas: sugerido)"]
    lines += confusion_lines("Tipo", r.tipo_confusion, [t.value for t in TipoIncidencia])
    lines.append("")
    lines += confusion_lines("Prioridad", r.prioridad_confusion, [p.value for p in Prioridad])
    return "\n".join(lines)
