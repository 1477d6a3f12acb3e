"""Helpers the cases share: side-by-side alternating timing, medians, rows."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def timed(fn: Callable[[], Any]) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def alternate(
    a: Callable[[], Any], b: Callable[[], Any], runs: int
) -> tuple[list[float], list[float]]:
    """Time ``a`` and ``b`` in turn, ``runs`` times each (a, b, b, a, a, b, ...: neither always
    goes first, so a trend in the machine's load hits both alike)."""
    ta: list[float] = []
    tb: list[float] = []
    for i in range(runs):
        order = [(a, ta), (b, tb)] if i % 2 == 0 else [(b, tb), (a, ta)]
        for fn, out in order:
            out.append(timed(fn))
    return ta, tb


def run_cmd(argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-3000:]}"
        )
    return result


def row(case: str, a_label: str, a: list[float] | float, b_label: str, b: list[float] | float,
        unit: str, note: str = "") -> dict[str, Any]:
    """A result row from raw figures (lists become their median, listed in the note)."""
    def med(v: list[float] | float) -> float:
        return statistics.median(v) if isinstance(v, list) else v

    ma, mb = med(a), med(b)
    raw = ""
    if isinstance(a, list) and len(a) > 1:
        raw = f"medians of {len(a)}: a {[round(x, 2) for x in a]}, b {[round(x, 2) for x in b]}"  # type: ignore[union-attr]
    return {
        "case": case, "a_label": a_label, "a": round(ma, 3), "b_label": b_label, "b": round(mb, 3),
        "ratio": round(mb / ma, 3) if ma else None, "unit": unit,
        "note": "; ".join(x for x in (note, raw) if x),
    }
