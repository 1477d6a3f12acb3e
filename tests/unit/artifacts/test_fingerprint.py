"""The input fingerprint changes exactly when an input of the build changes."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from bakeansible.artifacts.fingerprint import build_fingerprint, input_files
from bakeansible.builders.local.config import LocalConfig
from bakeansible.config.model import BuildSpec, ProvisionerSpec
from bakeansible.provisioners.config import AnsibleConfig

REPO = Path(__file__).resolve().parents[3]


def make_project(tmp_path: Path) -> tuple[Path, BuildSpec]:
    shutil.copytree(REPO / "playbooks", tmp_path / "playbooks")
    shutil.copytree(REPO / "roles", tmp_path / "roles")
    prov = ProvisionerSpec("ansible", AnsibleConfig(playbook_file="playbooks/site.yml"))
    return tmp_path, BuildSpec("local", "local", LocalConfig(), (prov,))


def test_same_inputs_same_fingerprint(tmp_path: Path) -> None:
    project, spec = make_project(tmp_path)
    assert build_fingerprint(spec, project, "base") == build_fingerprint(spec, project, "base")
    files = input_files(spec, project)
    assert project / "playbooks/site.yml" in files
    assert project / "roles/nginx/tasks/main.yml" in files


def test_each_input_changes_the_fingerprint(tmp_path: Path) -> None:
    project, spec = make_project(tmp_path)
    first = build_fingerprint(spec, project, "base")
    assert build_fingerprint(spec, project, "other-base") != first
    other_config = replace(spec, config=LocalConfig(image_name="x"))
    assert build_fingerprint(other_config, project, "base") != first
    template = project / "roles/nginx/templates/site.conf.j2"
    template.write_text(template.read_text() + "# changed\n")
    assert build_fingerprint(spec, project, "base") != first
