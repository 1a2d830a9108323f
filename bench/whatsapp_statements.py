"""Statements per inbound WhatsApp text: opening a ticket, joining one; before/after.

Run: ``python bench/whatsapp_statements.py [--customers 20] [--before TREE] [--work DIR]``.

Each tree (ours, and with ``--before TREE`` another source tree, e.g. an earlier commit
unpacked with ``git archive <commit> | tar -x -C TREE``) runs in its own child process
on a fresh migrated SQLite file (``--postgres URL``: a fresh PostgreSQL database given by
URL instead), wired as ``atiende run`` wires it: the WhatsApp front end on the real web
server, the inbox worker running, the reminder planner and the satisfaction survey
subscribed, the team of the scenarios (the administrator gets new tickets). Each of
``customers`` customers sends one text that opens a ticket and four that join it, one
POST at a time over loopback.

What is counted (``tests/statements.py``, the same counter as the budget test
``tests/handlers/whatsapp/test_statements.py``): every data statement from the POST to
the inbox item's "processed" mark, both included: the webhook's insert, the worker's
own statements on the inbox row (scan, claim, read-back, mark), and all the intake does.
Transaction control (BEGIN/COMMIT, and a nested transaction's SAVEPOINT/RELEASE) is
shown apart. Chat front ends are not wired (no card redraws) and the acknowledgement is off (no outbox delivery).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from _common import ROOT, emit_result, machine, median, parse_result, print_table, tail

APP_SECRET = "bench-whatsapp-app-secret"
COUNTER = ROOT / "tests" / "statements.py"


def _counter() -> Any:
    """This tree's statement counter, whatever tree the child runs."""
    spec = importlib.util.spec_from_file_location("atiende_statements", COUNTER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


async def _child(spec: dict[str, Any]) -> None:
    counter = _counter()
    if spec.get("tree"):
        sys.path.insert(0, spec["tree"])
    import httpx

    from bot.app import logs
    from bot.app.frontend import wired
    from bot.incoming.csat import build_csat
    from bot.process.clock import ManualClock
    from bot.process.domain import Rol
    from bot.process.settings import Settings
    from bot.reminders import build_reminders
    from bot.services import build_services
    from db.connection import close_database, open_database, upgrade
    from handlers.web import build_web_server
    from handlers.whatsapp import build_front_end
    from tests.servers.fake_graph import sign_whatsapp

    logs.configure("WARNING")
    url = spec["db_url"]
    await upgrade(url)
    await open_database(url)
    settings = Settings(_env_file=None, data_dir=Path(spec["data_dir"]),  # type: ignore[call-arg]
                        database_url=url, http_host="127.0.0.1", http_port=0,
                        timezone="America/Santiago", holidays_country="CL",
                        whatsapp_app_secret=APP_SECRET, whatsapp_verify_token="bench",
                        whatsapp_token="bench", whatsapp_phone_number_id="1122334455667",
                        whatsapp_api_url="http://127.0.0.1:9/v21.0")  # never called
    clock = ManualClock(datetime(2026, 12, 4, 11, 0, tzinfo=ZoneInfo("America/Santiago")))
    services = build_services(settings, clock)
    await services.team.add("Carla", Rol.ADMIN, email="carla@empresa.cl", telegram_user_id=1001)
    build_reminders(services)
    build_csat(services)
    front = wired(services, build_front_end(services))
    web = build_web_server(services, [front])
    assert web is not None
    inbox = services.inbox
    # The worker runs as in ``atiende run``; ``settle`` waits for it. An older tree has no
    # ``settle``: its ``drain`` is then the worker (one scan, claim and read per message,
    # as its loop did; both at once would scan and claim twice).
    settle = getattr(inbox, "settle", None)
    stop = asyncio.Event()
    worker = asyncio.create_task(inbox.run(stop, idle_seconds=3600) if settle else stop.wait())
    settle = settle or inbox.drain
    await front.start()
    await web.start()
    counts: dict[str, list[int]] = {"opens": [], "joins": []}
    control: dict[str, list[int]] = {"opens": [], "joins": []}
    sample: dict[str, list[str]] = {}
    try:
        async with httpx.AsyncClient(base_url=web.url, timeout=30) as http:
            await asyncio.sleep(0)
            await settle()
            for c in range(spec["customers"]):
                for n in range(5):
                    body = json.dumps(_payload(f"wamid.{c}.{n}", f"5699{c:07d}",
                                               f"Hola, mensaje {n} de la sucursal {c}")).encode()
                    with counter.count_statements() as seen:
                        response = await http.post(
                            "/webhooks/whatsapp", content=body,
                            headers={"Content-Type": "application/json",
                                     "X-Hub-Signature-256": sign_whatsapp(APP_SECRET, body)})
                        await settle()
                    assert response.status_code == 200, response.status_code
                    sql = _until_processed(seen.sql)
                    case = "opens" if n == 0 else "joins"
                    counts[case].append(len(sql))
                    control[case].append(len(seen.transactions))
                    sample.setdefault(case, sql)
    finally:
        stop.set()
        await worker
        await web.stop()
        await front.stop()
        await close_database()
    emit_result({"code": str(Path(sys.modules["bot"].__file__ or "").parent.parent),
                 "counts": counts,
                 "control": control, "sample": sample})


def _until_processed(sql: list[str]) -> list[str]:
    """Up to and including the inbox item's "processed" mark (an older tree's worker
    then scans the table once more, idle: that belongs to no message)."""
    marks = [i for i, s in enumerate(sql) if s.startswith('UPDATE "inbox" SET "status"')]
    return sql[:marks[-1] + 1] if marks else sql


def _payload(wamid: str, phone: str, text: str) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{
        "id": "1234567890987654321", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "56221234567",
                         "phone_number_id": "1122334455667"},
            "contacts": [{"profile": {"name": "Cliente"}, "wa_id": phone}],
            "messages": [{"from": phone, "id": wamid, "timestamp": "1796334600",
                          "type": "text", "text": {"body": text}}]}}]}]}


def _run(label: str, tree: Path | None, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    run_dir = work / label
    run_dir.mkdir(parents=True, exist_ok=True)
    url = args.postgres or f"sqlite://{run_dir / 'atiende.db'}"
    spec = {"customers": args.customers, "db_url": url, "data_dir": str(run_dir / "data"),
            "tree": str(tree.resolve()) if tree else None}
    log = run_dir / "child.log"
    with log.open("wb") as err:
        done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                              stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT,
                              timeout=1800, check=False)
    result = parse_result(done.stdout)
    if done.returncode != 0 or result is None:
        raise RuntimeError(f"{label} failed (exit {done.returncode}):\n{tail(log)}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--before", type=Path, help="another source tree to compare with")
    parser.add_argument("--postgres", help="a fresh PostgreSQL database URL per run "
                        "instead of SQLite (give it only with one tree)")
    parser.add_argument("--work", type=Path, help="work directory (default: a temp dir)")
    parser.add_argument("--show", action="store_true", help="print each case's statements")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_child(json.loads(args.child)))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="atiende-bench-statements-"))
    print(f"# {machine()}\n# work dir {work}; {args.customers} customers x (1 opening + 4 "
          f"joining texts)", flush=True)
    runs = ([("before", args.before)] if args.before else []) + [("after", None)]
    rows: list[list[object]] = []
    for label, tree in runs:
        r = _run(label, tree, args, work)
        print(f"#   {label}: code from {r['code']}", flush=True)
        for case, title in (("opens", "text that opens a ticket"),
                            ("joins", "text that joins its ticket")):
            values = r["counts"][case]
            rows.append([label, title, len(values), median(values), max(values),
                         median(r["control"][case])])
            if args.show:
                print(f"\n{label}, {title}:")
                for i, sql in enumerate(r["sample"][case], 1):
                    print(f"  {i:>2}. {sql[:110]}")
    print()
    print_table(["tree", "case", "texts", "statements (median)", "max", "BEGIN/COMMIT/SAVEPOINT/RELEASE"],
                rows, title="SQL statements per inbound WhatsApp text, webhook to processed")


if __name__ == "__main__":
    main()
