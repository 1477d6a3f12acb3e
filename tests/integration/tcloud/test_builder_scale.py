"""Several Tencent builds in one bake: batched waits, no throttling, progress as ui,say records.

Three builds of a light template run in one ``bake build -machine-readable`` on an emulator that
enforces 10 requests per second and action (the lowest limit the API documents) and takes 6 s
to make an image. Their instance and image waits share Describe calls (the emulator logs how
many ids each call asked for); no request is throttled; the image wait shows its state.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from bakeansible.testing.tcloud import TencentEmulator
from tests.integration.tcloud.seed import (
    emulator_env,
    remove_images,
    run_bake,
    seed_template,
)

BUILDS = 3


def test_parallel_builds_share_their_polls(
    tcloud_emulator: TencentEmulator, project: Path, state_dir: Path
) -> None:
    emu = tcloud_emulator
    emu.cloud.rate_limit = 10.0
    emu.cloud.delays = dataclasses.replace(emu.cloud.delays, image=10.0)
    template = seed_template("scale", ["echo baked > /etc/baked"])
    proto = template["builders"][0]
    template["builders"] = [
        {**proto, "name": f"cvm-{i}", "image_name": f"scale-{i}"} for i in range(BUILDS)
    ]
    (project / "t.json").write_text(json.dumps(template))
    result = run_bake(["build", "-machine-readable", "t.json"], project, emulator_env(emu))
    out = result.stdout
    images: dict[str, str] = {}
    try:
        for i, artifact in enumerate(re.findall(r",artifact,0,id,(\S+)", out)):
            region, image = artifact.split(":")
            images[f"{region}#{i}"] = image
        assert result.returncode == 0, out + result.stderr
        assert len(images) == BUILDS, out
        assert not emu.cloud.throttled, dict(emu.cloud.throttled)

        log = emu.cloud.describe_log
        instance_polls = [n for _, action, n in log if action == "DescribeInstances" and n]
        image_polls = [n for _, action, n in log if action == "DescribeImages" and n]
        # One call answers several builds' waits: fewer calls than waits asked for.
        assert max(instance_polls) >= 2, instance_polls
        assert max(image_polls) >= 2, image_polls
        assert len(instance_polls) < sum(instance_polls), instance_polls

        # The image wait (10 s, so a poll after 5 s still sees it CREATING) shows its state and
        # elapsed time, as machine-readable ui,say.
        says = [line for line in out.splitlines() if ",ui,say," in line and "Waiting for" in line]
        assert any("Waiting for image img-" in s and "(CREATING%!(PACKER_COMMA) " in s
                   for s in says), out  # fmt: skip
    finally:
        remove_images(emu, images)
