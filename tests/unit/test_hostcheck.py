"""The leak checks themselves: a process or temporary directory a build leaves is seen."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.hostcheck import HostState


def test_a_leaked_child_and_temp_dir_fail_the_leak_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAKE_STATE_DIR", str(tmp_path / "state"))
    before = HostState.read()
    # One child that inherits the test's state dir (as everything bake starts does), one that
    # only carries a build's marker (as a daemonized ssh ControlMaster does).
    inherited = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    marked = subprocess.Popen(
        ["sleep", "60"], env={"PATH": os.environ["PATH"], "BAKE_BUILD_ID": uuid.uuid4().hex}
    )
    leaked_dir = Path("/tmp") / f"bake-{uuid.uuid4().hex[:12]}"
    leaked_dir.mkdir()
    try:
        leaks = HostState.read().leaks_since(before)
    finally:
        for proc in (inherited, marked):
            proc.kill()
            proc.wait()
        leaked_dir.rmdir()
    text = "; ".join(leaks)
    assert f"({inherited.pid}, " in text and f"({marked.pid}, 'sleep')" in text, text
    assert str(leaked_dir) in text, text
    after = HostState.read()
    assert not after.children - before.children and not after.temp_dirs - before.temp_dirs


def test_a_leaked_package_cache_download_fails_the_leak_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAKE_CACHE_DIR", str(tmp_path / "cache"))
    before = HostState.read()
    leaked = tmp_path / "cache/apt/.partial/0123abcd"
    leaked.mkdir(parents=True)
    assert any(str(leaked) in leak for leak in HostState.read().leaks_since(before))
