"""Snapshot a stopped instance's root filesystem into ``<image>.tar.zst`` plus ``.sha256``."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bakeansible.artifacts.checksum import file_digest
from bakeansible.pipeline.progress import SizeProgress, file_size, human_size
from bakeansible.procs import run_cancellable

if TYPE_CHECKING:
    from bakeansible.pipeline.context import BuildContext

# Relative to the root. Contents of the API filesystems and of /tmp, host keys (regenerated on
# first boot), this instance's sshd listen address and the temporary key never go in an image.
ALWAYS_EXCLUDED = (
    "./proc/*",
    "./sys/*",
    "./dev/*",
    "./run/*",
    "./tmp/*",
    "./var/tmp/*",
    "./etc/ssh/ssh_host_*",
    "./etc/ssh/sshd_config.d/00-bake-listen.conf",
    "./etc/ssh/sshd_config.d/01-bake-password.conf",
    "./etc/apt/apt.conf.d/00-bake-proxy",
    "./root/.ssh/authorized_keys",
    "./home/*/.ssh/authorized_keys",
    "./var/cache/apt/archives/*.deb",
    "./var/log/journal/*",
)
APT_LISTS = ("./var/lib/apt/lists/*",)


def write_image(
    root: Path,
    dest: Path,
    *,
    level: int = 3,
    remove_apt_lists: bool = True,
    cancel: threading.Event | None = None,
    owner: BuildContext | None = None,
    say: Callable[[str], None] | None = None,
) -> str:
    """Write ``root`` to ``dest`` (a .tar.zst) atomically, then ``dest.sha256``; return the sum.

    With ``say``, tells how many bytes are written as it goes (see ``SizeProgress``).

    The tarball keeps numeric owners, permissions, xattrs and ACLs, so ``podman import`` and
    ``docker import`` take it as it is.
    """
    excludes = [*ALWAYS_EXCLUDED, *(APT_LISTS if remove_apt_lists else ())]
    partial = dest.with_name(dest.name + ".partial")
    threads = max(1, os.cpu_count() or 1)
    argv = [
        "tar",
        "--numeric-owner",
        "--xattrs",
        "--xattrs-include=*",
        "--acls",
        "--sort=name",
        "-I",
        f"zstd -{level} -T{threads} -q",
        "-C",
        str(root),
        "-cf",
        str(partial),
        *[f"--exclude={e}" for e in excludes],
        ".",
    ]
    try:
        with SizeProgress(
            say or (lambda _text: None),
            f"Writing {dest.name}",
            lambda: file_size(partial),
            done=lambda size, took: f"Wrote {dest.name}: {human_size(size)} in {took:.1f}s",
        ):
            run_cancellable(argv, cancel=cancel or threading.Event(), what="tar", owner=owner)
        checksum = file_digest(partial)
        partial.rename(dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    checksum_file(dest).write_text(f"{checksum}  {dest.name}\n")
    return checksum


def checksum_file(image: Path) -> Path:
    return image.with_name(image.name + ".sha256")
