"""The linters are part of the suite: ruff on everything, mypy --strict on the package,
ansible-lint (production profile) and yamllint on the project's Ansible content."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_CONTENT = ["playbooks", "roles"]


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "bakeansible", "tests", "bench",
         "inventory_plugins"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def run_ansible_lint(directory: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    """ansible-lint as a user runs it in ``directory`` (its .ansible-lint applies), offline."""
    command = shutil.which("ansible-lint", path=str(Path(sys.executable).parent)) or "ansible-lint"
    env = {**os.environ, "NO_COLOR": "1", "ANSIBLE_LINT_NODEPS": "1"}
    return subprocess.run(
        [command, "--offline", "--nocolor", *paths],
        cwd=directory, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def run_yamllint(directory: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    """yamllint in strict mode (warnings fail too) with ``directory``'s .yamllint."""
    return subprocess.run(
        [sys.executable, "-m", "yamllint", "--strict", "-f", "parsable", *paths],
        cwd=directory, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_ansible_lint_is_clean() -> None:
    assert (REPO / ".ansible-lint").is_file()
    result = run_ansible_lint(REPO, *ANSIBLE_CONTENT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_is_clean() -> None:
    assert (REPO / ".yamllint").is_file()
    result = run_yamllint(REPO, *ANSIBLE_CONTENT, ".ansible-lint", ".yamllint")
    assert result.returncode == 0, result.stdout + result.stderr
