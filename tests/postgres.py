"""A throwaway PostgreSQL cluster for the tests: Debian's ``postgresql`` binaries, ``initdb`` in
a temporary directory, the server listening only on a unix socket in that directory.

Never skipped: without the package the tests that need it fail, naming the package to install.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) are missing: install Debian's `postgresql` "
    "package (`apt-get install -y postgresql`, as in the README's first command and .ci/run)."
)


def server_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with initdb and pg_ctl."""
    found = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found or not (found[-1] / "pg_ctl").exists():
        pytest.fail(PACKAGE_HINT, pytrace=False)
    return found[-1]


def _owner() -> str | None:
    """initdb refuses root: as root, run the server as ``postgres`` (else ``nobody``)."""
    if os.geteuid() != 0:
        return None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
            return user
        except KeyError:
            continue
    pytest.fail("no unprivileged user (postgres, nobody) to run the test PostgreSQL server as",
                pytrace=False)


@dataclass
class Cluster:
    """A running throwaway server; ``url(dbname)`` connects over its socket."""

    directory: Path
    bin: Path
    user: str | None

    @property
    def socket_dir(self) -> Path:
        return self.directory

    def url(self, schema: str | None = None) -> str:
        """The URL of the server's ``postgres`` database (in ``schema`` if given)."""
        role = self.user or pwd.getpwuid(os.getuid()).pw_name
        url = f"postgresql://{role}@/postgres?host={self.socket_dir}"
        return f"{url}&options=-csearch_path%3D{schema}" if schema else url

    def new_database(self) -> str:
        """The URL of a fresh, empty place for bake's tables: a schema of its own (much faster
        to make than a database, and as separate for bake's tables)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]
        return self.url(name)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]], user=self.user, capture_output=True,
            text=True, timeout=120, cwd="/", check=False,
        )


def start_cluster() -> Cluster:
    """initdb and start a server in a new temporary directory."""
    bin_dir = server_bin()
    user = _owner()
    directory = Path(tempfile.mkdtemp(prefix="bake-pg-"))
    if user is not None:
        shutil.chown(directory, user)
    cluster = Cluster(directory, bin_dir, user)
    data = directory / "data"
    init = cluster.run("initdb", "-D", str(data), "--auth=trust", "--no-sync", "-E", "UTF8",
                       "--locale=C.UTF-8", "-U", cluster.url().split("//")[1].split("@")[0])
    if init.returncode != 0:
        stop_cluster(cluster)
        pytest.fail(f"initdb failed: {init.stderr}", pytrace=False)
    options = (f"-c listen_addresses='' -c unix_socket_directories={directory} -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    start = cluster.run("pg_ctl", "-D", str(data), "-l", str(directory / "log"), "-w",
                        "-o", options, "start")
    if start.returncode != 0:
        log = (directory / "log").read_text() if (directory / "log").exists() else ""
        stop_cluster(cluster)
        pytest.fail(f"the test PostgreSQL server did not start: {start.stderr}{log}",
                    pytrace=False)
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    """Stop the server (immediately: it holds nothing worth keeping) and remove its files."""
    data = cluster.directory / "data"
    if (data / "postmaster.pid").exists():
        cluster.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    shutil.rmtree(cluster.directory, ignore_errors=True)
