"""Benchmark 5: footprint of ``atiende run`` (idle RSS) and its start-up time.

Run: ``python bench/footprint.py [--runs 3] [--settle 8]``

The fakes run in this process (Telegram Bot API, Slack Web API, WhatsApp Graph, an
aiosmtpd capture) plus a real Dovecot; ``atiende run`` runs as a subprocess
(``python -m bot run``, configured only
through ``ATIENDE_*`` variables, working directory a temp dir so no ``.env`` is read)
on a migrated SQLite file that already holds the team. Two modes:

- **all front ends**: Telegram polling against the fake Bot API, Slack HTTP mode
  against the fake Web API, WhatsApp against the fake Graph, SMTP to aiosmtpd, IMAP
  (IDLE) to Dovecot. Ready = ``GET /healthz`` answers 200 *and* the Telegram fake has
  seen ``setMyCommands`` and ``getUpdates``.
- **console only** (no tokens, the baseline): ready = the console's first line on stdout
  (this mode opens no port). Its stdin is a pipe left open, so the console stays up.

Start-up is measured from ``Popen`` to ready (interpreter start and imports included).
RSS is read from ``/proc/<pid>/status`` (``VmRSS``; ``VmHWM`` is the peak) after
``--settle`` seconds idle, median of five readings one second apart. Then SIGTERM, and
the time to exit is reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as h
import httpx

READY_TIMEOUT = 30.0


async def _wait_full(fakes: h.Fakes, port: int, proc: subprocess.Popen[bytes],
                     started: float) -> dict[str, float]:
    """Seconds until /healthz is 200 and until Telegram polling began (``started`` is
    ``time.monotonic()``, the fakes' clock). The fake records a getUpdates only when it
    answers (it holds a long poll up to 1 s), so the mark uses the call's arrival time."""
    marks: dict[str, float] = {}
    deadline = started + READY_TIMEOUT
    tg = fakes.telegram
    async with httpx.AsyncClient(timeout=1.0) as http:
        while len(marks) < 2:
            if proc.poll() is not None:
                raise RuntimeError(f"atiende run exited with {proc.returncode} during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {READY_TIMEOUT} s: {marks}")
            if "healthz" not in marks:
                with contextlib.suppress(httpx.HTTPError):
                    response = await http.get(f"http://127.0.0.1:{port}/healthz")
                    if response.status_code == 200:
                        marks["healthz"] = time.monotonic() - started
            if "telegram" not in marks and tg.calls_to("setMyCommands") and \
                    tg.calls_to("getUpdates"):
                marks["telegram"] = max(tg.calls_to("setMyCommands")[0].at,
                                        tg.calls_to("getUpdates")[0].at) - started
            await asyncio.sleep(0.005)
    marks["ready"] = max(marks["healthz"], marks["telegram"])
    return marks


async def _wait_console(proc: subprocess.Popen[bytes], started: float) -> dict[str, float]:
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), READY_TIMEOUT)
    if not line:
        raise RuntimeError(f"console mode printed nothing (exit {proc.poll()})")
    return {"ready": time.monotonic() - started}


async def _idle_rss(pid: int, settle: float) -> dict[str, int]:
    await asyncio.sleep(settle)
    readings = []
    for _ in range(5):
        readings.append(h.proc_memory_kb(pid))
        await asyncio.sleep(1.0)
    return {key: int(statistics.median(r[key] for r in readings)) for key in readings[0]}


async def one_run(fakes: h.Fakes | None, settle: float) -> dict[str, Any]:
    """Start ``atiende run``, wait until ready, let it idle, read its memory, stop it."""
    with tempfile.TemporaryDirectory(prefix="atiende-bench5-") as tmp:
        base = Path(tmp)
        await h.prepare_database(base)
        port = h.free_port()
        env = h.run_env(base, port, fakes.fields() if fakes else None)
        if fakes is not None:
            fakes.telegram.clear()
        async with h.atiende_run(base, env) as (proc, started):
            marks = await (_wait_full(fakes, port, proc, started) if fakes
                           else _wait_console(proc, started))
            memory = await _idle_rss(proc.pid, settle)
            if proc.poll() is not None:
                raise RuntimeError(f"atiende run exited with {proc.returncode} while idle")
            stopping = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(proc.wait, 30)
            marks["stop"] = time.monotonic() - stopping
            marks["exit_code"] = proc.returncode
        return {**marks, **memory}


def _row(name: str, runs: list[dict[str, Any]]) -> list[str]:
    def med(key: str, scale: float = 1.0) -> str:
        values = [r[key] for r in runs if key in r]
        return f"{statistics.median(values) * scale:.0f}" if values else "-"

    def spread(key: str) -> str:
        values = [r[key] * 1000 for r in runs if key in r]
        return f"{min(values):.0f}-{max(values):.0f}" if values else "-"

    return [name, str(len(runs)), med("VmRSS", 1 / 1024), med("RssAnon", 1 / 1024),
            med("VmHWM", 1 / 1024), med("Threads"), f"{med('ready', 1000)} ({spread('ready')})",
            med("healthz", 1000), med("telegram", 1000), med("stop", 1000)]


async def main(runs: int, settle: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, list[dict[str, Any]]] = {"all front ends": [], "console only": []}
    async with h.Fakes() as fakes:
        for _ in range(runs):  # alternate the modes: both see the same machine
            results["all front ends"].append(await one_run(fakes, settle))
            results["console only"].append(await one_run(None, settle))
    h.print_table(
        f"Benchmark 5: atiende run footprint (median of {runs} starts; idle {settle:g} s "
        "before reading /proc)",
        ["mode", "runs", "RSS MB", "anon MB", "peak MB", "threads", "start-up ms (min-max)",
         "healthz ms", "telegram polling ms", "SIGTERM->exit ms"],
        [_row(name, found) for name, found in results.items()])
    print(h.machine_line())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=8.0, help="idle seconds before RSS")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.settle))
