"""One ``site.yml`` local bake against four at once (separate bake processes, warm caches), and
what the package cache saved the warm bake (files served from the cache, bytes fetched)."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench import REPO
from bench.timing import alternate, row

STATS = re.compile(r"Package cache: (\d+) served from the cache, (\d+) fetched \(([^)]*) from")


def bake_argv(out: Path) -> list[str]:
    return ["bake", "--playbook", "playbooks/site.yml", "--no-test", "--output-dir", str(out),
            "-force", "-color=false"]


def bake_many(tmp: Path, count: int, outputs: list[str]) -> None:
    procs = [
        subprocess.Popen(bake_argv(tmp / f"out{i}"), cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for i in range(count)
    ]
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"bake failed ({proc.returncode}):\n{out[-3000:]}")
        outputs.append(out)


def run(quick: bool) -> list[dict[str, Any]]:
    many = 2 if quick else 4
    runs = 1 if quick else int(os.environ.get("BENCH_RUNS", "3"))
    outputs: list[str] = []
    warm: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-par-") as name:
        tmp = Path(name)
        if not quick:
            bake_many(tmp, 1, [])  # warms the base and package caches
        # quick: the single bake (first) warms the caches for the parallel ones.
        one, four = alternate(lambda: bake_many(tmp, 1, outputs),
                              lambda: bake_many(tmp, many, warm), runs)
    rows = [row(f"{many} parallel site.yml bakes", "1 bake", one, f"{many} at once", four, "s",
                "separate bake processes, warm caches; target <= 1.6x")]
    if match := STATS.search(warm[-1] if quick else outputs[-1]):
        hits, fetched, size = match.groups()
        rows.append({
            "case": "package cache, warm site.yml bake", "a_label": "files from the cache",
            "a": int(hits), "b_label": "files fetched", "b": int(fetched), "ratio": None,
            "unit": "files", "note": f"{size} from the mirror; target: nothing",
        })
    return rows
