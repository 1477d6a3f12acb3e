"""Unit tests never read or write the user's bake state (journal, instances, learned waits):
each test gets an empty state directory of its own unless it sets one itself. ``emu``: a started
Tencent Cloud emulator (it boots no container unless a test launches an instance)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bakeansible.testing.tcloud import TencentEmulator


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path_factory.mktemp("bake-state")
    monkeypatch.setenv("BAKE_STATE_DIR", str(path))
    monkeypatch.delenv("BAKE_DATABASE_URL", raising=False)
    return path


@pytest.fixture
def emu() -> Iterator[TencentEmulator]:
    """A started emulator, closed after the test."""
    emulator = TencentEmulator().start()
    try:
        yield emulator
    finally:
        emulator.close()
