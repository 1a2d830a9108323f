"""Benchmark 2a: email intake throughput and threading, against django-helpdesk.

Run: ``python bench/intake_email.py [--sizes 1000 5000] [--runs 1]
[--skip-anchor] [--skip-imap] [--anchor-ordered] [--profile] [--before DIR]``
(``--before``: an earlier copy of the code, whose runs alternate with ours).

The corpus is ``make_corpus.py --n N`` from the shared bench folder (``--shared DIR``) (deterministic, the peer's
seed). Each run gets a fresh migrated SQLite file (``db.connection.upgrade``, not timed:
the peer copies a migrated template too) and a fresh child process that does only the
timed work, so its peak RSS is its own (plus its helper process's, where the import
uses one):

- ``dir``: ``handlers.email.import_path`` on the corpus directory (it feeds messages in
  Date order, i.e. arrival order) -- what ``atiende mail import DIR`` does;
- ``shuffled``: the same files in a seeded random order through ``import_messages`` (a
  reply often arrives before its parent and must still land on its thread's ticket);
- ``imap``: the corpus APPENDed (not timed) to a throw-away Dovecot
  (``tests/servers/imap.py``), then ``handlers.email.imap.ImapReader`` drains the folder
  (fetch, ingest, mark seen; one message at a time, as in production).

"command emails/s" counts from spawning the child (interpreter start, imports, opening
the database) to the last message committed, like the peer's timing of
``manage.py get_email``; "ingest emails/s" is the ingest loop alone. Threading accuracy
is scored against ``manifest.tsv`` through the interactions' ``external_id``
(Message-ID): "all" is the share of messages on their thread root's ticket, "replies"
the share of replies (the peer's own figure). Then, back to back, the peer:
``anchor_django_helpdesk.sh N`` from the same folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    ROOT,
    emit_result,
    fresh_database,
    machine,
    median,
    pct,
    peak_rss_mb,
    print_table,
    ratio,
    spawn_child,
    tail,
)

# The corpus generator and the peer's script; by default the shared folder beside the clone.
DEFAULT_SHARED = ROOT.parent / "shared" / "bench"
SEED = 20240301  # the peer's corpus seed: byte-identical corpora
SHUFFLE_SEED = 7
SUPPORT = "soporte@helpdesk-bench.example"  # the corpus's To: address
VARIANTS = ("dir", "shuffled", "imap")


# ======================================================================== child ======
async def _child(spec: dict[str, Any]) -> None:
    imported = time.time()
    from bot.app import logs
    from bot.process.settings import Settings
    from db.connection import close_database, open_database

    logs.configure(spec["log_level"])
    settings = Settings(_env_file=None, data_dir=Path(spec["data_dir"]),  # type: ignore[call-arg]
                        database_url=spec["db_url"], smtp_from=SUPPORT, **spec.get("imap", {}))
    await open_database(settings.effective_database_url)
    try:
        from bot.services import build_services

        services = build_services(settings)
        profiler = None
        if spec.get("profile"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.time()
        outcomes = await _INGEST[spec["variant"]](services, spec)
        ended = time.time()
        if profiler is not None:
            profiler.disable()
            _dump_profile(profiler, Path(spec["profile"]))
        # The import's helper process (``handlers/email/ahead.py``) is this process's
        # child, waited for by now: its peak counts too, summed (an upper bound: forked,
        # the two share pages).
        rss = peak_rss_mb() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        score = await _score(Path(spec["manifest"]))
    finally:
        await close_database()
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]  # uvloop or asyncio
    emit_result({"imported_at": imported, "started": started, "ended": ended, "rss_mb": rss,
                 "outcomes": outcomes, "loop": loop, **score})


def run_child(spec: dict[str, Any]) -> None:
    """The child on the event loop its tree's ``atiende`` commands run on (the standard
    loop for a tree from before ``bot.app.event_loop``)."""
    if spec.get("tree"):  # nothing of the product is imported yet: that tree's code wins
        sys.path.insert(0, spec["tree"])
    try:
        from bot.app import event_loop
    except ImportError:
        asyncio.run(_child(spec))
        return
    from bot.process.settings import Settings

    event_loop.run(_child(spec), Settings(_env_file=None).event_loop)  # type: ignore[call-arg]


async def _ingest_dir(services: Any, spec: dict[str, Any]) -> dict[str, int]:
    from handlers.email import import_path

    report = await import_path(services, spec["corpus"])
    return {**report.outcomes, "errors": len(report.errors)}


async def _ingest_shuffled(services: Any, spec: dict[str, Any]) -> dict[str, int]:
    from handlers.email.importer import ImportReport, import_messages

    files = _shuffled(Path(spec["corpus"]), spec["shuffle_seed"])
    report = await import_messages(services, ((p.name, p.read_bytes()) for p in files),
                                   ImportReport(spec["corpus"]))
    return {**report.outcomes, "errors": len(report.errors)}


async def _ingest_imap(services: Any, spec: dict[str, Any]) -> dict[str, int]:
    from handlers.email.imap import ImapReader
    from handlers.email.ingest import EmailIngestor

    ingestor = EmailIngestor(services)
    outcomes: dict[str, int] = {}

    async def ingest(raw: bytes) -> object:
        result = await ingestor.ingest(raw)
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        return result

    reader = ImapReader(services.settings, ingest)
    stop = asyncio.Event()
    task = asyncio.create_task(reader.run(stop))
    while reader.passes < 1:  # the first pass drains the folder, then it would IDLE
        if reader.failures or task.done():
            stop.set()
            raise RuntimeError(f"IMAP reader failed (failures={reader.failures})")
        await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(task, 30)
    return outcomes


_INGEST = {"dir": _ingest_dir, "shuffled": _ingest_shuffled, "imap": _ingest_imap}


def _shuffled(corpus: Path, seed: int) -> list[Path]:
    files = sorted(corpus.glob("*.eml"))
    random.Random(seed).shuffle(files)
    return files


async def _score(manifest: Path) -> dict[str, Any]:
    """Which ticket each corpus message ended on, against its thread root's ticket."""
    from bot.process.domain import Canal, InteractionKind
    from db.models import Interaction, Ticket

    rows = await Interaction.filter(channel=Canal.EMAIL, kind=InteractionKind.INBOUND) \
        .values_list("external_id", "ticket_id")
    ticket_of = {mid: ticket for mid, ticket in rows}
    entries = _manifest(manifest)
    ok = ok_replies = replies = missing = 0
    for _index, mid, in_reply_to, root in entries:
        mine, roots = ticket_of.get(mid), ticket_of.get(entries[root][1])
        good = mine is not None and mine == roots
        ok += good
        missing += mine is None
        if in_reply_to:
            replies += 1
            ok_replies += good
    return {"tickets": await Ticket.all().count(), "interactions": len(rows),
            "messages": len(entries), "threaded": ok, "replies": replies,
            "replies_threaded": ok_replies, "missing": missing,
            "roots": sum(1 for e in entries if e[0] == e[3])}


def _manifest(path: Path) -> list[tuple[int, str, str, int]]:
    """(index, message_id, in_reply_to, thread_root_index) per message, by index."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        cols = line.split("\t")
        out.append((int(cols[0]), cols[1], cols[2], int(cols[3])))
    out.sort()
    return out


def _dump_profile(profiler: Any, path: Path) -> None:
    import io
    import pstats

    profiler.dump_stats(str(path.with_suffix(".prof")))
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    path.write_text(text.getvalue())


# ======================================================================= parent ======
def corpus_for(work: Path, n: int, shared: Path) -> tuple[Path, Path]:
    """The corpus directory and its manifest (generated once per work dir)."""
    corpus, manifest = work / "corpus" / f"n{n}", work / "corpus" / f"n{n}.manifest.tsv"
    if not manifest.exists() or len(list(corpus.glob("*.eml"))) != n:
        shutil.rmtree(corpus, ignore_errors=True)
        corpus.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(shared / "make_corpus.py"), "--n", str(n), "--seed", str(SEED),
                        "--out", str(corpus)], check=True, stdout=subprocess.DEVNULL)
    return corpus, manifest


def replies_before_parent(manifest: Path, seed: int, corpus: Path) -> int:
    """How many replies the shuffled order delivers before their parent."""
    entries = _manifest(manifest)
    position = {int(p.stem): i for i, p in enumerate(_shuffled(corpus, seed))}
    index_of = {mid: idx for idx, mid, _irt, _root in entries}
    return sum(1 for idx, _mid, irt, _root in entries
               if irt and position[idx] < position.get(index_of.get(irt, idx), -1))


async def append_all(account: Any, corpus: Path) -> float:
    """APPEND every message in arrival order over one connection; returns seconds."""
    from aioimaplib import IMAP4

    started = time.perf_counter()
    client = IMAP4(host=account.host, port=account.port, timeout=30)
    await client.wait_hello_from_server()
    if (await client.login(account.user, account.password)).result != "OK":
        raise RuntimeError("IMAP login failed")
    try:
        for path in sorted(corpus.glob("*.eml")):
            response = await client.append(path.read_bytes(), mailbox="INBOX")
            if response.result != "OK":
                raise RuntimeError(f"APPEND {path.name} failed: {response.lines}")
    finally:
        await client.logout()
    return time.perf_counter() - started


def run_ours(variant: str, n: int, corpus: Path, manifest: Path, work: Path, tag: str,
             args: argparse.Namespace, dovecot: Any, tree: Path | None = None
             ) -> dict[str, Any]:
    """One run of one pipeline; ``tree``: another copy of the code (``--before``)."""
    run_dir = work / "runs" / tag
    shutil.rmtree(run_dir, ignore_errors=True)
    spec: dict[str, Any] = {"variant": variant, "corpus": str(corpus), "manifest": str(manifest),
                            "db_url": fresh_database(run_dir), "data_dir": str(run_dir / "data"),
                            "shuffle_seed": SHUFFLE_SEED, "log_level": args.log_level}
    appended = None
    if variant == "imap":
        account = dovecot.new_account()
        appended = asyncio.run(append_all(account, corpus))
        spec["imap"] = {"imap_host": account.host, "imap_port": account.port,
                        "imap_tls": False, "imap_user": account.user,
                        "imap_password": account.password, "imap_poll_seconds": 3600.0}
    if args.profile:
        spec["profile"] = str(work / f"profile-{variant}-{n}.txt")
    if tree is not None:  # this harness, that tree's code (and its choice of event loop)
        spec["tree"] = str(tree.resolve())
    result = spawn_child(Path(__file__), ["--child", json.dumps(spec)], run_dir / "child.log")
    result["append_s"] = appended
    result["command_s"] = result["ended"] - result["spawned_at"]
    result["ingest_s"] = result["ended"] - result["started"]
    result["startup_s"] = result["started"] - result["spawned_at"]
    if not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    return result


_PEER = re.compile(r"django-helpdesk (\d+) emails: ([\d.]+) s, ([\d.]+) emails/s, (\d+) tickets,"
                   r" (\d+) followups, RSS (\d+) MB")
_PEER_RUN = re.compile(r"replies threaded onto their thread's ticket (\d+), not threaded (\d+)")
_PEER_START = re.compile(r"empty inbox.*: ([\d.]+) s, RSS (\d+) MB")
_PEER_ORDERED = re.compile(r"# ordered .* (\d+) emails: ([\d.]+) s, ([\d.]+) emails/s, (\d+) "
                           r"tickets, (\d+) followups, RSS (\d+) MB; replies threaded (\d+), "
                           r"not threaded (\d+)")


def run_peer(n: int, args: argparse.Namespace, log: Path) -> dict[str, Any]:
    env = {**os.environ, "ANCHOR_DIR": args.anchor_dir, "RUNS": str(args.runs),
           "ORDERED": "1" if args.anchor_ordered else "0"}
    proc = subprocess.run(["bash", str(args.shared / "anchor_django_helpdesk.sh"), str(n)], env=env, capture_output=True,
                          text=True, timeout=3600)
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"the peer failed (exit {proc.returncode}):\n{tail(log)}")
    runs: list[dict[str, Any]] = []
    out: dict[str, Any] = {"runs": runs, "lines": proc.stdout.splitlines()}
    for line in proc.stdout.splitlines():
        if m := _PEER.search(line):
            runs.append({"secs": float(m[2]), "rate": float(m[3]), "tickets": int(m[4]),
                         "followups": int(m[5]), "rss": float(m[6])})
        elif (m := _PEER_RUN.search(line)) and runs:
            runs[-1]["ok"], runs[-1]["bad"] = int(m[1]), int(m[2])
        elif m := _PEER_START.search(line):
            out["startup_s"], out["startup_rss"] = float(m[1]), float(m[2])
        elif m := _PEER_ORDERED.search(line):
            out["ordered"] = {"rate": float(m[3]), "tickets": int(m[4]), "rss": float(m[6]),
                              "ok": int(m[7]), "bad": int(m[8])}
    if not runs:
        raise RuntimeError(f"no result line in the peer's output:\n{proc.stdout[-2000:]}")
    return out


def same_corpus(manifest: Path, n: int, anchor_dir: str) -> str:
    theirs = Path(anchor_dir) / "corpus" / f"s{SEED}" / f"n{n}.manifest.tsv"
    if not theirs.exists():
        return "unknown"
    return "yes" if theirs.read_bytes() == manifest.read_bytes() else "NO"


def summarise(n: int, ours: dict[str, list[dict[str, Any]]], peer: dict[str, Any] | None
              ) -> list[list[object]]:
    peer_rate = median([r["rate"] for r in peer["runs"]]) if peer else None
    peer_rss = median([r["rss"] for r in peer["runs"]]) if peer else None
    rows: list[list[object]] = []
    for variant, results in ours.items():
        if not results:
            continue
        command = median([n / r["command_s"] for r in results])
        rss = median([r["rss_mb"] for r in results])
        last = results[-1]
        rows.append([n, f"atiende {variant}", command,
                     median([n / r["ingest_s"] for r in results]),
                     median([r["startup_s"] for r in results]), rss, last["tickets"],
                     pct(last["threaded"], last["messages"]),
                     pct(last["replies_threaded"], last["replies"]),
                     ratio(command, peer_rate), ratio(rss, peer_rss)])
    if peer:
        ok = median([r.get("ok", 0) for r in peer["runs"]])
        bad = median([r.get("bad", 0) for r in peer["runs"]])
        rows.append([n, "django-helpdesk dir", peer_rate, None, peer.get("startup_s"), peer_rss,
                     peer["runs"][-1]["tickets"], None, pct(ok, ok + bad), "1.00x", "1.00x"])
        if "ordered" in peer:
            o = peer["ordered"]
            rows.append([n, "django-helpdesk 1-by-1", o["rate"], None, None, o["rss"],
                         o["tickets"], None, pct(o["ok"], o["ok"] + o["bad"]),
                         ratio(o["rate"], peer_rate), ratio(o["rss"], peer_rss)])
    return rows


HEADERS = ["N", "pipeline", "command emails/s", "ingest emails/s", "start-up s",
           "peak RSS MB", "tickets", "threaded (all)", "replies threaded", "emails/s vs peer",
           "RSS vs peer"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--runs", type=int, default=1, help="runs per pipeline and size "
                        "(and the peer's RUNS); medians are printed")
    parser.add_argument("--skip-anchor", action="store_true", help="do not run the peer")
    parser.add_argument("--skip-imap", action="store_true", help="no Dovecot run")
    parser.add_argument("--anchor-ordered", action="store_true",
                        help="also the peer fed one file at a time in arrival order")
    parser.add_argument("--anchor-dir", default=os.environ.get("ANCHOR_DIR", "/tmp/anchor"))
    parser.add_argument("--work", type=Path, help="work directory (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep databases and logs")
    parser.add_argument("--log-level", default="INFO", help="our logging (production: INFO)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the ingest loop; top functions written to the work dir")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help="folder with make_corpus.py and the peer's script "
                        "(default: ../shared/bench beside the clone)")
    parser.add_argument("--before", type=Path,
                        help="another copy of the code (e.g. `git archive <commit>` unpacked): "
                        "its dir and shuffled runs alternate with ours, as 'before' rows")
    parser.add_argument("--cli-startup", type=int, default=0, metavar="TIMES",
                        help="also time the real `atiende mail import` of an empty folder "
                        "(argument parsing, settings, migration check, imports), TIMES "
                        "runs per tree, trees alternating")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(json.loads(args.child))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="atiende-bench-intake-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# {machine()}\n# work dir {work}; our log level {args.log_level}", flush=True)
    variants = [v for v in VARIANTS if not (v == "imap" and args.skip_imap)]
    dovecot = None
    if "imap" in variants:
        dovecot = _start_dovecot()
        if dovecot is None:
            variants.remove("imap")
    rows: list[list[object]] = []
    try:
        for n in args.sizes:
            corpus, manifest = corpus_for(work, n, args.shared)
            print(f"# N={n}: {len(list(corpus.glob('*.eml')))} files, shuffled order delivers "
                  f"{replies_before_parent(manifest, SHUFFLE_SEED, corpus)} replies before "
                  f"their parent", flush=True)
            before = [v for v in variants if v != "imap"] if args.before else []
            ours: dict[str, list[dict[str, Any]]] = {
                **{f"before {v}": [] for v in before}, **{v: [] for v in variants}}
            for run in range(args.runs):
                for variant in variants:  # before and after back to back, run by run
                    if variant in before:
                        result = run_ours(variant, n, corpus, manifest, work,
                                          f"before-{variant}-{n}-{run}", args, dovecot,
                                          tree=args.before)
                        ours[f"before {variant}"].append(result)
                        _progress(f"before {variant}", n, run, result)
                    result = run_ours(variant, n, corpus, manifest, work,
                                      f"{variant}-{n}-{run}", args, dovecot)
                    ours[variant].append(result)
                    _progress(variant, n, run, result)
            peer = None
            if not args.skip_anchor:
                peer = run_peer(n, args, work / f"peer-{n}.log")
                for line in peer["lines"]:
                    print(f"#   peer| {line}", flush=True)
                print(f"#   same corpus as the peer: "
                      f"{same_corpus(manifest, n, args.anchor_dir)}", flush=True)
            rows += summarise(n, ours, peer)
    finally:
        if dovecot is not None:
            dovecot.stop()
    print()
    print_table(HEADERS, rows, title=f"Email intake (medians of {args.runs} run(s); "
                                     f"fresh SQLite file per run)")
    if args.cli_startup:
        trees = ([("before", args.before)] if args.before else []) + [("ours", ROOT)]
        print()
        print_table(["tree", "atiende mail import start-up s (median)", "runs"],
                    cli_startup(work, trees, args.cli_startup),
                    title="The real command's start-up: `python -m bot mail import EMPTY -q` "
                          "on a migrated SQLite file, spawn to exit")
    if args.profile:
        print(f"\n# profiles: {work}/profile-*.txt")


def cli_startup(work: Path, trees: list[tuple[str, Path]], times: int) -> list[list[object]]:
    """What `atiende mail import` costs before its first mail (and to close): the whole
    command on an empty folder, each tree's code run from its own directory."""
    empty = work / "cli-empty"
    empty.mkdir(exist_ok=True)
    data = work / "cli-data"
    shutil.rmtree(data, ignore_errors=True)
    env = {**os.environ, "ATIENDE_DATA_DIR": str(data),
           "ATIENDE_DATABASE_URL": fresh_database(data / "db")}
    spent: dict[str, list[float]] = {name: [] for name, _ in trees}
    for _ in range(times):
        for name, tree in trees:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bot", "mail", "import", str(empty), "-q"],
                           cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
            spent[name].append(time.perf_counter() - started)
    return [[name, f"{median(values):.3f}", len(values)] for name, values in spent.items()]


def _start_dovecot() -> Any:
    try:
        from tests.servers.imap import DovecotServer

        return DovecotServer().start()
    except BaseException as exc:  # pytest's skip is a BaseException; say why and go on
        if isinstance(exc, KeyboardInterrupt):
            raise
        print(f"# IMAP run skipped: {type(exc).__name__}: {exc}", flush=True)
        return None


def _progress(variant: str, n: int, run: int, r: dict[str, Any]) -> None:
    append = f", APPEND {r['append_s']:.1f} s (not timed)" if r.get("append_s") else ""
    print(f"#   atiende {variant} N={n} run {run + 1}: {r['command_s']:.2f} s command, "
          f"{r['ingest_s']:.2f} s ingest, RSS {r['rss_mb']:.0f} MB, {r['tickets']} tickets "
          f"(roots {r['roots']}), threaded {r['threaded']}/{r['messages']}, replies "
          f"{r['replies_threaded']}/{r['replies']}, missing {r['missing']}, outcomes "
          f"{r['outcomes']}{append}, {r.get('loop', '?')} loop", flush=True)


if __name__ == "__main__":
    main()
