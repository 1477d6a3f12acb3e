"""Fixtures shared by the unit tests: a started Tencent Cloud emulator (it boots no container
unless a test launches an instance)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bakeansible.testing.tcloud import TencentEmulator


@pytest.fixture
def emu() -> Iterator[TencentEmulator]:
    """A started emulator, closed after the test."""
    emulator = TencentEmulator().start()
    try:
        yield emulator
    finally:
        emulator.close()
