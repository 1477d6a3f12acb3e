"""``bake plan`` and incremental ``bake build`` on a real project tree: up to date when nothing
changed, otherwise every kind of change named. The earlier bake is a real manifest entry beside
an image file (no container is needed to decide)."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from bakeansible.artifacts.manifest import append_to_manifest, manifest_entry
from bakeansible.cli.main import cli
from bakeansible.config.load import load_template
from bakeansible.config.model import BuildSpec
from bakeansible.errors import StepError
from bakeansible.images.database import existing_image_store
from bakeansible.pipeline.build import (
    BuildResult,
    PlannedBuild,
    RunOptions,
    assess_builds,
    image_key,
    run_build,
)
from bakeansible.pipeline.context import Artifact, BuildContext
from bakeansible.pipeline.incremental import Decision, diff_parts
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.previous import ImageCheck, PreviousImage, Reason
from bakeansible.pipeline.step import Step
from bakeansible.ui import RecordingUi
from tests.conftest import project_tree

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
    proj = project_tree(tmp_path)
    (proj / "bake.yml").write_text(TEMPLATE)
    monkeypatch.setenv("BAKE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(proj)
    yield Project(proj)


def test_never_built_then_up_to_date(project: Project) -> None:
    assert project.reasons() == ["never built"]
    project.bake_record()
    assert project.reasons() == []
    assert project.reasons(force=True) == ["-force"]


def test_a_build_of_the_same_name_in_another_project_is_not_ours(project: Project) -> None:
    """The registry is shared by every project on the host: a copy of the project elsewhere,
    with the same build name, neither reuses nor is compared with this project's image."""
    project.bake_record()
    other = Project(project.path.parent / "other")
    shutil.copytree(project.path, other.path, ignore=shutil.ignore_patterns("output"))
    # This project's manifest, as a shared manifest post-processor would list it.
    other.image.parent.mkdir()
    shutil.copy(project.path / "output/manifest.json", other.path / "output/manifest.json")
    assert other.reasons() == ["never built"]
    assert project.reasons() == []


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


class FailStep(Step[BuildContext]):
    title = "Would bake..."

    def run(self, ctx: BuildContext) -> None:
        raise StepError("baked twice")


@dataclass
class OneImageBuilder:
    """A builder whose image is a file; baking fails (the test wants it reused)."""

    output_dir: Path

    def source_identity(self) -> str:
        return "s"

    def existing_image(self, image: PreviousImage) -> ImageCheck:
        path = Path(image.artifact_id)
        if not path.is_file():
            return ImageCheck(problem=Reason("image-missing", str(path)))
        return ImageCheck(Artifact("fake", str(path), f"Image {path}", files=[path]))

    def is_own_image(self, image: PreviousImage) -> bool:
        return Path(image.artifact_id).parent == self.output_dir

    def find_image(self, fingerprint: str) -> PreviousImage | None:
        return None

    def new_context(self, base: BuildContext) -> BuildContext:
        base.output_dir = self.output_dir
        return base

    def steps(self, ctx: BuildContext) -> list[Step[BuildContext]]:
        return [FailStep()]


def test_a_bake_that_waited_for_another_of_the_image_reuses_what_it_made(tmp_path: Path) -> None:
    """Two bakes of one image: the second waits for the first's lock, then finds the image the
    first made from the same inputs, and reuses it instead of baking it again."""
    journal = Journal(tmp_path / "journal.sqlite")
    builder = OneImageBuilder(tmp_path / "output")
    spec = BuildSpec("web", "fake", SimpleNamespace(image_name="web"))
    decision = Decision("sha256:f", {"source": "s"}, [Reason("never-built")])
    planned = PlannedBuild(spec, builder, decision)  # type: ignore[arg-type]
    ui = RecordingUi()
    held = journal.lock_image(image_key(spec), "first", "web")
    results: list[BuildResult] = []
    thread = threading.Thread(target=lambda: results.append(run_build(
        planned, RunOptions(project_dir=tmp_path, journal=journal), ui, threading.Event())))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while "Waiting for" not in ui.text():
            assert time.monotonic() < deadline and thread.is_alive(), ui.text()
            time.sleep(0.05)
        # Meanwhile the first bake finishes: its image and its manifest entry.
        image = tmp_path / "output/web.img"
        image.parent.mkdir()
        image.write_bytes(b"web")
        made = Artifact("fake", str(image), "Image", files=[image])
        made.extra.update(input_fingerprint="sha256:f", input_parts={"source": "s"})
        append_to_manifest(tmp_path / "output/manifest.json", manifest_entry("web", made, "r"), "r")
    finally:
        held.release()
        thread.join(30)
    (result,) = results
    assert result.ok and result.up_to_date, ui.text()
    assert f"up to date: Image {image}" in ui.text()
    assert journal.builds() == [], "nothing was built"


def test_a_new_parent_image_is_named(project: Project) -> None:
    """A chained build: its source is an earlier image; a rebuilt parent is a new source."""
    parent = project.path / "parent.tar.zst"
    parent.write_bytes(b"parent v1")
    template = project.path / "bake.yml"
    template.write_text(TEMPLATE.replace("image_name: site", "image_name: site\n"
                                         "    source: parent.tar.zst"))  # fmt: skip
    project.bake_record()
    assert project.reasons() == []
    parent.write_bytes(b"parent v2")
    (reason,) = project.reasons()
    assert reason.startswith("source image changed: a new parent image (tarball:")
