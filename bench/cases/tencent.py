"""Tencent builds on the emulator: the seed template on ``--slow`` delays, and 1 vs 16 builds.

Rows:
- seed build: bake's wall time against the floor, the time the emulator itself spent on the
  build's path (its state machines' runs, as ``Cloud.task_log`` records them, plus the release
  delay after termination) plus the provisioning (from ``Provisioning with`` to the next step,
  as the lines arrive);
- seed build: bake's API calls against the same build with a fixed 5 s poller (bake with its
  schedules replaced by ``FixedSchedule(5)``, run side by side), and calls per action;
- 1 vs 16 builds with a light shell provisioner in one ``bake build``: wall, API calls, peak
  RSS of the bake process (VmHWM), throttled requests (the emulator enforces a per-action rate
  limit of ``RATE_LIMIT`` requests per second).

bake learns how long transitions take per endpoint (``waits.json`` in the state directory), so
the measured seed build is the third with the same state directory (the cold figures, from the
first, are in the notes) and the 1-build run follows a warm-up. ``quick``: short delays, 2
builds instead of 16, no warm-up.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import REPO

#: The lowest per-action limit the API documentation gives ("A maximum of 10 requests can be
#: initiated per second for this API"); most actions allow 10 to 40.
RATE_LIMIT = 10.0

#: Seed builds after the cold one before the measured one: bake's schedules learn from each.
WARM_UPS = 2

#: Runs bake with every wait polling every 5 s from its start: the yardstick for the call count.
FIXED_POLLER = """
import sys
from bakeansible.builders.tencentcloud import schedule, waiters
schedule.Durations.schedule = lambda self, key: schedule.FixedSchedule(5.0)
schedule.Durations.record = lambda self, key, seconds: None
waiters.Backoff = lambda *a, **k: schedule.FixedSchedule(5.0)
from bakeansible.cli.main import main
main(sys.argv[1:])
"""


@dataclass
class BakeRun:
    """One ``bake build`` as measured from outside."""

    wall: float
    calls: Counter[str]
    throttled: int
    rss_mb: float
    floor: float
    provisioning: float
    lines: list[tuple[float, str]] = field(default_factory=list)


def _seed_template(light: bool, count: int) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from tests.integration.tcloud.seed import seed_text

    template = json.loads(seed_text())
    if light:
        template["provisioners"] = [{"type": "shell", "inline": ["echo baked > /etc/baked"]}]
    proto = template["builders"][0]
    builders = []
    for i in range(count):
        b = dict(proto)
        if count > 1:
            b.update(name=f"cvm-{i:02d}", image_name=f"{proto['image_name']}-{i:02d}")
        builders.append(b)
    template["builders"] = builders
    return template


def _run_bake(emu: Any, template: dict[str, Any], work: Path, state: Path, fixed: bool) -> BakeRun:
    from bakeansible.builders.tencentcloud.client import TencentClient
    from bakeansible.builders.tencentcloud.credentials import AccessSettings, Credentials
    from bakeansible.builders.tencentcloud.resources import delete_image

    path = work / "template.json"
    path.write_text(json.dumps(template))
    env = {
        **os.environ,
        "TENCENTCLOUD_ACCESS_KEY": emu.secret_id,
        "TENCENTCLOUD_SECRET_KEY": emu.secret_key,
        "TENCENTCLOUD_ENDPOINT": emu.endpoint,
        "BAKE_STATE_DIR": str(state),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("BAKE_LOG", None)
    argv = ["build", "-force", path.name]
    cmd = [sys.executable, "-c", FIXED_POLLER, *argv] if fixed else ["bake", *argv]
    emu.reset_call_counts()
    emu.cloud.throttled.clear()
    tasks_before = len(emu.cloud.task_log)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    lines: list[tuple[float, str]] = []
    peak = [0.0]

    def sample() -> None:
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]) / 1024)
            except OSError:
                return
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append((time.monotonic() - started, line.rstrip("\n")))
    proc.wait()
    wall = time.monotonic() - started
    sampler.join()
    out = "\n".join(text for _, text in lines)
    if proc.returncode != 0:
        raise RuntimeError(f"bake build failed ({proc.returncode}):\n{out[-4000:]}")
    calls = Counter(emu.call_counts)
    throttled = sum(emu.cloud.throttled.values())
    tasks = emu.cloud.task_log[tasks_before:]
    provisioning = _provisioning(lines)
    floor = _floor(tasks, emu.cloud.delays.release, started) + provisioning
    # Keep the emulator clean: the images are the only thing a successful build leaves.
    access = AccessSettings("ap-guangzhou", emu.endpoint, emu.endpoint)
    client = TencentClient(access, Credentials(emu.secret_id, emu.secret_key))
    for image_id in re.findall(r"ap-guangzhou: (img-\w+)", out):
        delete_image(client, image_id)
    return BakeRun(wall, calls, throttled, peak[0], floor, provisioning, lines)


def _provisioning(lines: list[tuple[float, str]]) -> float:
    """Longest span from a build's ``Provisioning with`` line to its next step line."""
    longest = 0.0
    for i, (at, text) in enumerate(lines):
        if "Provisioning with" not in text:
            continue
        name = text.split(":")[0]
        ends = [t for t, s in lines[i + 1:] if s.startswith(name) and "Trying to" in s]
        if ends:
            longest = max(longest, ends[0] - at)
    return longest


def _floor(tasks: list[tuple[str, float, float]], release: float, started: float) -> float:
    """The emulator's own time on one build's path: its longest run of each state machine
    (launch, key pair change, image, termination), plus the release delay after termination."""
    longest: dict[str, float] = {}
    for name, begin, end in tasks:
        if begin >= started:
            longest[name] = max(longest.get(name, 0.0), end - begin)
    wanted = ("launch", "rekey", "create_image", "terminate")
    return sum(longest.get(name, 0.0) for name in wanted) + release


def _emulator(slow: bool) -> Any:
    from bakeansible.builders.local.rootfs import ensure_base_rootfs
    from bakeansible.testing.tcloud import SLOW_DELAYS, Delays, TencentEmulator

    ensure_base_rootfs("bookworm", progress=lambda _m: None)
    emu = TencentEmulator(delays=SLOW_DELAYS if slow else Delays()).start()
    emu.cloud.rate_limit = RATE_LIMIT
    return emu


def _per_action(calls: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))


def run(quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    slow = not quick
    many = 2 if quick else 16
    emu = _emulator(slow)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-tencent-") as tmp:
            work, state = Path(tmp), Path(tmp) / "state"
            seed = _seed_template(light=quick, count=1)
            fixed = _run_bake(emu, seed, work, state, fixed=True)
            cold = _run_bake(emu, seed, work, state, fixed=False)
            warm = cold
            for _ in range(0 if quick else WARM_UPS):
                warm = _run_bake(emu, seed, work, state, fixed=False)
            mode = "--slow" if slow else "fast delays"
            rows.append(_row(
                f"tencent seed build ({mode}): wall", "floor", warm.floor, "bake", warm.wall, "s",
                f"bake - floor = {warm.wall - warm.floor:.1f}s (target <= 3 s); provisioning "
                f"{warm.provisioning:.1f}s; cold (nothing learned yet): {cold.wall:.1f}s vs "
                f"floor {cold.floor:.1f}s; fixed 5 s poller: {fixed.wall:.1f}s vs floor "
                f"{fixed.floor:.1f}s",
            ))
            rows.append(_row(
                f"tencent seed build ({mode}): API calls", "fixed 5 s poller",
                sum(fixed.calls.values()), "bake", sum(warm.calls.values()), "calls",
                f"cold {sum(cold.calls.values())}; bake: {_per_action(warm.calls)}; "
                f"fixed: {_per_action(fixed.calls)}",
            ))
            light = _seed_template(light=True, count=1)
            if not quick:
                _run_bake(emu, light, work, state, fixed=False)  # warm-up
            one = _run_bake(emu, light, work, state, fixed=False)
            lots = _run_bake(emu, _seed_template(light=True, count=many), work, state, False)
            note = (f"floor (the emulator's longest run of each state machine + release): 1 build "
                    f"{one.floor:.1f}s, {many} builds {lots.floor:.1f}s; throttled requests: "
                    f"1 build {one.throttled}, {many} builds {lots.throttled}")  # fmt: skip
            rows.append(_row(f"tencent 1 vs {many} builds ({mode}): wall", "1 build", one.wall,
                             f"{many} builds", lots.wall, "s", note))  # fmt: skip
            rows.append(_row(
                f"tencent 1 vs {many} builds ({mode}): API calls", f"{many} x 1 build",
                many * sum(one.calls.values()), f"{many} builds", sum(lots.calls.values()),
                "calls", f"{many} builds: {_per_action(lots.calls)}",
            ))
            rows.append(_row(f"tencent 1 vs {many} builds ({mode}): peak RSS of bake", "1 build",
                             one.rss_mb, f"{many} builds", lots.rss_mb, "MB",
                             "target <= 300 MB"))  # fmt: skip
    finally:
        emu.close()
    return rows


def _row(case: str, a_label: str, a: float, b_label: str, b: float, unit: str, note: str = ""
         ) -> dict[str, Any]:  # fmt: skip
    return {"case": case, "a_label": a_label, "a": round(a, 2), "b_label": b_label,
            "b": round(b, 2), "ratio": round(b / a, 3) if a else None, "unit": unit,
            "note": note}  # fmt: skip
