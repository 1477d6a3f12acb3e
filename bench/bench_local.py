"""Benchmark: `bake --playbook playbooks/site.yml` against the same work done by hand.

The "raw" column runs the equivalent commands directly (overlay mount, systemd-nspawn boot,
ansible-playbook over SSH, poweroff, tar | zstd) on the same cached base, so the ratio is bake's
own overhead. Both run in the same invocation, alternating, and the table shows medians.

    python bench/bench_local.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def bake_run(out: Path) -> float:
    started = time.monotonic()
    subprocess.run(
        ["bake", "--playbook", "playbooks/site.yml", "--output-dir", str(out), "-force",
         "-color=false"],
        cwd=REPO, check=True, capture_output=True,
    )
    return time.monotonic() - started


def raw_run(base: Path, work: Path) -> float:
    """The same bake, by hand: no journal, no checks, no streaming."""
    started = time.monotonic()
    for d in ("upper", "work", "merged"):
        (work / d).mkdir(parents=True)
    merged = work / "merged"
    subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir={base},upperdir={work}/upper,workdir={work}/work", str(merged)],
        check=True,
    )
    try:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / "key")],
                       check=True)
        address = "127.77.0.2"
        (merged / "root/.ssh").mkdir(mode=0o700, exist_ok=True)
        shutil.copy(work / "key.pub", merged / "root/.ssh/authorized_keys")
        (merged / "etc/ssh/sshd_config.d/raw.conf").write_text(f"ListenAddress {address}\n")
        subprocess.run(["chroot", str(merged), "ssh-keygen", "-A"], check=True,
                       capture_output=True)
        nspawn = subprocess.Popen(
            ["systemd-nspawn", "-q", "-D", str(merged), "-b", "--register=no", "--keep-unit",
             "-M", "bench-raw", "--console=read-only"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            while True:
                try:
                    socket.create_connection((address, 22), 1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            inventory = work / "hosts"
            inventory.write_text(
                f"default ansible_host={address} ansible_user=root "
                f"ansible_ssh_private_key_file={work}/key\n"
            )
            env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "False",
                   "ANSIBLE_PIPELINING": "True", "ANSIBLE_ROLES_PATH": str(REPO / "roles")}
            ssh_ready = False
            for _ in range(100):
                if subprocess.run(
                    ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                     "-i", str(work / "key"), f"root@{address}",
                     "systemctl is-system-running --wait"],
                    capture_output=True,
                ).returncode in (0, 1):
                    ssh_ready = True
                    break
                time.sleep(0.2)
            assert ssh_ready
            subprocess.run(
                ["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks/site.yml")],
                env=env, check=True, capture_output=True,
            )
        finally:
            nspawn.send_signal(signal.SIGTERM)
            nspawn.wait(60)
            shutil.rmtree("/run/systemd/nspawn/propagate/bench-raw", ignore_errors=True)
        subprocess.run(
            ["tar", "--numeric-owner", "-I", "zstd -3 -T0 -q", "-C", str(merged), "-cf",
             str(work / "raw.tar.zst"), "--exclude=./proc/*", "--exclude=./sys/*",
             "--exclude=./dev/*", "--exclude=./run/*", "."],
            check=True,
        )
        subprocess.run(["sha256sum", str(work / "raw.tar.zst")], check=True, capture_output=True)
    finally:
        subprocess.run(["umount", str(merged)], check=False)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from bakeansible.builders.local.rootfs import ensure_base_rootfs

    base = ensure_base_rootfs("bookworm")
    bake_times, raw_times = [], []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for i in range(args.runs):
            bake_times.append(bake_run(Path(tmp) / "out"))
            work = Path(tmp) / f"raw{i}"
            raw_times.append(raw_run(base, work))
            shutil.rmtree(work, ignore_errors=True)
    bake_med, raw_med = statistics.median(bake_times), statistics.median(raw_times)
    print(f"{'case':<34}{'bake (s)':>10}{'raw (s)':>10}{'bake/raw':>10}")
    print(f"{'site.yml on local, warm cache':<34}{bake_med:>10.1f}{raw_med:>10.1f}"
          f"{bake_med / raw_med:>10.2f}")
    print(f"runs: {args.runs}; bake: {[round(t, 1) for t in bake_times]}; "
          f"raw: {[round(t, 1) for t in raw_times]}")


if __name__ == "__main__":
    main()
