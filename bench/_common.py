"""Helpers shared by the benchmarks: tables, percentiles, peak RSS, child processes.

Every benchmark measures the thing under test in a child process of its own (spawned
with ``spawn_child``), so its peak RSS is its own and not the harness's, and a result
comes back as one JSON line on stdout (``emit_result`` in the child, parsed by
``spawn_child`` in the parent). Standard library only.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``python bench/x.py`` puts bench/ first, not the repo
    sys.path.insert(0, str(ROOT))

RESULT_MARK = "BENCH-RESULT "


# --- statistics ------------------------------------------------------------------------
def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


# --- memory and CPU --------------------------------------------------------------------
def _status_kb(pid: int | str, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident set size in MB: ``VmHWM`` from /proc, or for this process
    ``ru_maxrss`` when /proc is not there (both count the same thing on Linux)."""
    hwm = _status_kb(pid or "self", "VmHWM")
    if hwm is not None:
        return hwm / 1024
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return math.nan


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one by default)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15)


# --- child processes -------------------------------------------------------------------
def emit_result(data: dict[str, Any]) -> None:
    """In a child: hand the result to the parent (one marked JSON line on stdout)."""
    sys.stdout.write(RESULT_MARK + json.dumps(data) + "\n")
    sys.stdout.flush()


def spawn_child(script: Path, args: Sequence[str], log: Path,
                timeout: float = 3600) -> dict[str, Any]:
    """Run ``python script args`` to completion and return what it emitted.

    ``spawned_at`` (wall clock, ``time.time()``) is added to the result, so the child's
    own timestamps give "command time" including interpreter start-up and imports.
    Its stderr (logs) goes to ``log``; a failure raises with the end of that log.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as err:
        spawned_at = time.time()
        proc = subprocess.run([sys.executable, str(script), *args], stdout=subprocess.PIPE,
                              stderr=err, timeout=timeout, cwd=ROOT)
    result = parse_result(proc.stdout.decode(errors="replace"))
    if proc.returncode != 0 or result is None:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed (exit {proc.returncode}); "
                           f"log {log}:\n{tail(log)}")
    result["spawned_at"] = spawned_at
    return result


def parse_result(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])  # type: ignore[no-any-return]
    return None


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def fresh_database(run_dir: Path) -> str:
    """A new directory with a freshly migrated SQLite file; returns its URL."""
    import asyncio

    from db.connection import upgrade

    run_dir.mkdir(parents=True)
    url = f"sqlite://{run_dir / 'atiende.db'}"
    asyncio.run(upgrade(url))
    return url


# --- output ----------------------------------------------------------------------------
def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]],
                title: str | None = None) -> str:
    """Print (and return) a plain-text table: text left-aligned, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [all(_is_number(row[i]) for row in rows) if rows else False
               for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return " | ".join(v.rjust(w) if num else v.ljust(w)
                          for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    out = [title] if title else []
    out += [line(list(headers)), "-|-".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    text = "\n".join(out)
    print(text, flush=True)
    return text


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) or value in ("", "-", None) or (
        isinstance(value, str) and _numeric_text(value))


def _numeric_text(text: str) -> bool:
    t = text.replace(",", "").replace("%", "").replace("×", "").replace("x", "").strip()
    try:
        float(t)
    except ValueError:
        return False
    return True


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ratio(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs or math.isnan(ours) or math.isnan(theirs):
        return "-"
    return f"{ours / theirs:.2f}x"


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def machine() -> str:
    """One line naming the machine, for the tables and the README."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = _status_kb_meminfo()
    one, five, fifteen = os.getloadavg()
    load = f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
    return (f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {os.cpu_count()} cores"
            f"{' ' + model if model else ''}; {mem}; Python {platform.python_version()}; "
            f"{platform.system()} {platform.release()}; {load} at start")


def _status_kb_meminfo() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError):
        pass
    return "RAM unknown"
