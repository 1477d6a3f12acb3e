"""Startup: ``bake --version`` against the interpreter alone, and ``bake validate`` of the seed
Tencent template against ``bake --version``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from bench import REPO
from bench.timing import alternate, row, run_cmd

SEED = Path("/work/shared/fixtures/seed-cvm-template.json")
FALLBACK = REPO / "tests/fixtures/templates/packer-seed-cvm.json"


def run(quick: bool) -> list[dict[str, Any]]:
    runs = 1 if quick else 9
    template = SEED if SEED.exists() else FALLBACK
    # Fake credentials: validate checks they are present, never uses them.
    env = {**os.environ, "TENCENTCLOUD_SECRET_ID": "AKIDbench", "TENCENTCLOUD_SECRET_KEY": "bench"}
    python = lambda: run_cmd([sys.executable, "-c", "pass"])  # noqa: E731
    version = lambda: run_cmd(["bake", "--version"])  # noqa: E731
    validate = lambda: run_cmd(["bake", "validate", str(template)], cwd=REPO, env=env)  # noqa: E731
    py_t, ver_t = alternate(python, version, runs)
    ver2_t, val_t = alternate(version, validate, runs)
    return [
        row("startup: bake --version", "python -c pass", py_t, "bake --version", ver_t, "s"),
        row("startup: validate seed template", "bake --version", ver2_t,
            f"bake validate {template.name}", val_t, "s"),
    ]
