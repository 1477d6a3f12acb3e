"""``bake`` refuses clearly, before any side effect, when a build cannot work.

Each refusal: exit code 1, one ``Error:`` paragraph on stderr, no traceback, and nothing
created: no output directory, no state directory (journal), no cache, no mount. These need
no container, so they run in-process through click's CliRunner, except the missing-tool check,
which runs ``bake`` in a subprocess with a PATH that really lacks ``systemd-nspawn``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bakeansible.cli.main import cli
from tests.conftest import bake_env, project_tree

BROKEN_YAML = "- hosts: all\n  tasks:\n    - name: broken\n      command: echo: hi\n"
MISSING_ROLE = "- hosts: all\n  roles:\n    - role: no_such_role\n"


@dataclass
class Refusal:
    """What a refused run printed, and the project it ran in."""

    code: int
    stdout: str
    stderr: str
    project: Path


@dataclass
class Project:
    """A project directory with playbooks/ and roles/, isolated state and cache."""

    path: Path
    state: Path
    cache: Path

    def bake(self, *args: str) -> Refusal:
        result: Result = CliRunner().invoke(cli, list(args), catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Refusal(result.exit_code, result.stdout, result.stderr, self.path)

    def template(self, **build: str) -> None:
        """A bake.yml with one local build running playbooks/site.yml (or ``playbook``)."""
        playbook = build.pop("playbook", "playbooks/site.yml")
        options = "".join(f"    {k}: {v}\n" for k, v in build.items())
        (self.path / "bake.yml").write_text(
            "builds:\n  - name: web\n    type: local\n    image_name: site\n" + options
            + f"provisioners:\n  - type: ansible\n    playbook_file: {playbook}\n"
        )


@pytest.fixture
def project(
    tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Project]:
    proj = project_tree(tmp_path)
    (proj / "playbooks/broken.yml").write_text(BROKEN_YAML)
    (proj / "playbooks/norole.yml").write_text(MISSING_ROLE)
    cache = tmp_path / "cache"
    monkeypatch.setenv("BAKE_CACHE_DIR", str(cache))
    monkeypatch.delenv("BAKE_DEBUG", raising=False)
    monkeypatch.delenv("BAKE_LOG", raising=False)
    monkeypatch.chdir(proj)
    yield Project(proj, state_dir, cache)
    # State and cache are under tmp_path: whatever a build would mount (its overlay, a base
    # being bootstrapped) would be too. Other mounts on the host are none of this test's.
    with Path("/proc/self/mounts").open() as fh:
        mine = [p for p in (line.split()[1] for line in fh) if p.startswith(str(tmp_path))]
    assert not mine, f"a refused build mounted {mine}"


def assert_refused(
    project: Project, result: Refusal, *expected: str, output_existed: bool = False
) -> str:
    """Exit 1, one Error: paragraph naming ``expected``, no traceback, nothing created."""
    assert result.code == 1, result.stdout + result.stderr
    err = result.stderr
    assert err.startswith("Error: "), err
    assert "Traceback" not in err + result.stdout
    lines = err.rstrip("\n").split("\n")
    assert "" not in lines, f"one paragraph, no blank line:\n{err}"
    assert sum(line.startswith("Error: ") for line in lines) == 1, err
    for text in expected:
        assert text in err, f"{text!r} not in:\n{err}"
    assert not project.state.exists(), "no state directory (journal) may be created"
    assert not project.cache.exists(), "no cache may be created"
    if not output_existed:
        assert not (project.path / "output").exists(), "no output directory may be created"
    return err


def test_playbook_missing(project: Project) -> None:
    result = project.bake("--playbook", "playbooks/nope.yml")
    assert_refused(project, result, "playbooks/nope.yml", "not found")


def test_playbook_missing_in_template(project: Project) -> None:
    project.template(playbook="playbooks/nope.yml")
    result = project.bake("build")
    assert_refused(project, result, f"Playbook {project.path}/playbooks/nope.yml does not exist.")


def test_playbook_not_valid_yaml_names_file_line_column(project: Project) -> None:
    result = project.bake("--playbook", "playbooks/broken.yml")
    err = assert_refused(project, result, "is not valid YAML")
    # The colon after "echo" is on line 4, column 20.
    assert f"{project.path}/playbooks/broken.yml:4:20" in err


def test_playbook_not_valid_yaml_in_template(project: Project) -> None:
    project.template(playbook="playbooks/broken.yml")
    assert_refused(project, project.bake("build"), "playbooks/broken.yml:4:20", "not valid YAML")


def test_role_not_found_names_role_and_roles_path(project: Project) -> None:
    result = project.bake("--playbook", "playbooks/norole.yml")
    err = assert_refused(project, result, "role 'no_such_role'", "was not found")
    assert f"  {project.path}/roles\n" in err, "the project's roles/ was searched and is named"
    assert f"  {project.path}/playbooks/roles\n" in err
    assert "Hint: " in err


def test_output_dir_not_writable(project: Project) -> None:
    # Nothing can be created under /proc, not even by root.
    result = project.bake("--playbook", "playbooks/site.yml", "--output-dir", "/proc/bake-out")
    assert_refused(project, result, "Output directory /proc/bake-out is not writable")
    assert not Path("/proc/bake-out").exists()


def test_output_dir_not_writable_in_template(project: Project) -> None:
    project.template(output_dir="/proc/bake-out")
    assert_refused(project, project.bake("build"), "/proc/bake-out is not writable")


def test_output_dir_is_a_file(project: Project) -> None:
    (project.path / "out").write_text("not a directory\n")
    result = project.bake("--playbook", "playbooks/site.yml", "--output-dir", "out/images")
    assert_refused(project, result, "is not a directory")


@pytest.mark.parametrize("form", ["--playbook", "build"])
def test_image_exists_without_force(project: Project, form: str) -> None:
    out = project.path / "output"
    out.mkdir()
    image = out / "site.tar.zst"
    image.write_bytes(b"an earlier image")
    if form == "build":
        project.template()
        result = project.bake("build")
    else:
        result = project.bake("--playbook", "playbooks/site.yml")
    assert_refused(
        project, result, f"Image {image} already exists, and is not up to date.", "bake plan",
        "-force", output_existed=True,
    )
    assert list(out.iterdir()) == [image], "nothing else written beside the image"
    assert image.read_bytes() == b"an earlier image", "the existing image is untouched"


def test_not_root(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """The only mocked seam of these tests: ``os.geteuid``.

    A real non-root run is impossible here: the interpreter and bake live under /root, which is
    mode 0700, so no other user can even start Python.
    """
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = project.bake("--playbook", "playbooks/site.yml")
    assert_refused(project, result, "needs root", "Hint: Run bake as root")


def test_missing_tool_names_the_debian_package(project: Project, tmp_path: Path) -> None:
    """A PATH holding every tool the local builder needs except systemd-nspawn."""
    from bakeansible.procs import TOOL_PACKAGES

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOL_PACKAGES:
        if tool == "systemd-nspawn":
            continue
        real = shutil.which(tool)
        assert real is not None, f"{tool} must be installed for this test"
        (bin_dir / tool).symlink_to(real)
    env = bake_env(PATH=str(bin_dir), BAKE_STATE_DIR=str(project.state),
                   BAKE_CACHE_DIR=str(project.cache))
    env.pop("BAKE_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-c", "from bakeansible.cli.main import main; main()",
         "--playbook", "playbooks/site.yml"],
        cwd=project.path, env=env, capture_output=True, text=True, timeout=60,
    )
    result = Refusal(proc.returncode, proc.stdout, proc.stderr, project.path)
    err = assert_refused(project, result, "systemd-nspawn", "apt-get install -y systemd-container")
    assert err.startswith("Error: Missing host tool(s): systemd-nspawn.")


@pytest.mark.parametrize("existed", [True, False], ids=["database-exists", "first-bake"])
def test_state_database_opened_once_and_not_created_while_planning(
    project: Project, monkeypatch: pytest.MonkeyPatch, existed: bool
) -> None:
    """The journal and the registry share one open of the state database; when there is no
    database yet, planning runs without one (it must create nothing) and the bake makes it."""
    import bakeansible.cli.build as build_cli
    import bakeansible.pipeline.journal as journal_mod
    from bakeansible.pipeline.journal import Journal
    from bakeansible.state.url import default_sqlite_path

    if existed:
        Journal()
    opened: list[str | None] = []
    real_open = journal_mod.open_database

    def counting_open(url: str | None = None, **kw: object) -> object:
        opened.append(url)
        return real_open(url, **kw)  # type: ignore[arg-type]

    seen: dict[str, object] = {}

    def plan(template: object, options: build_cli.RunOptions) -> list[object]:
        seen["file_at_plan"] = default_sqlite_path().exists()
        seen["images_at_plan"] = options.images
        return []

    def run(planned: object, options: build_cli.RunOptions, *_: object) -> list[object]:
        assert options.images is not None and options.journal is not None
        seen["shared"] = options.images.db is options.journal.db
        return []

    monkeypatch.setattr(journal_mod, "open_database", counting_open)
    monkeypatch.setattr(build_cli, "plan_builds", plan)
    monkeypatch.setattr(build_cli, "run_builds", run)
    project.template()
    result = project.bake("build", "-color=false", "bake.yml")
    assert result.code == 0, result.stdout + result.stderr
    assert len(opened) == 1, f"the state database was opened {len(opened)} times"
    assert seen["shared"] is True, "the registry must use the journal's database"
    assert seen["file_at_plan"] is existed, "planning must not create the database"
    assert (seen["images_at_plan"] is None) is not existed
