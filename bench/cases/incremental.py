"""A cache hit against a full bake of ``site.yml``: the same `bake --playbook` command, once with
``-force`` (everything rebuilt: container, Ansible, snapshot) and once with the inputs unchanged
(``up to date``: fingerprint, manifest lookup, sha256 of the image, manifest entry).

Both in a private copy of the project, warm caches, alternating; the table shows medians.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _bake(project: Path, *extra: str, playbook: str = "playbooks/site.yml") -> str:
    argv = ["bake", "--playbook", playbook, "--no-test", "-color=false", *extra]
    result = subprocess.run(argv, cwd=project, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"bake failed ({result.returncode}):\n{result.stdout[-3000:]}"
                           f"\n{result.stderr[-3000:]}")  # fmt: skip
    return result.stdout


def _timed(project: Path, *extra: str, playbook: str = "playbooks/site.yml") -> tuple[float, str]:
    started = time.monotonic()
    out = _bake(project, *extra, playbook=playbook)
    return time.monotonic() - started, out


def run(quick: bool) -> list[dict[str, Any]]:
    runs = 1 if quick else 3
    full: list[float] = []
    hit: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-inc-") as name:
        project = Path(name)
        shutil.copytree(REPO / "playbooks", project / "playbooks")
        shutil.copytree(REPO / "roles", project / "roles")
        # quick: the tiny playbook, and no warm-up (the full bake comes first and records).
        playbook = "playbooks/tiny.yml" if quick else "playbooks/site.yml"
        shutil.copy(REPO / "bench/playbooks/tiny.yml", project / "playbooks/tiny.yml")
        if not quick:
            _bake(project, "-force")  # warms the caches and records the first image
        for i in range(runs):
            order = [("full", full), ("hit", hit)] if i % 2 or quick else [("hit", hit),
                                                                           ("full", full)]
            for kind, times in order:
                extra = ("-force",) if kind == "full" else ()
                took, out = _timed(project, *extra, playbook=playbook)
                if kind == "hit" and "up to date" not in out:
                    raise RuntimeError(f"expected a cache hit:\n{out[-3000:]}")
                times.append(took)
    a, b = statistics.median(full), statistics.median(hit)
    note = "same command, -force vs inputs unchanged; warm caches; target: hit < 2 s"
    if runs > 1:
        note += f"; medians of {runs}: full {[round(x, 2) for x in full]}, " \
                f"hit {[round(x, 2) for x in hit]}"  # fmt: skip
    return [{
        "case": f"cache hit vs full bake of {Path(playbook).name}", "a_label": "full bake (-force)",
        "a": round(a, 3), "b_label": "cache hit", "b": round(b, 3),
        "ratio": round(b / a, 3) if a else None, "unit": "s", "note": note,
    }]  # fmt: skip


if __name__ == "__main__":
    for r in run(quick=False):
        print(r)
