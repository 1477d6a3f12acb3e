"""Fixtures shared by the Tencent Cloud integration tests: a started emulator that must be clean.

``tcloud_emulator`` yields a started ``TencentEmulator`` (default credentials, short delays,
its own temporary data directory). At teardown it waits briefly for asynchronous terminations
and deletions to settle, asserts that no resource is left in any region (instances, key pairs,
VPCs, subnets, security groups, private images), closes the emulator and asserts that it left
no mount or file behind. Tests that mean to keep an image must delete it before returning.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bakeansible.testing.tcloud import TencentEmulator


def _mounts_below(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    with Path("/proc/self/mounts").open() as fh:
        return [line.split()[1] for line in fh if line.split()[1].startswith(prefix)]


@pytest.fixture
def tcloud_emulator(base_rootfs: Path) -> Iterator[TencentEmulator]:
    """A started emulator; fails the test if it leaked cloud resources, mounts or files."""
    emu = TencentEmulator().start()
    data_dir = emu.data_dir
    try:
        yield emu
        deadline = time.monotonic() + 15
        while emu.live_resources() and time.monotonic() < deadline:
            time.sleep(0.2)
        leaked = emu.live_resources()
    finally:
        emu.close()
    assert not leaked, f"resources left in the emulator: {leaked}"
    assert not _mounts_below(data_dir), f"mounts left: {_mounts_below(data_dir)}"
    assert not data_dir.exists(), f"emulator data directory left: {data_dir}"
