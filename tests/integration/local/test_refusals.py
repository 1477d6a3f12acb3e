"""The installed ``bake`` command refuses bad input on the real host, before any side effect.

Each case runs the real console script in a subprocess: exit code 1, one ``Error:`` paragraph
on stderr, no traceback, and nothing created (no output, no state directory, no cache, no
container, no mount: ``no_leaks``). tests/unit/cli/test_build_cli.py covers the same refusals
in-process, plus the ones that need a doctored PATH or euid.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bakeansible.builders.local.network import FORBIDDEN, POOL_ENV, HostNetworks
from tests.conftest import bake_env

BROKEN_YAML = "- hosts: all\n  tasks:\n    - name: broken\n      command: echo: hi\n"
MISSING_ROLE = "- hosts: all\n  roles:\n    - role: no_such_role\n"
TEMPLATE = "builds:\n  - name: web\n    type: local\n    image_name: site\n{extra}"

CASES = {
    "playbook missing": (["--playbook", "playbooks/nope.yml"], None, "nope.yml not found"),
    "playbook not YAML": (
        ["--playbook", "playbooks/broken.yml"], None, "broken.yml:4:20 is not valid YAML"
    ),
    "role not found": (
        ["--playbook", "playbooks/norole.yml"], None, "uses role 'no_such_role', which was not"
    ),
    "output not writable": (
        ["--playbook", "playbooks/site.yml", "--output-dir", "/proc/bake-out"], None,
        "Output directory /proc/bake-out is not writable",
    ),
    "source tarball missing": (
        ["--playbook", "playbooks/site.yml", "--source", "old/base.tar.zst"], None,
        "old/base.tar.zst does not exist",
    ),
    "unknown source": (
        ["--playbook", "playbooks/site.yml", "--source", "debian:sid"], None,
        "Unknown source 'debian:sid'",
    ),
    "bad -e": (["--playbook", "playbooks/site.yml", "-e", "novalue"], None, "novalue"),
    "template: unknown key": (
        ["build"], "    instnace_type: x\n", "bake.yml:5:5: builds[0].instnace_type"
    ),
    "template: compression level": (
        ["build"], "    compression_level: 42\n", "compression_level must be 1-19"
    ),
    "template: -only matches nothing": (["build", "-only", "db*"], "", "No builds to run"),
    "template: ssh_username missing in the base": (
        ["build"], "    ssh_username: deploy\n", "the Debian base has no user but root"
    ),
    "template: galaxy_file missing": (
        ["build"],
        "provisioners:\n  - {type: ansible, playbook_file: playbooks/site.yml, "
        "galaxy_file: nope.yml}\n",
        "galaxy_file ",
    ),
    "network pool reserved": (
        ["--playbook", "playbooks/site.yml"], None, "BAKE_NETWORK_POOL=169.254.0.0/16 overlaps"
    ),
    "network pool collides with the host": (
        ["--playbook", "playbooks/site.yml"], None, "collides with the host's"
    ),
}


def host_network() -> str:
    """A block this host uses (an address or route, not loopback): a pool that collides."""
    for net, _ in HostNetworks.read().used:
        if net.prefixlen <= 30 and not any(net.overlaps(bad) for bad in FORBIDDEN):
            return str(net)
    raise AssertionError("this host has no IPv4 network besides loopback")


ENV = {
    "network pool reserved": lambda: {POOL_ENV: "169.254.0.0/16"},
    "network pool collides with the host": lambda: {POOL_ENV: host_network()},
}


@pytest.fixture
def refusal_project(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (project / "playbooks/broken.yml").write_text(BROKEN_YAML)
    (project / "playbooks/norole.yml").write_text(MISSING_ROLE)
    monkeypatch.setenv("BAKE_CACHE_DIR", str(tmp_path / "cache"))
    return project


@pytest.mark.parametrize("case", list(CASES))
def test_refused_before_any_side_effect(
    refusal_project: Path, state_dir: Path, tmp_path: Path, no_leaks: None, case: str
) -> None:
    args, template_extra, expected = CASES[case]
    if template_extra is not None:
        (refusal_project / "bake.yml").write_text(TEMPLATE.format(extra=template_extra))
    before = sorted(p.relative_to(refusal_project) for p in refusal_project.rglob("*"))
    result = subprocess.run(
        ["bake", *args], cwd=refusal_project, capture_output=True, text=True, timeout=60,
        env=bake_env(**ENV.get(case, dict)()),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    err = result.stderr
    assert err.startswith("Error: "), err
    assert expected in err, err
    assert "Traceback" not in err + result.stdout
    assert "" not in err.rstrip("\n").split("\n"), f"one paragraph:\n{err}"
    after = sorted(p.relative_to(refusal_project) for p in refusal_project.rglob("*"))
    assert after == before, "nothing may be written in the project"
    assert not state_dir.exists(), "no journal, no instance directory"
    assert not (tmp_path / "cache").exists(), "no base root filesystem build"
