"""``bake plan`` and incremental ``bake build`` on a real project tree: up to date when nothing
changed, otherwise every kind of change named. The earlier bake is a real manifest entry beside
an image file (no container is needed to decide)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from bakeansible.artifacts.manifest import append_to_manifest, manifest_entry
from bakeansible.cli.main import cli
from bakeansible.config.load import load_template
from bakeansible.images.database import existing_image_store
from bakeansible.pipeline.build import RunOptions, assess_builds
from bakeansible.pipeline.context import Artifact
from bakeansible.pipeline.incremental import diff_parts
from bakeansible.pipeline.previous import Reason
from tests.conftest import REPO

TEMPLATE = """\
variables:
  port: {default: "8080"}
builds:
  - name: web
    type: local
    image_name: site
    output_dir: output
provisioners:
  - type: ansible
    playbook_file: playbooks/site.yml
    extra_vars: {nginx_listen_port: "{{user `port`}}"}
"""


@dataclass
class Project:
    path: Path

    @property
    def image(self) -> Path:
        return self.path / "output/site.tar.zst"

    def reasons(self, *var_args: str, force: bool = False) -> list[str]:
        """``bake plan``'s reasons for the one build (empty: up to date)."""
        template = load_template(self.path / "bake.yml", var_args=var_args)
        options = RunOptions(project_dir=self.path, force=force, images=existing_image_store())
        (planned,) = assess_builds(template, options)
        assert planned.decision is not None
        return [str(r) for r in planned.decision.reasons]

    def bake_record(self, *var_args: str, **entry: object) -> None:
        """What a finished bake leaves: the image file and its manifest entry."""
        template = load_template(self.path / "bake.yml", var_args=var_args)
        (planned,) = assess_builds(template, RunOptions(project_dir=self.path, force=True))
        decision = planned.decision
        assert decision is not None
        self.image.parent.mkdir(exist_ok=True)
        self.image.write_bytes(b"an image " + decision.fingerprint.encode())
        digest = hashlib.sha256(self.image.read_bytes()).hexdigest()
        artifact = Artifact("local", str(self.image), "Image", files=[self.image], checksum=digest)
        artifact.extra.update(input_fingerprint=decision.fingerprint, input_parts=decision.parts)
        record = {**manifest_entry("web", artifact, "run-1"), **entry}
        append_to_manifest(self.path / "output/manifest.json", record, "run-1")


@pytest.fixture
def project(
    tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Project]:
    proj = tmp_path / "project"
    proj.mkdir()
    shutil.copytree(REPO / "playbooks", proj / "playbooks")
    shutil.copytree(REPO / "roles", proj / "roles")
    (proj / "bake.yml").write_text(TEMPLATE)
    monkeypatch.setenv("BAKE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(proj)
    yield Project(proj)


def test_never_built_then_up_to_date(project: Project) -> None:
    assert project.reasons() == ["never built"]
    project.bake_record()
    assert project.reasons() == []
    assert project.reasons(force=True) == ["-force"]


def test_each_kind_of_change_is_named(project: Project) -> None:
    project.bake_record()
    site = project.path / "roles/nginx/templates/site.conf.j2"
    original = site.read_text()
    site.write_text(original + "# changed\n")
    assert project.reasons() == ["file changed: roles/nginx/templates/site.conf.j2"]
    site.write_text(original)

    extra = project.path / "roles/nginx/tasks/extra.yml"
    extra.write_text("- ansible.builtin.debug: msg=x\n")
    assert project.reasons() == ["file added: roles/nginx/tasks/extra.yml"]
    extra.unlink()
    defaults = project.path / "roles/nginx/defaults/main.yml"
    saved = defaults.read_text()
    defaults.unlink()
    assert project.reasons() == ["file removed: roles/nginx/defaults/main.yml"]
    defaults.write_text(saved)

    group_vars = project.path / "playbooks/group_vars/all.yml"
    group_vars.parent.mkdir()
    group_vars.write_text("nginx_server_name: x\n")
    assert project.reasons() == ["file added: playbooks/group_vars/all.yml"]
    shutil.rmtree(group_vars.parent)

    assert project.reasons("port=9090") == ["variable changed: nginx_listen_port"]
    template = project.path / "bake.yml"
    template.write_text(TEMPLATE.replace("output_dir: output", "output_dir: output\n"
                                         "    extra_packages: [curl]"))  # fmt: skip
    option, source = project.reasons()
    assert option == "builder option changed: extra_packages"
    assert source.startswith("source image changed: a new Debian base"), "its base differs too"
    template.write_text(TEMPLATE.replace("image_name: site", "image_name: site-1764489600"))
    assert project.reasons() == [], "the image's name is not an input"
    template.write_text(TEMPLATE)
    assert project.reasons() == []


def test_source_changes_are_named() -> None:
    old = {"source": "debian-bookworm-1 dpkg:aaaa"}
    (debian,) = diff_parts(old, {"source": "debian-bookworm-1 dpkg:bbbb"})
    assert str(debian).startswith("source image changed: a new Debian base")
    (parent,) = diff_parts({"source": "tarball:1"}, {"source": "tarball:2"})
    assert "a new parent image" in str(parent)
    assert diff_parts(None, old) == [Reason("inputs", "the earlier bake did not record its inputs")]


def test_image_missing_checksum_revoked_failed_tests(project: Project) -> None:
    project.bake_record()
    project.image.write_bytes(b"tampered")
    (reason,) = project.reasons()
    assert reason.startswith(f"checksum mismatch: {project.image} is sha256:")
    project.image.unlink()
    assert project.reasons() == [f"image missing: {project.image}"]

    project.bake_record(revoked=True)
    assert project.reasons() == [f"revoked: {project.image}"]
    project.bake_record(test_result="failed")
    assert project.reasons() == [f"failed tests: {project.image}"]
    project.bake_record(test_result="passed")
    assert project.reasons() == []


def test_bake_plan_cli_and_build_reuses_the_image(project: Project, state_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["plan"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "web: rebuild\n    never built\n"

    project.bake_record()
    (project.path / "roles/nginx/templates/site.conf.j2").write_text("changed\n")
    result = runner.invoke(cli, ["plan", "--json", "-var", "port=81"])
    assert result.exit_code == 0, result.output
    (build,) = json.loads(result.stdout)["builds"]
    assert build["status"] == "rebuild" and build["name"] == "web"
    assert [(r["kind"], r["detail"]) for r in build["reasons"]] == [
        ("file-changed", "roles/nginx/templates/site.conf.j2"),
        ("variable", "nginx_listen_port"),
    ]
    # Not up to date, and the image exists: refused, pointing at bake plan; nothing created.
    result = runner.invoke(cli, ["build"])
    assert result.exit_code == 1
    assert "already exists, and is not up to date" in result.stderr
    assert "bake plan" in result.stderr
    assert not state_dir.exists()

    project.bake_record()
    result = runner.invoke(cli, ["plan"])
    assert result.stdout.startswith(f"web: up to date: Image {project.image} (")
    before = json.loads((project.path / "output/manifest.json").read_text())["builds"]
    result = runner.invoke(cli, ["build", "--no-auto-cleanup"])
    assert result.exit_code == 0, result.output
    assert f"==> web: up to date: Image {project.image}" in result.stdout
    assert "Build 'web' is up to date." in result.stdout
    builds = json.loads((project.path / "output/manifest.json").read_text())["builds"]
    assert len(builds) == len(before) + 1, "the reused image is in the manifest as usual"
    assert builds[-1]["input_fingerprint"] == before[-1]["input_fingerprint"]
    assert builds[-1]["checksum"] == before[-1]["checksum"]
    assert builds[-1]["artifact_id"] == str(project.image)


def test_the_registry_knows_revoked_and_pruned_images(project: Project, state_dir: Path) -> None:
    """A hit the registry never saw is recorded once; from then on the registry's word (revoked,
    pruned) wins over the manifest's."""
    from bakeansible.images.database import open_image_store

    project.bake_record()
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(cli, ["build", "--no-auto-cleanup"])
        assert result.exit_code == 0, result.output
        assert "Build 'web' is up to date." in result.stdout
    store = open_image_store()
    (record,) = store.images("web")
    assert record.artifact == str(project.image) and record.fingerprint
    assert "file:roles/nginx/tasks/main.yml" in record.inputs

    store.revoke([record.id], "bad nginx")
    assert project.reasons() == [f"revoked: {project.image}"]
    result = runner.invoke(cli, ["build", "--no-auto-cleanup"])
    assert result.exit_code == 1 and "not up to date" in result.stderr
