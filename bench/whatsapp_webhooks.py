"""Benchmark 2b: signed WhatsApp webhooks over loopback, against a signature-only floor.

Run: ``python bench/whatsapp_webhooks.py [--messages 2000]
[--customers 400] [--concurrency 16 64] [--runs 1] [--before TREE]``.

Two servers, each in its own process, served the same way (``handlers.web.WebServer``:
uvicorn embedded, on a free 127.0.0.1 port):

- ``atiende``: our real web server (``handlers.web.build_web_server``) with the WhatsApp
  front end (``handlers.whatsapp.build_front_end``) on a fresh migrated SQLite file: each
  POST is verified, parsed and stored in the inbox before its 200, and the inbox worker
  (running in the same process, as in ``atiende run``) turns it into a ticket or
  interaction after; the counts are taken once the worker has caught up;
- ``floor``: a bare Starlette handler that reads the body, verifies
  ``X-Hub-Signature-256`` (``handlers.whatsapp.signature.is_valid``) and answers 200;
- ``before`` (with ``--before TREE``): the ``atiende`` server run from another source
  tree (an earlier commit, e.g. ``git archive <commit> | tar -x -C TREE``), back to back
  with ours in the same run.

``server CPU ms/msg`` covers the timed window; ``to processed`` covers the server's CPU
from the start of the window until the inbox worker has processed every message (the
worker may still be catching up when the last 200 goes out).

The client (this process, ``httpx.AsyncClient``, ``concurrency`` workers on as many
keep-alive connections) posts ``messages`` text messages from ``customers`` customers
(customer ``i % customers`` sends message ``i``, so a customer's first message opens a
ticket and the rest join it), signed beforehand with ``tests.servers.fake_graph
.sign_whatsapp``. Server and client are separate processes so that on 2 cores neither
steals the other's interpreter; both processes' CPU use is printed, so a client-bound
figure shows itself (client CPU near 100 %). Each run gets a fresh server process (and
database), warmed with a few requests from other customers first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    ROOT,
    cpu_seconds,
    emit_result,
    fresh_database,
    machine,
    median,
    parse_result,
    peak_rss_mb,
    percentile,
    print_table,
    ratio,
    tail,
)

APP_SECRET = "bench-whatsapp-app-secret"
PATH = "/webhooks/whatsapp"
PHONE_NUMBER_ID = "1122334455667"
WARMUP = 32


# ======================================================================= server ======
async def _serve(spec: dict[str, Any]) -> None:
    if spec.get("tree"):  # ``--before``: that tree's code, this script's harness
        sys.path.insert(0, spec["tree"])
    from bot.app import logs
    from handlers.web import WebServer

    logs.configure(spec["log_level"])
    if spec.get("nodelay"):
        _listen_with_nodelay()
    front = None
    worker: asyncio.Task[None] | None = None
    inbox: Any = None
    if spec["kind"] == "atiende":
        from bot.app.frontend import wired
        from bot.process.settings import Settings
        from bot.services import build_services
        from db.connection import close_database, open_database
        from handlers.web import build_web_server
        from handlers.whatsapp import build_front_end

        settings = Settings(_env_file=None, data_dir=Path(spec["data_dir"]),  # type: ignore[call-arg]
                            database_url=spec["db_url"], http_host="127.0.0.1", http_port=0,
                            whatsapp_app_secret=APP_SECRET, whatsapp_verify_token="bench",
                            whatsapp_token="bench", whatsapp_phone_number_id=PHONE_NUMBER_ID,
                            whatsapp_api_url="http://127.0.0.1:9/v21.0")  # never called
        await open_database(settings.effective_database_url)
        services = build_services(settings)
        front = wired(services, build_front_end(services))
        web = build_web_server(services, [front])
        assert web is not None
        await front.start()
        inbox = getattr(services, "inbox", None)  # the inbox worker, as `atiende run` runs it
        if inbox is not None and spec.get("worker", "inline") == "inline":
            worker_stop = asyncio.Event()
            worker = asyncio.create_task(inbox.run(worker_stop))
    else:
        web = WebServer(_floor_app(), "127.0.0.1", 0)
    await web.start()
    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile(time.thread_time)  # CPU, not waiting
        profiler.enable()
    print(f"READY {web.port}", flush=True)
    loop = asyncio.get_running_loop()
    marked, marked_main = time.process_time(), time.thread_time()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "mark":
        await _caught_up(inbox)  # the warm-up processed: the window starts clean
        marked, marked_main = time.process_time(), time.thread_time()
        print("MARKED", flush=True)
    await _caught_up(inbox)
    processed_cpu = time.process_time() - marked
    main_cpu = time.thread_time() - marked_main  # the event loop's thread alone
    rss = peak_rss_mb()
    if profiler is not None:
        profiler.disable()
        _dump_profile(profiler, Path(spec["profile"]))
    await web.stop()
    counts: dict[str, int] = {}
    if front is not None:
        await front.stop()
        if worker is not None:  # what was acknowledged is processed before counting
            worker_stop.set()
            await worker
        if inbox is not None:  # --worker after: the whole backlog, after the timed window
            await inbox.drain(rounds=10_000)
        counts = await _counts()
        await close_database()
    emit_result({"rss_mb": rss, "processed_cpu": processed_cpu, "main_cpu": main_cpu,
                 **counts})


def _serve_on_the_products_loop(spec: dict[str, Any]) -> None:
    """The loop ``atiende run`` runs on (``ATIENDE_EVENT_LOOP``, uvloop by default); a
    tree from before that choice ran on the standard loop, and runs on it here."""
    if spec.get("tree"):
        sys.path.insert(0, spec["tree"])
    try:
        from bot.app.event_loop import run
    except ImportError:
        asyncio.run(_serve(spec))
        return
    run(_serve(spec), "asyncio" if os.environ.get("ATIENDE_EVENT_LOOP") == "asyncio"
        else "uvloop")


async def _caught_up(inbox: Any) -> None:
    """Until the inbox worker has processed everything stored so far."""
    if inbox is None:
        return
    settle = getattr(inbox, "settle", None)  # an older tree has no hand-over to settle
    if settle is not None:
        await settle()
    await inbox.drain()


def _listen_with_nodelay() -> None:
    """``--nodelay``: what the one-line fix in ``handlers/web.py`` (``WebServer._bind``)
    would do. Its listening socket is made with proto 0, so asyncio's ``_set_nodelay``
    (which requires ``sock.proto == IPPROTO_TCP``) leaves Nagle on for every accepted
    connection, and a response written as headers + body waits ~40 ms for the client's
    delayed ACK. TCP_NODELAY on the listener is inherited by accepted sockets on Linux."""
    import socket

    from handlers.web import WebServer

    bind = WebServer._bind

    def bind_nodelay(self: WebServer) -> socket.socket:
        sock = bind(self)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    WebServer._bind = bind_nodelay  # type: ignore[method-assign]


def _dump_profile(profiler: Any, path: Path) -> None:
    import io
    import pstats

    profiler.dump_stats(str(path.with_suffix(".prof")))
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(50)
    path.write_text(text.getvalue())


def _floor_app() -> Any:
    """The floor: read the body, check the signature, 200. Nothing else."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from handlers.web import build_app
    from handlers.whatsapp.signature import HEADER, is_valid

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        if not is_valid(APP_SECRET, body, request.headers.get(HEADER)):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        return JSONResponse({"status": "ok"})

    return build_app([Route(PATH, receive, methods=["POST"])])


async def _counts() -> dict[str, int]:
    from bot.process.domain import Canal, InteractionKind
    from db.models import Customer, Interaction, Ticket

    return {"tickets": await Ticket.all().count(), "customers": await Customer.all().count(),
            "messages_stored": await Interaction.filter(
                channel=Canal.WHATSAPP, kind=InteractionKind.INBOUND).count()}


# ======================================================================= client ======
def payload(wamid: str, phone: str, name: str, text: str) -> bytes:
    """A customer's text message, shaped like Meta's (``corpus/whatsapp/wa_text.json``)."""
    return json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": "1234567890987654321", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "56221234567",
                         "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": name}, "wa_id": phone}],
            "messages": [{"from": phone, "id": wamid, "timestamp": "1796334600",
                          "type": "text", "text": {"body": text}}]}}]}]},
        ensure_ascii=False).encode()


def signed_requests(count: int, customers: int, prefix: str,
                    phone_prefix: str = "99") -> list[tuple[bytes, dict[str, str]]]:
    """All requests, built and signed before the clock starts."""
    from tests.servers.fake_graph import sign_whatsapp

    out = []
    for i in range(count):
        k = i % customers
        body = payload(f"wamid.{prefix}{i:07d}", f"56{phone_prefix}{k:07d}", f"Cliente {prefix}{k}",
                       f"Hola, sigo sin servicio en la sucursal {k} (mensaje {i // customers + 1}). "
                       f"¿Me pueden ayudar?")
        out.append((body, {"Content-Type": "application/json",
                           "X-Hub-Signature-256": sign_whatsapp(APP_SECRET, body)}))
    return out


async def post_all(http: Any, requests: list[tuple[bytes, dict[str, str]]],
                   concurrency: int) -> tuple[list[float], int]:
    """``concurrency`` workers share the list; returns latencies (s) and non-200 count."""
    latencies: list[float] = []
    failures = 0
    next_index = iter(range(len(requests)))

    async def worker() -> None:
        nonlocal failures
        for i in next_index:
            body, headers = requests[i]
            started = time.perf_counter()
            response = await http.post(PATH, content=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                failures += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures


class RawClient:
    """``--client raw``: HTTP/1.1 keep-alive over asyncio streams, one connection per
    worker, each request pre-encoded and written at once. Only to show what the servers
    do when the client is not the bottleneck (httpx costs ~1-2 ms of CPU per request)."""

    def __init__(self, port: int, concurrency: int) -> None:
        self._port = port
        self._free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = \
            asyncio.Queue()
        self._size = concurrency
        self._all: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> RawClient:
        for _ in range(self._size):
            reader, writer = await asyncio.open_connection("127.0.0.1", self._port)
            self._all.append(writer)
            self._free.put_nowait((reader, writer))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for writer in self._all:
            writer.close()

    async def post(self, path: str, content: bytes, headers: dict[str, str]) -> Any:
        reader, writer = await self._free.get()
        try:
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
                         f"Content-Length: {len(content)}\r\n\r\n".encode() + content)
            response = await reader.readuntil(b"\r\n\r\n")
            lines = response.decode("latin-1").split("\r\n")
            length = next(int(line.split(":", 1)[1]) for line in lines
                          if line.lower().startswith("content-length:"))
            await reader.readexactly(length)
            return _Status(int(lines[0].split()[1]))
        finally:
            self._free.put_nowait((reader, writer))


class _Status:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


def _client(kind: str, url: str, concurrency: int) -> Any:
    if kind == "raw":
        return RawClient(int(url.rsplit(":", 1)[1]), concurrency)
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=url, limits=limits, timeout=120)


async def drive(url: str, pid: int, requests: list[tuple[bytes, dict[str, str]]],
                warmup: list[tuple[bytes, dict[str, str]]], concurrency: int,
                client: str, mark: Any = None) -> dict[str, Any]:
    async with _client(client, url, concurrency) as http:
        _lat, bad = await post_all(http, warmup, concurrency)
        if bad:
            raise RuntimeError(f"{bad} warm-up requests failed")
        if mark is not None:
            await asyncio.get_running_loop().run_in_executor(None, mark)
        client0, server0, t0 = cpu_seconds(), cpu_seconds(pid), time.perf_counter()
        latencies, failures = await post_all(http, requests, concurrency)
        wall = time.perf_counter() - t0
        client_cpu, server_cpu = cpu_seconds() - client0, cpu_seconds(pid) - server0
    return {"wall": wall, "rate": len(requests) / wall, "failures": failures,
            "p50": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000,
            "client_cpu": client_cpu / wall, "server_cpu": server_cpu / wall,
            "server_ms_per_msg": server_cpu / len(requests) * 1000}


def run_one(kind: str, concurrency: int, run: int, args: argparse.Namespace,
            work: Path) -> dict[str, Any]:
    run_dir = work / f"{kind}-c{concurrency}-{run}"
    shutil.rmtree(run_dir, ignore_errors=True)
    spec: dict[str, Any] = {"kind": "floor" if kind == "floor" else "atiende",
                            "log_level": args.log_level, "nodelay": args.nodelay,
                            "worker": args.worker}
    if args.profile and kind != "floor":
        spec["profile"] = str(work / f"profile-{kind}-c{concurrency}-{run}.txt")
    if kind == "before":
        spec["tree"] = str(args.before.resolve())
    if kind != "floor":
        spec.update(db_url=fresh_database(run_dir), data_dir=str(run_dir / "data"))
    else:
        run_dir.mkdir(parents=True)
    log = run_dir / "server.log"
    with log.open("ab") as err:
        proc = subprocess.Popen([sys.executable, __file__, "--serve", json.dumps(spec)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                cwd=ROOT, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        ready = proc.stdout.readline()
        if not ready.startswith("READY "):
            raise RuntimeError(f"{kind} server did not start:\n{tail(log)}")
        url = f"http://127.0.0.1:{int(ready.split()[1])}"
        prefix = f"r{run}c{concurrency}"
        requests = signed_requests(args.messages, args.customers, prefix)
        warmup = signed_requests(WARMUP, WARMUP, f"w{prefix}", phone_prefix="98")
        stdin, stdout = proc.stdin, proc.stdout

        def mark() -> None:
            stdin.write("mark\n")
            stdin.flush()
            if stdout.readline().strip() != "MARKED":
                raise RuntimeError(f"{kind} server did not mark:\n{tail(log)}")

        result = asyncio.run(drive(url, proc.pid, requests, warmup, concurrency, args.client,
                                   mark))
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    server = parse_result(out)
    if proc.returncode != 0 or server is None:
        raise RuntimeError(f"{kind} server failed (exit {proc.returncode}):\n{tail(log)}")
    result.update(server)
    result["processed_ms_per_msg"] = server["processed_cpu"] / len(requests) * 1000
    result["main_share"] = server["main_cpu"] / max(server["processed_cpu"], 1e-9)
    if not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--runs", type=int, default=1, help="runs per server and "
                        "concurrency; medians are printed")
    parser.add_argument("--work", type=Path, help="work directory (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep databases and logs")
    parser.add_argument("--log-level", default="INFO", help="servers' logging (production: "
                        "INFO)")
    parser.add_argument("--client", choices=["httpx", "raw"], default="httpx",
                        help="httpx.AsyncClient (default) or a minimal asyncio HTTP/1.1 client")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile our server; top functions written to the work dir")
    parser.add_argument("--worker", choices=["inline", "after"], default="inline",
                        help="the inbox worker runs beside the webhooks (as in production), "
                             "or only after the timed window (the acknowledgement alone)")
    parser.add_argument("--nodelay", action="store_true", help="both servers with TCP_NODELAY "
                        "on accepted connections (the proposed handlers/web.py fix)")
    parser.add_argument("--before", type=Path, help="also run the atiende server of this "
                        "source tree (an earlier commit), back to back: before/after")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve_on_the_products_loop(json.loads(args.serve))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="atiende-bench-whatsapp-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# {machine()}\n# work dir {work}; {args.client} client; server and client in "
          f"separate processes; TCP_NODELAY fix {'on' if args.nodelay else 'off'}; "
          f"{args.messages} messages from {args.customers} customers; server log level "
          f"{args.log_level}", flush=True)
    rows: list[list[object]] = []
    for concurrency in args.concurrency:
        kinds = ("floor", "before", "atiende") if args.before else ("floor", "atiende")
        results: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        for run in range(args.runs):
            for kind in kinds:  # back to back, same machine state
                r = run_one(kind, concurrency, run, args, work)
                results[kind].append(r)
                stored = (f", stored {r['messages_stored']} messages on {r['tickets']} tickets "
                          f"({r['customers']} customers)" if kind != "floor" else "")
                print(f"#   {kind} c={concurrency} run {run + 1}: {r['rate']:.0f} msg/s, "
                      f"p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, non-200 {r['failures']}, "
                      f"server CPU {r['server_cpu']:.0%}, client CPU {r['client_cpu']:.0%}, "
                      f"server RSS {r['rss_mb']:.0f} MB{stored}; to processed "
                      f"{r['processed_ms_per_msg']:.2f} ms/msg, {r['main_share']:.0%} of it in "
                      f"the event loop's thread", flush=True)
        floor_rate = median([r["rate"] for r in results["floor"]])
        floor_cpu = median([r["server_ms_per_msg"] for r in results["floor"]])
        for kind in kinds:
            rs = results[kind]
            rate = median([r["rate"] for r in rs])
            rows.append([concurrency, kind, rate, median([r["p50"] for r in rs]),
                         median([r["p99"] for r in rs]),
                         median([r["server_ms_per_msg"] for r in rs]),
                         median([r["processed_ms_per_msg"] for r in rs]),
                         f"{median([r['server_cpu'] for r in rs]):.0%}",
                         f"{median([r['client_cpu'] for r in rs]):.0%}",
                         median([r["rss_mb"] for r in rs]), sum(r["failures"] for r in rs),
                         ratio(rate, floor_rate),
                         ratio(median([r["server_ms_per_msg"] for r in rs]), floor_cpu)])
    print()
    print_table(["conc.", "server", "msg/s", "p50 ms", "p99 ms", "server CPU ms/msg",
                 "to processed", "server CPU", "client CPU", "server RSS MB", "non-200", "msg/s vs floor",
                 "CPU/msg vs floor"],
                rows, title=f"WhatsApp webhooks: {args.messages} signed text messages, "
                            f"{args.customers} customers, {args.client} client, TCP_NODELAY "
                            f"fix {'on' if args.nodelay else 'off'} (medians of {args.runs} "
                            f"run(s))")


if __name__ == "__main__":
    main()
