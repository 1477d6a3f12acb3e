"""Each local build in its own network namespace: four site.yml builds at once all bake nginx,
and nothing a container starts listens in the host's network namespace."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.conftest import bake_env

pytestmark = pytest.mark.usefixtures("base_rootfs")

NAMES = ("web1", "web2", "web3", "web4")

# After site.yml, each build says it is ready and holds until the test fetched its page, so the
# test looks at the host while all four nginx run.
HOLD = """\
      - type: shell
        inline:
          - systemctl is-active nginx
          - echo "READY for the probe"
          - for i in $(seq 900); do grep -q bake-probe {log} && exit 0; sleep 0.2; done; exit 1
"""


def four_builds() -> str:
    builds = "".join(
        f"  - name: {name}\n    type: local\n    image_name: {name}\n    provisioners:\n"
        "      - type: ansible\n        playbook_file: playbooks/site.yml\n"
        + HOLD.format(log="/var/log/nginx/access.log")
        for name in NAMES
    )
    return "builds:\n" + builds


def host_listeners() -> list[tuple[str, list[int]]]:
    """TCP listeners in the host's network namespace: (local address:port, owner pids)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        pids = [int(p) for p in re.findall(r"pid=(\d+)", line)]
        found.append((fields[3], pids))
    return found


def in_foreign_pidns(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/ns/pid").readlink() != Path("/proc/self/ns/pid").readlink()
    except OSError:
        return False


def test_four_parallel_site_builds_each_in_own_network(
    project: Path, state_dir: Path, no_leaks: None
) -> None:
    (project / "bake.yml").write_text(four_builds())
    proc = subprocess.Popen(
        ["bake", "build", "-parallel-builds", "0", "-color=false"], cwd=project, env=bake_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    addresses: dict[str, str] = {}
    ready: set[str] = set()
    deadline = time.monotonic() + 600
    try:
        for line in proc.stdout:
            lines.append(line)
            if m := re.match(r"    (\w+): Container \S+ booting, address (\S+)$", line):
                addresses[m.group(1)] = m.group(2)
            if m := re.match(r"    (\w+): READY for the probe$", line):
                ready.add(m.group(1))
            # A failed build would leave the others holding for minutes: stop at once.
            if ready == set(NAMES) or " errored after " in line or time.monotonic() > deadline:
                break
        assert ready == set(NAMES), "".join(lines)

        # All four nginx run now; none of them listens in the host's namespace.
        during = host_listeners()
        assert not [a for a, _ in during if a.endswith(":80")], during
        from_containers = [(a, p) for a, p in during if any(in_foreign_pidns(x) for x in p)]
        assert from_containers == [], from_containers
        # Each nginx answers on its own build's address; the request releases that build.
        assert len(set(addresses.values())) == len(NAMES), addresses
        for name in NAMES:
            url = f"http://{addresses[name]}/bake-probe-{name}"
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(url, timeout=10)
            assert missing.value.code == 404
            page = urllib.request.urlopen(f"http://{addresses[name]}/", timeout=10).read()
            assert b"Baked by bake" in page
        rest, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.communicate(timeout=120)
    out = "".join(lines) + rest
    assert proc.returncode == 0, out
    assert "Unable to start service nginx" not in out
    for name in NAMES:
        assert (project / f"output/{name}.tar.zst").is_file(), out
    journal = Journal(state_dir / "journal.sqlite")
    assert journal.open_resources() == []
    assert sorted(r.state for r in journal.builds()) == ["succeeded"] * len(NAMES)
