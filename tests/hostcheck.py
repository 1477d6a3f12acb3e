"""What a build may leave on the host, read from /proc, to assert that nothing leaked."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bakeansible.procinfo import process_running

PROPAGATE = Path("/run/systemd/nspawn/propagate")
# Set by bake in the environment of every child of a build (bakeansible/pipeline/host.py).
BUILD_MARKER = b"BAKE_BUILD_ID="


def _own_pidns() -> str:
    return str(Path("/proc/self/ns/pid").readlink())


def foreign_pidns_processes() -> set[tuple[int, str]]:
    """Processes in another pid namespace (container processes), and systemd-nspawn itself."""
    mine = _own_pidns()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ns = str((entry / "ns/pid").readlink())
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if not process_running(int(entry.name)):
            continue
        if ns != mine or comm == "systemd-nspawn":
            found.add((int(entry.name), comm))
    return found


def bake_mounts() -> set[str]:
    with Path("/proc/self/mounts").open() as fh:
        points = [line.split()[1] for line in fh]
    return {p for p in points if "bake" in p or "/instances/" in p}


def propagate_dirs() -> set[str]:
    return {p.name for p in PROPAGATE.iterdir()} if PROPAGATE.exists() else set()


def bake_host_processes() -> set[tuple[int, str]]:
    """bake and its host-side children (ansible-playbook and its workers, ssh and its
    ControlMaster, tar, zstd, mmdebstrap): processes whose environment carries a build's
    marker, or this test's BAKE_STATE_DIR (inherited by every process a test's bake starts,
    even one that left bake's process group or lost its parent)."""
    state = os.environ.get("BAKE_STATE_DIR")
    needles = [BUILD_MARKER] + ([f"BAKE_STATE_DIR={state}".encode()] if state else [])
    me = os.getpid()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if not process_running(int(entry.name)):
            continue
        if any(var.startswith(n) for var in environ for n in needles):
            found.add((int(entry.name), comm))
    return found


def bake_temp_dirs() -> set[str]:
    """``bake-*`` entries in /tmp and $TMPDIR: builds' temporary directories and keys (the
    shared lock files and the emulator's own data directory excepted)."""
    roots = {Path("/tmp"), Path(tempfile.gettempdir())}
    return {
        str(p)
        for root in roots
        for p in root.glob("bake-*")
        if not p.name.endswith(".lock") and not p.name.startswith("bake-tcloud-")
    }


def package_cache_partials() -> set[str]:
    """Downloads in progress of builds' package caches (``<cache>/apt/.partial/<build id>``):
    each build removes its own, ``bake cleanup`` those of a killed one."""
    from bakeansible.builders.local.pkgcache import store_dir

    partial = store_dir() / ".partial"
    return {str(p) for p in partial.iterdir()} if partial.is_dir() else set()


def network_namespaces() -> set[str]:
    """Named network namespaces (`ip netns list`)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def network_links() -> set[str]:
    """The host's network interfaces (`ip -br link`), e.g. the host ends of veth pairs."""
    out = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    return {line.split()[0].split("@")[0] for line in out.splitlines() if line.strip()}


def nft_tables() -> set[str]:
    """The host's nftables tables (`nft list tables`), as "family name"."""
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return {line.removeprefix("table ").strip() for line in out.splitlines() if line.strip()}


def ip_forward() -> str:
    return Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()


@dataclass(frozen=True)
class NetworkState:
    """What a build may leave in the host's network: namespaces, links, nft tables, sysctl."""

    netns: frozenset[str]
    links: frozenset[str]
    tables: frozenset[str]
    forward: str

    @classmethod
    def read(cls) -> NetworkState:
        return cls(frozenset(network_namespaces()), frozenset(network_links()),
                   frozenset(nft_tables()), ip_forward())

    def leaks_since(self, before: NetworkState) -> list[str]:
        leaks = []
        if extra := self.netns - before.netns:
            leaks.append(f"network namespaces left: {sorted(extra)}")
        if extra := self.links - before.links:
            leaks.append(f"network links left: {sorted(extra)}")
        if extra := self.tables - before.tables:
            leaks.append(f"nft tables left: {sorted(extra)}")
        if self.forward != before.forward:
            leaks.append(f"net.ipv4.ip_forward left at {self.forward} (was {before.forward})")
        return leaks


@dataclass(frozen=True)
class HostState:
    processes: frozenset[tuple[int, str]]
    mounts: frozenset[str]
    propagate: frozenset[str]
    network: NetworkState
    children: frozenset[tuple[int, str]] = frozenset()
    temp_dirs: frozenset[str] = frozenset()
    partials: frozenset[str] = frozenset()

    @classmethod
    def read(cls) -> HostState:
        return cls(
            frozenset(foreign_pidns_processes()), frozenset(bake_mounts()),
            frozenset(propagate_dirs()), NetworkState.read(),
            children=frozenset(bake_host_processes()),
            temp_dirs=frozenset(bake_temp_dirs()),
            partials=frozenset(package_cache_partials()),
        )

    def leaks_since(self, before: HostState) -> list[str]:
        leaks = []
        if extra := self.processes - before.processes:
            leaks.append(f"processes left: {sorted(extra)}")
        if extra := self.mounts - before.mounts:
            leaks.append(f"mounts left: {sorted(extra)}")
        if extra := self.propagate - before.propagate:
            leaks.append(f"nspawn propagation dirs left: {sorted(extra)}")
        if extra := self.children - before.children:
            leaks.append(f"host processes of bake left: {sorted(extra)}")
        if extra := self.temp_dirs - before.temp_dirs:
            leaks.append(f"temporary directories left: {sorted(extra)}")
        if extra := self.partials - before.partials:
            leaks.append(f"package cache downloads left: {sorted(extra)}")
        leaks.extend(self.network.leaks_since(before.network))
        return leaks


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*")) if path.exists() else []
