"""Benchmark 2f: the email side's own CPU per mail, without the database.

Run: ``python bench/email_side_cpu.py CORPUS_DIR [--before DIR] [--rounds 7] [--pairs 3]``
(CORPUS_DIR: ``make_corpus.py --n 1000`` from the shared bench folder, as in
``intake_email.py``; ``--before``: an earlier copy of the code).

What ``EmailIngestor`` does to a mail before and around the intake, in process, over
every file of the corpus: the inbox key and the parse (``parse_mail``), the own-mail
and automatic-mail checks, the thread refs, the quote stripping, and the triage
suggestion for the 705 mails of 1,000 that open a ticket (the share of thread roots).
Each tree runs in its own child process (so the two never share modules), trees
alternating pair by pair; a child reports the least CPU time (``process_time``) of
``--rounds`` passes, which is what the code costs when the machine lets it run: the
whole import's CPU per mail moves by more than these savings from one run to the next
on a shared machine (``intake_email.py`` measures that).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, machine, median, print_table

SUPPORT = "soporte@helpdesk-bench.example"
ROOTS_SHARE = 705 / 1000  # the corpus's thread roots: the mails that open a ticket


def _child(tree: str, corpus: str, rounds: int) -> None:
    sys.path.insert(0, tree)
    import handlers.email.parse as parse
    from bot.triage.normalise import normalise
    from bot.triage.rules import message_text, suggest_normalised
    from handlers.email.automatic import automatic_reason, is_own_mail
    from handlers.email.ingest import inbox_key
    from handlers.email.quotes import strip_quotes
    from handlers.email.threading import thread_refs

    raws = [p.read_bytes() for p in sorted(Path(corpus).glob("*.eml"))]
    limit = 256 * 1024
    shared_head = hasattr(parse, "read_head")  # the tree parses the header block once
    opening = int(len(raws) * ROOTS_SHARE)

    def one_pass(triage: bool) -> float:
        started = time.process_time()
        for i, raw in enumerate(raws):
            if shared_head:
                head = parse.read_head(raw, limit)
                inbox_key(raw, limit, head)
                mail = parse.parse_mail(raw, None, head)
            else:
                inbox_key(raw, limit)
                mail = parse.parse_mail(raw)
            is_own_mail(mail, SUPPORT, SUPPORT.rpartition("@")[2])
            automatic_reason(mail)
            thread_refs(mail)
            strip_quotes(mail.text)
            if triage and i < opening:
                suggest_normalised(normalise(message_text(mail.subject, mail.text)))
        return (time.process_time() - started) * 1000 / len(raws)

    parse_ms = min(one_pass(False) for _ in range(rounds))
    total_ms = min(one_pass(True) for _ in range(rounds))
    print(json.dumps({"parse_ms": parse_ms, "total_ms": total_ms, "mails": len(raws)}))


def _run(tree: Path, corpus: Path, rounds: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", str(tree), str(corpus),
                          "--rounds", str(rounds)], capture_output=True, text=True,
                         check=True, cwd=tree)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--before", type=Path, help="an earlier copy of the code")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, str(args.corpus), args.rounds)
        return
    print(f"# {machine()}", flush=True)
    trees = ([("before", args.before)] if args.before else []) + [("after", ROOT)]
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in trees}
    for pair in range(args.pairs):
        for name, tree in trees:
            result = _run(tree, args.corpus, args.rounds)
            results[name].append(result)
            print(f"#   {name} pair {pair + 1}: parse {result['parse_ms']:.3f} ms/mail, "
                  f"with triage {result['total_ms']:.3f} ms/mail", flush=True)
    rows = []
    for name, runs in results.items():
        parse_ms = median([r["parse_ms"] for r in runs])
        total_ms = median([r["total_ms"] for r in runs])
        rows.append([name, f"{parse_ms:.3f}", f"{total_ms - parse_ms:.3f}", f"{total_ms:.3f}"])
    print_table(["tree", "key + parse + checks ms/mail", "triage ms/mail",
                 "email side ms/mail"], rows,
                title=f"\nEmail side's CPU per mail (medians of {args.pairs} pairs, "
                      f"each the least of {args.rounds} passes)")


if __name__ == "__main__":
    main()
