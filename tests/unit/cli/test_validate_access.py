"""``bake validate`` catches what the build would (credentials, region), and no command prints
a secret read from the environment.

Each case runs ``bake`` in a subprocess with an environment built from scratch (no
TENCENTCLOUD_* variable, HOME an empty directory), so neither the host's credentials nor a
secret registered by an earlier in-process test can hide a leak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

SEED = REPO / "tests" / "fixtures" / "templates" / "packer-seed-cvm.json"
SECRET = "Zq8-secret-from-env-4711"
SECRET_ID = "AKIDfromenv0042"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def bake(tmp_path: Path) -> object:
    home = tmp_path / "home"
    home.mkdir()

    def run(*args: str, cwd: Path = tmp_path, **env: str) -> Run:
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPO),
            "HOME": str(home),
            "BAKE_STATE_DIR": str(tmp_path / "state"),
            "BAKE_CACHE_DIR": str(tmp_path / "cache"),
            "NO_COLOR": "1",
        }
        proc = subprocess.run(
            [sys.executable, "-c", "from bakeansible.cli.main import main; main()", *args],
            cwd=cwd, env={**base, **env}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


def _template(tmp_path: Path, name: str = "t.json", **builder: object) -> Path:
    data = json.loads(SEED.read_text())
    data["builders"][0].update(builder)
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2))
    return path


def _refused(run: Run) -> None:
    assert run.code == 1, run.output
    assert "Traceback" not in run.output
    assert run.stderr.startswith("Error: "), run.stderr


CREDS = {"TENCENTCLOUD_ACCESS_KEY": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET}


def test_validate_without_credentials_fails_like_packer(bake: object) -> None:
    run = bake("validate", str(SEED))  # type: ignore[operator]
    _refused(run)
    assert "builders[0].secret_id: is required" in run.stderr
    assert "builders[0].secret_key: is required" in run.stderr
    assert "TENCENTCLOUD_SECRET_KEY" in run.stderr


def test_validate_with_credentials_from_env_or_tccli_profile(bake: object, tmp_path: Path) -> None:
    run = bake("validate", str(SEED), **CREDS)  # type: ignore[operator]
    assert run.code == 0 and "The configuration is valid." in run.stdout, run.output
    tccli = tmp_path / "home" / ".tccli"
    tccli.mkdir()
    (tccli / "default.credential").write_text(json.dumps({"secretId": "a", "secretKey": "b"}))
    run = bake("validate", str(SEED))  # type: ignore[operator]
    assert run.code == 0, run.output


def test_validate_unknown_region_with_did_you_mean_and_others(
    bake: object, tmp_path: Path
) -> None:
    path = _template(tmp_path, region="ap-guangzhuo", zone="ap-guangzhuo-3")
    run = bake("validate", str(path))  # type: ignore[operator]
    _refused(run)
    # Collected together: the region and the missing credentials.
    assert "3 configuration errors" in run.stderr
    assert "unknown region `ap-guangzhuo`; did you mean `ap-guangzhou`?" in run.stderr
    assert "builders[0].secret_key: is required" in run.stderr
    path = _template(tmp_path, region="ap-nowhere-9", zone="ap-nowhere-9-1")
    run = bake("validate", str(path), **CREDS)  # type: ignore[operator]
    _refused(run)
    assert "unknown region `ap-nowhere-9`" in run.stderr


def test_new_region_allowed_from_the_command_line_is_a_warning(
    bake: object, tmp_path: Path
) -> None:
    data = json.loads(SEED.read_text())
    data["variables"]["new_region"] = "false"
    data["builders"][0].update(
        region="ap-newcity", zone="ap-newcity-1", skip_region_validation="{{user `new_region`}}"
    )
    path = tmp_path / "new.json"
    path.write_text(json.dumps(data))
    _refused(bake("validate", str(path), **CREDS))  # type: ignore[operator]
    run = bake("validate", "-var", "new_region=true", str(path), **CREDS)  # type: ignore[operator]
    assert run.code == 0, run.output
    assert "Warning: tencentcloud-cvm: region: `ap-newcity` is not in bake's list" in run.stderr


def test_inspect_shows_the_expression_not_the_secret(bake: object) -> None:
    run = bake("inspect", str(SEED), **CREDS)  # type: ignore[operator]
    assert run.code == 0, run.output
    assert 'tc_secret_key = "{{env `TENCENTCLOUD_SECRET_KEY`}}"' in run.stdout
    assert "sensitive" in run.stdout
    assert SECRET not in run.output and SECRET_ID not in run.output
    # A value given on the command line has no expression: it is masked.
    run = bake("inspect", "-var", f"tc_secret_key={SECRET}", str(SEED))  # type: ignore[operator]
    assert run.code == 0 and "tc_secret_key = <sensitive>" in run.stdout, run.output
    assert SECRET not in run.output


def test_no_command_prints_a_secret_from_the_environment(bake: object, tmp_path: Path) -> None:
    """The secret also reaches a field whose error repeats its value (zone): every command
    that could print it masks it."""
    path = _template(tmp_path, zone="{{user `tc_secret_key`}}")
    runs = {
        "validate": bake("validate", str(path), **CREDS),  # type: ignore[operator]
        "build": bake("build", str(path), **CREDS),  # type: ignore[operator]
        "build -machine-readable": bake(  # type: ignore[operator]
            "build", "-machine-readable", str(path), **CREDS
        ),
    }
    project = tmp_path / "project"
    project.mkdir()
    (project / "bake.yml").write_text(path.read_text())
    (project / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    runs["--playbook"] = bake("--playbook", "site.yml", cwd=project, **CREDS)  # type: ignore[operator]
    for name, run in runs.items():
        _refused(run)
        assert "zone" in run.stderr and "<sensitive>" in run.stderr, (name, run.output)
        assert SECRET not in run.output, (name, run.output)
    converted = bake("convert", str(SEED), **CREDS)  # type: ignore[operator]
    assert converted.code == 0 and SECRET not in converted.output
    (project / "bake.yml").write_text(converted.stdout)
    formatted = bake("fmt", "-diff", "bake.yml", cwd=project, **CREDS)  # type: ignore[operator]
    assert formatted.code == 0 and SECRET not in formatted.output
