"""The image store: root filesystems of custom images as overlayfs layers.

A custom image is the instance's overlay upper directory, copied when the image is made, stacked
on the layers of the image the instance came from and, at the bottom, a Debian base root. An
instance booted from it mounts ``lowerdir=<newest layer>:...:<base>``. Layers are immutable and
shared by image copies (SyncImages) and by instances; a layer is deleted when nothing refers to
it any more. This works because the host's overlayfs runs without ``redirect_dir`` or
``metacopy`` (their defaults), so an upper directory is a self-contained layer: plain files,
whiteout devices and opaque-directory xattrs, all preserved by ``cp -a``.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections import Counter
from pathlib import Path

from bakeansible.builders.local.instance import forget_instance_files
from bakeansible.testing.tcloud.state import new_id

# Host keys are per machine (regenerated on first boot by the instance's unit).
_PER_INSTANCE_GLOBS = ("etc/ssh/ssh_host_*",)


class LayerStore:
    """Layers under ``<data dir>/layers``, reference-counted by images and instances."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._refs: Counter[str] = Counter()
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        return self.root / name

    def add_from_upper(self, upper: Path) -> str:
        """Copy an instance's upper directory into a new layer, minus per-instance files."""
        name = new_id("layer")
        tmp = self.root / f".{name}.tmp"
        result = subprocess.run(
            ["cp", "-a", "--", str(upper), str(tmp)], capture_output=True, text=True
        )
        if result.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise OSError(f"copying the instance's root failed: {result.stderr.strip()}")
        forget_instance_files(tmp)
        for pattern in _PER_INSTANCE_GLOBS:
            for path in tmp.glob(pattern):
                path.unlink(missing_ok=True)
        tmp.rename(self.path(name))
        return name

    def acquire(self, layers: tuple[str, ...]) -> None:
        with self._lock:
            self._refs.update(layers)

    def release(self, layers: tuple[str, ...]) -> None:
        """Drop one reference to each layer; delete layers nobody refers to."""
        with self._lock:
            for name in layers:
                self._refs[name] -= 1
                if self._refs[name] <= 0:
                    del self._refs[name]
                    shutil.rmtree(self.path(name), ignore_errors=True)

    def discard(self, name: str) -> None:
        """Remove a layer that never got a reference (image creation failed half-way)."""
        with self._lock:
            if not self._refs.get(name):
                shutil.rmtree(self.path(name), ignore_errors=True)

    def lower_dirs(self, layers: tuple[str, ...], base_root: str) -> Path:
        """The ``lowerdir`` value (colon-separated) for an instance booting these layers."""
        return Path(":".join([*(str(self.path(n)) for n in layers), base_root]))
