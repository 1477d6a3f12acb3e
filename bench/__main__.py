"""Run the benchmark cases, print one table of ratios, write bench/RESULTS.md (unless --quick).

    python -m bench [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import pkgutil
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench import REPO, ROW_KEYS

RESULTS = REPO / "bench" / "RESULTS.md"
MARK = "<!-- bench:table -->"


def case_names() -> list[str]:
    import bench.cases

    return sorted(m.name for m in pkgutil.iter_modules(bench.cases.__path__) if not m.ispkg)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return "" if value is None else str(value)


def table(rows: list[dict[str, Any]]) -> list[str]:
    head = ["case", "A", "a", "B", "b", "b/a", "unit", "note"]
    body = [[_fmt(r.get(k)) for k in ROW_KEYS] for r in rows]
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + [
        "| " + " | ".join(c.replace("|", "/") for c in line) + " |" for line in body
    ]


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1e6:.1f} GB"
    except (OSError, ValueError, IndexError):
        pass
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem} RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, commit {commit or '?'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="run each case once on its smallest workload (checks it works)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this case (repeatable); one of: " + ", ".join(case_names()))
    args = parser.parse_args(argv)
    names = case_names()
    if unknown := [n for n in args.only if n not in names]:
        parser.error(f"unknown case {', '.join(unknown)}; cases: {', '.join(names)}")
    selected = args.only or names
    load_before = os.getloadavg()
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    for name in selected:
        print(f"== {name}", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        try:
            module = importlib.import_module(f"bench.cases.{name}")
            got = module.run(args.quick)
            for row in got:
                if missing := [k for k in ROW_KEYS if k not in row]:
                    raise ValueError(f"row {row} lacks {missing}")
            rows.extend(got)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"   {name}: {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)
    lines = table(rows)
    print("\n".join(lines))
    load_after = os.getloadavg()
    if failed:
        print(f"failed cases: {', '.join(failed)}", file=sys.stderr)
    if not args.quick and not args.only and not failed:
        write_results(lines, load_before, load_after, time.monotonic() - started)
    return 1 if failed else 0


def write_results(
    lines: list[str], load_before: tuple[float, ...], load_after: tuple[float, ...], took: float
) -> None:
    """Replace the table section of RESULTS.md, keeping the analysis written below it."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = "\n".join([
        MARK,
        f"Measured {now} on {machine()}; suite took {took:.0f}s.",
        f"Load average before/after: {load_before[0]:.1f} / {load_after[0]:.1f}"
        + (" (other work was running: figures taken under load)"
           if max(load_before[0], load_after[0]) > (os.cpu_count() or 1) * 0.5 else ""),
        "",
        *lines,
        MARK,
    ])
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n" + MARK * 2
    head, _, rest = old.partition(MARK)
    _, _, tail = rest.partition(MARK)
    RESULTS.write_text(head + section + tail)


if __name__ == "__main__":
    sys.exit(main())
