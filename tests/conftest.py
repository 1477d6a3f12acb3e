"""Shared fixtures: the base root filesystem (built once per run), isolated state, leak checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bakeansible.state import Database, open_database
from tests.hostcheck import HostState, files_under
from tests.installed import build_wheel, install_wheel
from tests.postgres import Cluster, start_cluster, stop_cluster

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def base_rootfs() -> Path:
    """The cached Debian bookworm base; built once (mmdebstrap) and shared by every test."""
    from bakeansible.builders.local.rootfs import ensure_base_rootfs

    started = time.monotonic()
    path = ensure_base_rootfs("bookworm", progress=lambda _m: None)
    print(f"base root filesystem ready in {time.monotonic() - started:.1f}s: {path}")
    return path


@pytest.fixture(scope="session")
def bake_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bake's wheel, built once per run from a copy of the sources."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def installed_bake(bake_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Absolute path of ``bake`` in a fresh venv (outside the checkout) holding only the wheel
    and its dependencies; once per run, since installing the dependencies takes a while."""
    return install_wheel(bake_wheel, tmp_path_factory.mktemp("installed") / "venv")


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private bake state directory (journal, instance dirs) for this test."""
    path = tmp_path / "state"
    monkeypatch.setenv("BAKE_STATE_DIR", str(path))
    monkeypatch.delenv("BAKE_DATABASE_URL", raising=False)  # the embedded journal in there
    return path


@pytest.fixture
def project(tmp_path: Path, state_dir: Path) -> Path:
    """A copy of the repository's playbooks/ and roles/ in a fresh project directory.

    Without playbooks/verify.yml, so ``bake --playbook`` runs no test phase: the tests of the
    test phase (tests/integration/local/test_test_phase.py) copy it themselves."""
    return project_tree(tmp_path, verify=False)


def project_tree(parent: Path, *, verify: bool = True) -> Path:
    """``parent/project``: a copy of the repository's playbooks/ (with verify.yml unless
    ``verify`` is false) and roles/."""
    proj = parent / "project"
    proj.mkdir()
    ignore = None if verify else shutil.ignore_patterns("verify.yml")
    shutil.copytree(REPO / "playbooks", proj / "playbooks", ignore=ignore)
    shutil.copytree(REPO / "roles", proj / "roles")
    return proj


@pytest.fixture
def no_leaks(state_dir: Path) -> Iterator[None]:
    """Assert that the test left no container process, mount, propagation dir or instance dir."""
    before = HostState.read()
    yield
    deadline = time.monotonic() + 10
    while True:
        leaks = HostState.read().leaks_since(before)
        if not leaks or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    instances = files_under(state_dir / "instances")
    if instances:
        leaks.append(f"instance files left: {[str(p) for p in instances[:5]]}")
    assert not leaks, "; ".join(leaks)


def bake_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("BAKE_LOG", None)
    env.update(extra)
    return env


def run_bake(
    args: list[str], cwd: Path, timeout: float = 600, **env: str
) -> subprocess.CompletedProcess[str]:
    """``bake ARGS`` in ``cwd``, output captured, with ``env`` over the test's environment."""
    return subprocess.run(
        ["bake", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env=bake_env(**env),
    )  # fmt: skip


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A throwaway PostgreSQL server for this run (fails, never skips, without the package)."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh, empty state database on each backend, also in BAKE_DATABASE_URL so ``bake``
    subprocesses use it: the SQLite file in ``state_dir``, or a new database on the test
    PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite://{state_dir / 'journal.sqlite'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    monkeypatch.setenv("BAKE_DATABASE_URL", url)
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """``database_url`` opened (and migrated) with the state layer."""
    db = open_database(database_url)
    try:
        yield db
    finally:
        db.close()
