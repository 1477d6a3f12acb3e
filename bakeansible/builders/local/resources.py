"""Deleters of the local builder's journaled resources, used by ``bake cleanup``.

Each is idempotent: a resource already gone counts as removed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from bakeansible.builders.local import instance, network
from bakeansible.pipeline.journal import Resource
from bakeansible.pipeline.reaper import deleter
from bakeansible.procinfo import process_start_time


@deleter("local.directory")
def delete_directory(res: Resource) -> None:
    path = Path(res.data["path"])
    for mounted in _mounts_under(path):
        instance.unmount(mounted)
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        raise OSError(f"could not remove {path}")


@deleter("local.file")
def delete_file(res: Resource) -> None:
    Path(res.data["path"]).unlink(missing_ok=True)


@deleter("local.mount")
def delete_mount(res: Resource) -> None:
    instance.unmount(Path(res.data["path"]))


@deleter("local.address")
def release_address(res: Resource) -> None:
    """Loopback addresses of older bake versions needed no release; the entry only recorded
    who held one."""


@deleter("local.nft")
def delete_nft_table(res: Resource) -> None:
    network.delete_table(res.data["name"])


@deleter("local.link")
def delete_link(res: Resource) -> None:
    network.delete_link(res.data["name"])


@deleter("local.netns")
def delete_netns(res: Resource) -> None:
    network.delete_netns(res.data["name"])


@deleter("local.sysctl")
def release_sysctl(res: Resource) -> None:
    """ip_forward goes back off once no bake network is left, if bake switched it on."""
    network.release_forwarding()


@deleter("local.container")
def delete_container(res: Resource) -> None:
    nspawn_pid, init_pid = _container_pids(res)
    instance.kill_container(nspawn_pid, init_pid)
    instance.remove_propagation_dir(res.data["machine"])


def shut_down_container(
    res: Resource, timeout: float, starting: Callable[[], None] = lambda: None
) -> bool:
    """Power the container of ``res`` off in order (its units stop as on a VM), waiting up to
    ``timeout`` seconds; True when it stopped in time (or was not running; else ``starting``
    is called first). Kills nothing: its deleter does."""
    nspawn_pid, init_pid = _container_pids(res)
    if nspawn_pid is None:
        return True
    starting()
    return instance.shut_down(nspawn_pid, init_pid, timeout)


def _container_pids(res: Resource) -> tuple[int | None, int | None]:
    """The pids of the container's systemd-nspawn and init, if they still run."""
    data = res.data
    pids = []
    # Only signal a pid if it is still the same process (same start time): pids get reused.
    for pid_key, start_key in (("init_pid", "init_start"), ("nspawn_pid", "nspawn_start")):
        pid = data.get(pid_key)
        if pid and process_start_time(int(pid)) == data.get(start_key):
            pids.append(int(pid))
    init_pid = pids[0] if data.get("init_pid") in pids else None
    nspawn_pid = int(data["nspawn_pid"]) if data.get("nspawn_pid") in pids else None
    if nspawn_pid is None and not data.get("nspawn_pid"):
        # Killed between starting nspawn and journaling its pid: find it by machine name.
        nspawn_pid = instance.find_nspawn(data["machine"])
    if nspawn_pid is not None and init_pid is None:
        try:
            init_pid = instance.find_container_init(nspawn_pid, timeout=2)
        except Exception:
            init_pid = None
    return nspawn_pid, init_pid


def _mounts_under(path: Path) -> list[Path]:
    prefix = str(path).rstrip("/") + "/"
    with Path("/proc/self/mounts").open() as fh:
        points = [Path(line.split()[1]) for line in fh]
    return sorted((p for p in points if str(p).startswith(prefix)), reverse=True)
