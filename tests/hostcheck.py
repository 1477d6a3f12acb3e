"""What a build may leave on the host, read from /proc, to assert that nothing leaked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROPAGATE = Path("/run/systemd/nspawn/propagate")


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
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":
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


@dataclass(frozen=True)
class HostState:
    processes: frozenset[tuple[int, str]]
    mounts: frozenset[str]
    propagate: frozenset[str]

    @classmethod
    def read(cls) -> HostState:
        return cls(
            frozenset(foreign_pidns_processes()), frozenset(bake_mounts()),
            frozenset(propagate_dirs()),
        )

    def leaks_since(self, before: HostState) -> list[str]:
        leaks = []
        if extra := self.processes - before.processes:
            leaks.append(f"processes left: {sorted(extra)}")
        if extra := self.mounts - before.mounts:
            leaks.append(f"mounts left: {sorted(extra)}")
        if extra := self.propagate - before.propagate:
            leaks.append(f"nspawn propagation dirs left: {sorted(extra)}")
        return leaks


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*")) if path.exists() else []
