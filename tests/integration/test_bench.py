"""``python -m bench --quick`` runs every case once on its smallest workload: each works and
returns well-formed rows (no timing is asserted). The warm site.yml bake of the parallel case
shows the package cache at work: packages served from the cache, nothing fetched."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("base_rootfs")


def test_quick_benchmarks_run(state_dir: Path, no_leaks: None) -> None:
    results = REPO / "bench/RESULTS.md"
    before = results.read_text() if results.exists() else None
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-5000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    cases = {line.split(" | ")[0].removeprefix("| ") for line in table[1:]}
    for expected in ("tiny.yml on local, warm caches", "2 parallel site.yml bakes",
                     "startup: bake --version", "snapshot throughput"):
        assert expected in cases, proc.stdout
    (cache_row,) = [line for line in table if line.startswith("| package cache, warm site.yml")]
    served, fetched = re.findall(r"\| (\d+) \|", cache_row)[:2]
    assert int(served) > 0 and int(fetched) == 0, cache_row
    assert "0 B from the mirror" in cache_row, cache_row
    # --quick only checks: it never rewrites the recorded results.
    assert (results.read_text() if results.exists() else None) == before
