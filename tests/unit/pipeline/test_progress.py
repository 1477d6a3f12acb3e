"""SizeProgress: periodic byte counts while a job runs, one line when it is done."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bakeansible.pipeline.progress import SizeProgress, human_size, tree_size


def test_says_sizes_as_it_goes_and_once_at_the_end() -> None:
    lines: list[str] = []
    sizes = iter(range(1000, 10**9, 1000))
    with SizeProgress(lines.append, "Writing x", lambda: next(sizes), first=0.05, every=0.05):
        time.sleep(0.3)
    assert len(lines) >= 3
    assert all(line.startswith("Writing x: ") and "so far" in line for line in lines[:-1])
    assert lines[-1].startswith("Writing x: ") and " in 0s" in lines[-1]


def test_a_short_job_says_only_the_end() -> None:
    lines: list[str] = []
    with SizeProgress(lines.append, "Writing x", lambda: 2_500_000,
                      done=lambda size, took: f"done {human_size(size)}"):
        pass
    assert lines == ["done 2.5 MB"]


def test_a_failed_job_says_nothing_at_the_end() -> None:
    lines: list[str] = []
    with pytest.raises(RuntimeError), SizeProgress(lines.append, "x", lambda: 1):
        raise RuntimeError("boom")
    assert lines == []


def test_tree_size_counts_regular_files_once(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a/f").write_bytes(b"x" * 100)
    (tmp_path / "g").write_bytes(b"y" * 20)
    (tmp_path / "link").symlink_to("/usr")
    assert tree_size(tmp_path) == 120
