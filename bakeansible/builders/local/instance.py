"""One local instance: a systemd-nspawn container booting its own systemd on an overlayfs view.

The pieces are separate functions so that a build can journal each resource before creating it
(overlay mount, nspawn process, container init); ``LocalInstance`` ties them together for
callers that manage the lifetime themselves (the Tencent Cloud emulator).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bakeansible.builders.local import network, pkgcache
from bakeansible.errors import BakeError
from bakeansible.procinfo import process_running

log = logging.getLogger(__name__)

NSPAWN_PROPAGATE = Path("/run/systemd/nspawn/propagate")

# Regenerates sshd host keys on first boot, so every instance and every baked image has its
# own (the base and the snapshots carry none).
HOSTKEYS_UNIT = """\
[Unit]
Description=Generate SSH host keys (bake)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
"""


HOSTKEY = "etc/ssh/ssh_host_ed25519_key"

# What systemd-nspawn --boot sends the container's systemd on SIGTERM: an orderly poweroff.
SHUTDOWN_SIGNAL = signal.SIGRTMIN + 3


def mount_overlay(lower: Path, upper: Path, work: Path, merged: Path) -> None:
    for d in (upper, work, merged):
        d.mkdir(parents=True, exist_ok=True)
    opts = f"lowerdir={lower},upperdir={upper},workdir={work}"
    result = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", opts, str(merged)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BakeError(
            f"Could not mount the instance's overlay on {merged}: {result.stderr.strip()}",
            hint="bake needs root and a kernel with overlayfs.",
        )


def is_mounted(path: Path) -> bool:
    target = str(path)
    with Path("/proc/self/mounts").open() as fh:
        return any(line.split()[1] == target for line in fh)


def unmount(path: Path) -> None:
    """Unmount ``path`` if mounted (lazily if busy). Idempotent."""
    if not is_mounted(path):
        return
    result = subprocess.run(["umount", str(path)], capture_output=True, text=True)
    if result.returncode != 0 and is_mounted(path):
        subprocess.run(["umount", "-l", str(path)], capture_output=True, text=True)
    if is_mounted(path):
        raise BakeError(f"Could not unmount {path}: {result.stderr.strip()}")


def prepare_root(
    root: Path,
    *,
    address: str,
    hostname: str,
    authorized_key: str | None = None,
    user: str = "root",
    password: str | None = None,
    apt_proxy: str | None = None,
) -> None:
    """Write what the instance needs to boot like a cloud VM: sshd on its address, the key,
    and apt's way to the host's package cache (``apt_proxy``, a URL)."""
    ssh_dir = root / "etc/ssh/sshd_config.d"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    (ssh_dir / "00-bake-listen.conf").write_text(
        f"# Written by bake for this instance only; removed from the image.\n"
        f"ListenAddress {address}\nUseDNS no\nHostKey /{HOSTKEY}\n"
    )
    # Only the host key this instance's sshd uses, made on the host: `ssh-keygen -A` at boot
    # also makes an RSA key, half a second of CPU before sshd can start. Images carry no host
    # key (see snapshot), so each of their instances still makes all of them on first boot.
    hostkey = root / HOSTKEY
    if not hostkey.exists():
        result = subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{hostname}",
             "-f", str(hostkey)],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise BakeError(f"Could not make the instance's SSH host key: {result.stderr.strip()}")
    unit = root / "etc/systemd/system/bake-ssh-hostkeys.service"
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(HOSTKEYS_UNIT)
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / "bake-ssh-hostkeys.service"
    if not link.is_symlink():
        link.symlink_to("/etc/systemd/system/bake-ssh-hostkeys.service")
    # ssh.service must wait for the keys; a drop-in orders it after the generator.
    dropin = root / "etc/systemd/system/ssh.service.d"
    dropin.mkdir(parents=True, exist_ok=True)
    (dropin / "bake-hostkeys.conf").write_text(
        "[Unit]\nAfter=bake-ssh-hostkeys.service\nWants=bake-ssh-hostkeys.service\n"
    )
    (root / "etc/hostname").write_text(hostname + "\n")
    if authorized_key:
        home = Path("/root") if user == "root" else Path("/home") / user
        dot_ssh = root / home.relative_to("/") / ".ssh"
        dot_ssh.mkdir(parents=True, exist_ok=True, mode=0o700)
        dot_ssh.chmod(0o700)
        keys = dot_ssh / "authorized_keys"
        keys.write_text(authorized_key.strip() + "\n")
        keys.chmod(0o600)
    if password:
        _set_root_password(root, password)
    if apt_proxy:
        conf = root / pkgcache.APT_CONF
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(pkgcache.apt_conf(apt_proxy))


def has_user(root: Path, user: str) -> bool:
    """Whether ``user`` has an entry in the root filesystem's /etc/passwd."""
    try:
        lines = (root / "etc/passwd").read_text().splitlines()
    except OSError:
        return False
    return any(line.split(":", 1)[0] == user for line in lines)


def _set_root_password(root: Path, password: str) -> None:
    """Set root's password and allow password logins (the emulator's LoginSettings.Password)."""
    result = subprocess.run(
        ["chroot", str(root), "chpasswd"],
        input=f"root:{password}\n",
        text=True,
        capture_output=True,
    )
    if result.returncode != 0:
        raise BakeError("Could not set the instance's root password.")
    conf = root / "etc/ssh/sshd_config.d/01-bake-password.conf"
    conf.write_text("PermitRootLogin yes\nPasswordAuthentication yes\n")


def forget_instance_files(root: Path) -> None:
    """Remove what ``prepare_root`` wrote that belongs to this instance only."""
    for rel in (
        "etc/ssh/sshd_config.d/00-bake-listen.conf",
        "etc/ssh/sshd_config.d/01-bake-password.conf",
        pkgcache.APT_CONF,
    ):
        with contextlib.suppress(FileNotFoundError):
            (root / rel).unlink()


def boot(root: Path, machine: str, console_log: Path, netns: Path) -> subprocess.Popen[bytes]:
    """Start systemd-nspawn booting ``root`` in the network namespace at ``netns``."""
    console_log.parent.mkdir(parents=True, exist_ok=True)
    with console_log.open("ab") as log:
        return subprocess.Popen(
            [
                "systemd-nspawn",
                "--quiet",
                "--directory",
                str(root),
                "--boot",
                "--register=no",
                "--keep-unit",
                "--machine",
                machine,
                "--console=read-only",
                "--link-journal=no",
                f"--network-namespace-path={netns}",
                # Resolve as the host does (the base may carry an older copy).
                "--resolv-conf=copy-host",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def find_container_init(nspawn_pid: int, timeout: float = 30.0) -> int:
    """The pid (on the host) of the container's PID 1, a child of systemd-nspawn."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in _children(nspawn_pid):
            # nspawn forks an intermediate child that execs the container's init.
            if _comm(child) == "systemd":
                return child
            for grandchild in _children(child):
                if _comm(grandchild) == "systemd":
                    return grandchild
        if not Path(f"/proc/{nspawn_pid}").exists():
            break
        time.sleep(0.1)
    raise BakeError("systemd-nspawn started but the container's systemd never appeared.")


def find_nspawn(machine: str) -> int | None:
    """The pid of the systemd-nspawn running ``machine``, if any."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"systemd-nspawn") and machine.encode() in argv:
            return int(entry.name)
    return None


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def wait_pid_gone(pid: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return True
        if not process_running(pid):
            return True
        time.sleep(0.1)
    return False


def poweroff(
    nspawn_pid: int,
    init_pid: int | None,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
) -> bool:
    """Power the container off cleanly; kill it if it does not stop in time.

    Returns True when the shutdown was clean (see ``shut_down``).
    """
    clean = shut_down(nspawn_pid, init_pid, timeout, proc)
    kill_container(nspawn_pid, init_pid, proc)
    return clean


def shut_down(
    nspawn_pid: int,
    init_pid: int | None,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
) -> bool:
    """Ask the container to power off in order and wait up to ``timeout`` for it; kills
    nothing. True when systemd-nspawn has exited (or was gone already).

    SIGTERM to systemd-nspawn makes it send SIGRTMIN+3 to the container's systemd: an orderly
    shutdown, units stopped as on a VM.
    """
    if not process_running(nspawn_pid):
        return True
    deadline = time.monotonic() + timeout
    if init_pid is not None:
        wait_shutdown_ready(init_pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(nspawn_pid, signal.SIGTERM)
    return wait_pid_gone(nspawn_pid, max(deadline - time.monotonic(), 0.0), proc)


def wait_shutdown_ready(init_pid: int, timeout: float) -> bool:
    """Wait until the container's systemd acts on SIGRTMIN+3 (nspawn's shutdown request).

    Early in its start, before systemd blocks the signal for its signalfd, the kernel drops a
    signal with no handler sent to the init of a pid namespace: the request would be lost and
    the container would run until killed. Returns False when it was not ready in time."""
    bit = 1 << (SHUTDOWN_SIGNAL - 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        masks = _signal_masks(init_pid)
        if masks is None or masks & bit:
            return True
        time.sleep(0.02)
    return False


def _signal_masks(pid: int) -> int | None:
    """The signals ``pid`` blocks or catches (a bit per signal), or None when it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    masks = 0
    for line in lines:
        if line.startswith(("SigBlk:", "SigCgt:")):
            masks |= int(line.split()[1], 16)
    return masks


def kill_container(
    nspawn_pid: int | None, init_pid: int | None, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """SIGKILL the container's init (which takes its whole pid namespace) and nspawn."""
    for pid in (init_pid, nspawn_pid):
        if pid and process_running(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for pid in (init_pid, nspawn_pid):
        if pid:
            wait_pid_gone(pid, 10)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)


def remove_propagation_dir(machine: str) -> None:
    """nspawn leaves /run/systemd/nspawn/propagate/<machine> behind when it is killed."""
    shutil.rmtree(NSPAWN_PROPAGATE / machine, ignore_errors=True)


@dataclass
class LocalInstance:
    """A booted container in its own network namespace, for callers that manage its lifetime
    themselves (the emulator).

    ``network.netns`` names the namespace (``ip netns exec <netns> ...``); ``address`` is where
    sshd listens; connections from the host arrive from ``network.gateway``.
    """

    machine: str
    workdir: Path
    network: network.NetworkHandle
    proc: subprocess.Popen[bytes] | None = None
    init_pid: int | None = None

    @property
    def root(self) -> Path:
        return self.workdir / "merged"

    @property
    def address(self) -> str:
        return self.network.net.address

    @property
    def netns(self) -> str:
        """The network namespace's name, for ``ip netns exec`` (e.g. firewall rules inside)."""
        return self.network.net.netns

    @property
    def gateway(self) -> str:
        """The host end's address: connections from the host (bake's SSH) come from it."""
        return self.network.net.gateway

    @classmethod
    def start(
        cls,
        lower: Path,
        workdir: Path,
        *,
        machine: str,
        authorized_key: str | None = None,
        password: str | None = None,
    ) -> LocalInstance:
        """Create its network, mount, prepare and boot an instance; on any failure, undo what
        was done and raise."""
        inst = cls(machine=machine, workdir=workdir, network=network.create_network())
        try:
            mount_overlay(lower, workdir / "upper", workdir / "work", inst.root)
            prepare_root(
                inst.root,
                address=inst.address,
                hostname=machine[:63],
                authorized_key=authorized_key,
                password=password,
            )
            inst.power_on()
        except BaseException:
            inst.destroy()
            raise
        return inst

    def power_on(self) -> None:
        """Boot the (mounted, prepared) root in the instance's namespace; no-op if running."""
        if self.proc is not None:
            return
        self.proc = boot(
            self.root, self.machine, self.workdir / "console.log", self.network.net.netns_path
        )
        self.init_pid = find_container_init(self.proc.pid)

    def stop(self, timeout: float = 30.0) -> bool:
        """Power off (keeps the root filesystem mounted, e.g. for a snapshot)."""
        if self.proc is None:
            return True
        clean = poweroff(self.proc.pid, self.init_pid, timeout, self.proc)
        remove_propagation_dir(self.machine)
        self.proc = None
        return clean

    def destroy(self) -> None:
        """Stop, unmount and delete everything of this instance, its network last. Idempotent."""
        if self.proc is not None:
            kill_container(self.proc.pid, self.init_pid, self.proc)
            self.proc = None
        remove_propagation_dir(self.machine)
        unmount(self.root)
        shutil.rmtree(self.workdir, ignore_errors=True)
        for error in network.destroy_network(self.network):
            log.warning("%s", error)
