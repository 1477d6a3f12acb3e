"""The seed's Tencent template, built with ``bake build`` against the emulator, end to end.

Real SDK, real signatures, real SSH into a real container. The template is the seed's file as it
is, with two textual changes only: the emulator's Debian 12 public image as ``source_image_id``
and apt instead of rpm/yum. Everything else (variables from env, region, zone, ``S2.SMALL1``,
disk type, image name) is the seed's. The endpoint comes from TENCENTCLOUD_ENDPOINT, so the
template itself is the one a user would run against the cloud.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path

from bakeansible.builders.tencentcloud.resources import find_images_by_name
from bakeansible.pipeline.journal import Journal
from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, TencentEmulator
from tests.integration.tcloud.seed import (
    client,
    emulator_env,
    image_ids,
    remove_images,
    run_bake,
    seed_template,
    seed_text,
)


def test_seed_template_builds_nginx_image(
    tcloud_emulator: TencentEmulator, project: Path, state_dir: Path
) -> None:
    emu = tcloud_emulator
    env = emulator_env(emu)
    template = project / "cvm-template.json"
    template.write_text(seed_text())
    emu.reset_call_counts()
    started = time.monotonic()
    result = run_bake(["build", template.name], project, env)
    took = time.monotonic() - started
    calls = dict(emu.call_counts)
    print(f"seed build: {took:.1f}s wall, {sum(calls.values())} API calls: {calls}")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    images: dict[str, str] = {}
    try:
        for line in [
            "==> tencentcloud-cvm: Trying to check image name: nginx-service-v1...",
            "    tencentcloud-cvm: Image name: useable",
            f"==> tencentcloud-cvm: Trying to check source image: {DEBIAN_12_IMAGE_ID}...",
            "==> tencentcloud-cvm: Trying to create a new keypair: bake_",
            "    tencentcloud-cvm: Keypair created: skey-",
            "    tencentcloud-cvm: Vpc created: vpc-",
            "    tencentcloud-cvm: Subnet created: subnet-",
            "    tencentcloud-cvm: Securitygroup created: sg-",
            "    tencentcloud-cvm: Instance created: ins-",
            "==> tencentcloud-cvm: Connected to SSH!",
            "    tencentcloud-cvm: Keypair detached",
            "==> tencentcloud-cvm: Trying to create a new image: nginx-service-v1...",
            "    tencentcloud-cvm: Image created: img-",
            "==> tencentcloud-cvm: Cleaning up instance...",
            "==> tencentcloud-cvm: Cleaning up securitygroup...",
            "==> tencentcloud-cvm: Cleaning up subnet...",
            "==> tencentcloud-cvm: Cleaning up vpc...",
            "==> tencentcloud-cvm: Cleaning up keypair...",
            "--> tencentcloud-cvm: Tencentcloud images(ap-guangzhou: img-",
        ]:
            assert line in out, f"{line!r} not in output:\n{out}"
        assert re.search(r"tencentcloud-cvm: .*nginx", out)  # the apt output, indented
        assert emu.secret_key not in out + result.stderr

        images = image_ids(out)
        found = find_images_by_name(client(emu), "nginx-service-v1")
        assert [i.ImageId for i in found] == [images["ap-guangzhou"]]
        assert found[0].ImageState == "NORMAL"
        tags = {t.Key: t.Value for t in found[0].Tags or []}
        assert "bake:build-id" in tags and "bake:expires-at" not in tags
        assert Journal(state_dir / "journal.sqlite").open_resources() == []

        # A new instance started from the image has nginx, enabled: bake it once more.
        check = seed_template("nginx-check", [
            "test -x /usr/sbin/nginx",
            "systemctl is-enabled nginx",
            "/usr/sbin/nginx -v",
        ], source=images["ap-guangzhou"])  # fmt: skip
        (project / "check.json").write_text(json.dumps(check))
        # Slower power cycles: the key pair detach waits through STOPPING and STARTING, and
        # shows the state it is in (the wait's first line is the step's own).
        fast = emu.cloud.delays
        emu.cloud.delays = dataclasses.replace(fast, stop=1.5, start=3.0)
        second = run_bake(["build", "check.json"], project, env)
        emu.cloud.delays = fast
        assert second.returncode == 0, second.stdout + second.stderr
        assert "enabled" in second.stdout and "nginx version" in second.stdout
        images["ap-guangzhou#check"] = image_ids(second.stdout)["ap-guangzhou"]
        assert re.search(
            r"==> tencentcloud-cvm: Waiting for instance ins-\w+ \(STARTING, "
            r"DisassociateInstancesKeyPairs: OPERATING, \d+s\)\n",
            second.stdout,
        ), second.stdout

        # -force replaces an image of the same name.
        again = run_bake(["build", "-force", "check.json"], project, env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"Deleting existing image {images['ap-guangzhou#check']}" in again.stdout
        images["ap-guangzhou#check"] = image_ids(again.stdout)["ap-guangzhou"]
    finally:
        remove_images(emu, images)


def test_existing_image_name_fails_before_creating_anything(
    tcloud_emulator: TencentEmulator, project: Path, state_dir: Path
) -> None:
    emu = tcloud_emulator
    first = seed_template("dup-name", ["true"])
    (project / "t.json").write_text(json.dumps(first))
    env = emulator_env(emu)
    result = run_bake(["build", "t.json"], project, env)
    assert result.returncode == 0, result.stdout + result.stderr
    image = image_ids(result.stdout)
    try:
        # Other inputs (unchanged ones would make the build up to date, reusing the image).
        (project / "t.json").write_text(json.dumps(seed_template("dup-name", ["true", "true"])))
        emu.reset_call_counts()
        second = run_bake(["build", "t.json"], project, env)
        assert second.returncode != 0
        assert f"Image name dup-name is already used by {image['ap-guangzhou']}" in second.stdout
        assert "`bake plan` says why" in second.stdout
        created = {a for a in emu.call_counts if a.startswith(("Create", "Run"))}
        assert not created, created
    finally:
        remove_images(emu, image)
