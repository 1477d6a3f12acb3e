"""bake's benchmark suite: ``python -m bench`` (or ``bench/run``).

Each module in ``bench/cases`` is one case. It exposes ``run(quick: bool) -> list[dict]``; each
row has the keys ``case, a_label, a, b_label, b, ratio, unit, note``: two figures measured side by
side in the same invocation (alternating where timing matters) and their ratio ``b / a`` (or as the
note says). ``--quick`` runs each case once on its smallest workload: it only checks that the
case works, its figures mean nothing.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROW_KEYS = ("case", "a_label", "a", "b_label", "b", "ratio", "unit", "note")
