"""bake as a user installs it: a wheel built from the source, in a fresh venv outside the checkout.

``build_wheel`` builds from a copy of the package sources, so the checkout gets no ``build/`` or
``*.egg-info`` (a stale ``build/lib`` would also slip files into the wheel that the tree no longer
has). ``install_wheel`` makes a venv without ``--system-site-packages``: the checkout's editable
install must not be importable from it. ``installed_env`` is the environment to run the venv's
``bake`` by its absolute path as pipx or an unactivated venv would: a PATH without the venv's bin
directory (and without any other Ansible), no PYTHONPATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The host's system directories only: no venv, no pyenv shims, nothing that holds an Ansible.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "BAKE_LOG", "PYTHONHOME"):
        env.pop(key, None)
    return env


def build_wheel(workdir: Path) -> Path:
    """Build bake's wheel from a copy of its sources into ``workdir/dist``; return the wheel."""
    source = workdir / "source"
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "bakeansible", source / "bakeansible",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )  # fmt: skip
    dist = workdir / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(source), "-w", str(dist)],
        capture_output=True, text=True, timeout=600, env=_clean_env(), cwd=workdir,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = dist.glob("bakeansible-*.whl")
    return wheel


def install_wheel(wheel: Path, venv: Path) -> Path:
    """A fresh venv at ``venv`` with ``wheel`` and its dependencies; returns its ``bake``."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=_clean_env())
    result = subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True, text=True, timeout=900, env=_clean_env(), cwd=venv,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"venv with the bake wheel installed in {time.monotonic() - started:.1f}s: {venv}")
    return venv / "bin/bake"


def installed_env(**extra: str) -> dict[str, str]:
    """Environment to run an installed bake by its absolute path, as pipx users do."""
    env = _clean_env()
    env["PATH"] = SYSTEM_PATH
    env.update(extra)
    return env


def site_packages(venv: Path) -> Path:
    (path,) = venv.glob("lib/python3*/site-packages")
    return path
