"""``bake init``: the generated project passes ansible-lint and yamllint as generated (with its
own .ansible-lint and .yamllint), and an existing file stops it with nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.unit.test_linters import run_ansible_lint, run_yamllint

REPO = Path(__file__).resolve().parents[3]


def bake(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", "from bakeansible.cli.main import main; main()", *args],
        cwd=cwd, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip


def test_init_writes_a_project_that_passes_the_linters(tmp_path: Path) -> None:
    target = tmp_path / "My Web"
    result = bake("init", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert written == sorted([
        ".ansible-lint", ".gitignore", ".yamllint", "README.md", "bake.yml",
        "playbooks/site.yml", "playbooks/verify.yml", "requirements.yml",
        "roles/welcome/defaults/main.yml", "roles/welcome/meta/main.yml",
        "roles/welcome/tasks/main.yml", "roles/welcome/templates/motd.j2",
        "roles/welcome/molecule/default/converge.yml",
        "roles/welcome/molecule/default/molecule.yml",
        "roles/welcome/molecule/default/verify.yml",
    ])  # fmt: skip
    bake_yml = (target / "bake.yml").read_text()
    assert "image_name: my-web\n" in bake_yml and "  # - name: tencent\n" in bake_yml
    assert "name: molecule-bake" in (target / "roles/welcome/molecule/default/molecule.yml"
                                     ).read_text()  # fmt: skip
    assert "__PROJECT__" not in "".join(p.read_text() for p in target.rglob("*") if p.is_file())
    assert "Created the bake project my-web" in result.stdout

    lint = run_ansible_lint(target)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    yaml = run_yamllint(target, ".")
    assert yaml.returncode == 0, yaml.stdout + yaml.stderr
    valid = bake("validate", cwd=target)
    assert valid.returncode == 0, valid.stdout + valid.stderr


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks/site.yml").write_text("mine\n")
    (tmp_path / ".gitignore").write_text("mine\n")
    result = bake("init", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: bake init would overwrite 2 file(s)"), result.stderr
    assert ".gitignore, playbooks/site.yml; nothing was written." in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == [".gitignore", "playbooks", "site.yml"]
    assert (tmp_path / "playbooks/site.yml").read_text() == "mine\n"
