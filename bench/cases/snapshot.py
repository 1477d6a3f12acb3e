"""The snapshot: bake's ``write_image`` (tar | zstd, then sha256) of the cached Debian base
against ``tar | zstd`` by hand, as input MB/s, and the artifact's size against its input."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.timing import alternate, row


def run(quick: bool) -> list[dict[str, Any]]:
    from bakeansible.builders.local.rootfs import ensure_base_rootfs
    from bakeansible.builders.local.snapshot import write_image
    from bakeansible.pipeline.progress import tree_size

    base = ensure_base_rootfs("bookworm")
    root = base / "etc" if quick else base
    runs = 1 if quick else 3
    size = tree_size(root)
    with tempfile.TemporaryDirectory(prefix="bench-snap-") as name:
        tmp = Path(name)
        by_bake = tmp / "bake.tar.zst"
        by_hand = tmp / "hand.tar.zst"

        def hand() -> None:
            subprocess.run(
                ["tar", "--numeric-owner", "-I", "zstd -3 -T0 -q", "-C", str(root), "-cf",
                 str(by_hand), "."],
                check=True,
            )
            subprocess.run(["sha256sum", str(by_hand)], check=True, capture_output=True)

        t_hand, t_bake = alternate(hand, lambda: write_image(root, by_bake), runs)
        artifact = by_bake.stat().st_size
    mb = size / 1e6
    return [
        row("snapshot throughput", "tar|zstd by hand", [mb / t for t in t_hand],
            "bake write_image", [mb / t for t in t_bake], "MB/s",
            f"input {mb:.0f} MB ({'base /etc' if quick else 'the Debian base'})"),
        row("snapshot artifact size", "input", mb, "artifact .tar.zst", artifact / 1e6, "MB",
            "zstd -3"),
    ]
