"""``python -m bench --quick --only ...`` runs the quick cases end to end on their smallest
workload: each works and returns well-formed rows (no timing is asserted). The site.yml bakes of
the ``parallel`` case and the emulator runs of ``tencent`` are left out for time: the package
cache's warm site.yml bake is checked by tests/integration/local/test_local_build.py, and
``--quick`` without ``--only`` by tests/unit/test_bench.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("base_rootfs")

CASES = ("local", "incremental", "startup", "snapshot")


def test_quick_benchmarks_run(state_dir: Path, no_leaks: None) -> None:
    results = REPO / "bench/RESULTS.md"
    before = results.read_text() if results.exists() else None
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *(f"--only={case}" for case in CASES)],
        cwd=REPO, env=env, capture_output=True,
        text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-5000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    cases = {line.split(" | ")[0].removeprefix("| ") for line in table[1:]}
    assert cases == {
        "tiny.yml on local, warm caches", "cache hit vs full bake of tiny.yml",
        "startup: bake --version", "startup: validate seed template", "snapshot throughput",
        "snapshot artifact size",
    }, proc.stdout
    for case in CASES:
        assert re.search(rf"^   {case}: [\d.]+s$", proc.stderr, re.M), proc.stderr[-3000:]
    # --quick only checks: it never rewrites the recorded results.
    assert (results.read_text() if results.exists() else None) == before
