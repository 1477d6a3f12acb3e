"""The bench harness: rows into one table; ``--quick`` and ``--only`` never rewrite RESULTS.md,
a full run does (the real cases run in tests/integration/test_bench.py)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

import bench.__main__ as harness

ROW = {"case": "fake case", "a_label": "a", "a": 1.0, "b_label": "b", "b": 2.0, "ratio": 2.0,
       "unit": "s", "note": "n"}  # fmt: skip


@pytest.fixture
def fake_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    module = types.ModuleType("bench.cases.fake")
    runs: list[bool] = []

    def run(quick: bool) -> list[dict[str, Any]]:
        runs.append(quick)
        return [ROW]

    module.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bench.cases.fake", module)
    monkeypatch.setattr(harness, "case_names", lambda: ["fake"])
    results = tmp_path / "RESULTS.md"
    results.write_text(f"# Results\n\n{harness.MARK}\nold\n{harness.MARK}\n\nanalysis\n")
    monkeypatch.setattr(harness, "RESULTS", results)
    return results


def test_quick_and_only_print_the_table_and_leave_results_alone(
    fake_case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = fake_case.read_text()
    for argv in (["--quick"], ["--only", "fake"]):
        assert harness.main(argv) == 0
        assert "| fake case | a | 1 | b | 2 | 2 | s | n |" in capsys.readouterr().out
        assert fake_case.read_text() == before


def test_full_run_rewrites_the_table_and_keeps_the_analysis(fake_case: Path) -> None:
    assert harness.main([]) == 0
    text = fake_case.read_text()
    assert "old" not in text and "| fake case |" in text
    assert text.endswith("\n\nanalysis\n")
