"""bake against the same work by hand: `bake --playbook playbooks/site.yml`.

The "by hand" side runs the equivalent commands directly (overlay mount, systemd-nspawn boot,
ansible-playbook over SSH, poweroff, tar | zstd) on the same cached base, with apt going through
the same package cache (as a user with apt-cacher-ng would), so the ratio is bake's own overhead.
Both run in the same invocation, alternating; the table shows medians.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import REPO
from bench.timing import alternate, row


def bake_run(out: Path, playbook: str) -> None:
    subprocess.run(
        ["bake", "--playbook", playbook, "--no-test", "--output-dir", str(out), "-force",
         "-color=false"],
        cwd=REPO, check=True, capture_output=True,
    )


def raw_run(base: Path, work: Path, apt_proxy: str, playbook: str) -> None:
    """The same bake, by hand: no journal, no checks, no streaming."""
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
        (merged / "etc/apt/apt.conf.d/00-raw-proxy").write_text(
            f'Acquire::http::Proxy "{apt_proxy}";\n'
        )
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
                ["ansible-playbook", "-i", str(inventory), str(REPO / playbook)],
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


def run(quick: bool) -> list[dict[str, Any]]:
    from bakeansible.builders.local import pkgcache
    from bakeansible.builders.local.rootfs import ensure_base_rootfs

    runs = 1 if quick else int(os.environ.get("BENCH_RUNS", "5"))
    playbook = "bench/playbooks/tiny.yml" if quick else "playbooks/site.yml"
    base = ensure_base_rootfs("bookworm")
    with tempfile.TemporaryDirectory(prefix="bench-local-") as name:
        tmp = Path(name)
        cache = pkgcache.PackageCache("127.77.0.1", pkgcache.store_dir(), tmp / "partial")
        cache.start()
        try:
            if not quick:
                bake_run(tmp / "out", playbook)  # warms the caches for both sides
            count = iter(range(1000))

            def raw() -> None:
                work = tmp / f"raw{next(count)}"
                try:
                    raw_run(base, work, cache.url, playbook)
                finally:
                    shutil.rmtree(work, ignore_errors=True)

            hand, bake = alternate(raw, lambda: bake_run(tmp / "out", playbook), runs)
        finally:
            cache.stop()
    return [row(f"{Path(playbook).name} on local, warm caches", "by hand", hand, "bake", bake, "s",
                "target <= 1.05x")]
