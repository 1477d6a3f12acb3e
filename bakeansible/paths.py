"""Where bake keeps its cache (base root filesystems) and its state (journal, instances)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$BAKE_CACHE_DIR``, else ``$XDG_CACHE_HOME/bake``, else ``~/.cache/bake``."""
    if env := os.environ.get("BAKE_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bake"


def state_dir() -> Path:
    """``$BAKE_STATE_DIR``, else ``$XDG_STATE_HOME/bake``, else ``~/.local/state/bake``."""
    if env := os.environ.get("BAKE_STATE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "bake"
