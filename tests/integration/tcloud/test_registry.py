"""The image registry with Tencent Cloud images, on the emulator: a build whose
``source_image_id`` names a channel, its record and parent, prune through DeleteImages (refused
clearly without credentials), and a revoked channel refused before any API call."""

from __future__ import annotations

import json
from pathlib import Path

from bakeansible.builders.tencentcloud.resources import find_images_by_name
from bakeansible.images.database import open_image_store
from bakeansible.images.records import ImageRecord
from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, TencentEmulator
from tests.integration.tcloud.seed import (
    client,
    emulator_env,
    image_ids,
    remove_images,
    run_bake,
    seed_template,
)

BUILD = "tencentcloud-cvm"  # the seed's builder has no name: the build is named by its type


def images(project: Path, env: dict[str, str]) -> list[dict[str, object]]:
    result = run_bake(["images", "--json"], project, env)
    assert result.returncode == 0, result.stderr
    docs: list[dict[str, object]] = json.loads(result.stdout)
    return docs


def test_channel_source_record_and_prune_on_the_cloud(
    tcloud_emulator: TencentEmulator, project: Path, state_dir: Path
) -> None:
    emu = tcloud_emulator
    env = emulator_env(emu)
    # The registry's base is the emulator's bootable public image (as if baked earlier).
    store = open_image_store()
    store.add(ImageRecord("base00000000", "debian-12", "base", BUILD,
                          f"ap-guangzhou:{DEBIAN_12_IMAGE_ID}"))
    store.set_channel("prod", "base", "base00000000")
    template = seed_template("app-v1", ["test -x /usr/sbin/sshd"], source="channel:prod/base")
    (project / "app.json").write_text(json.dumps(template))
    kept: dict[str, str] = {}
    try:
        result = run_bake(["build", "app.json"], project, env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"Trying to check source image: {DEBIAN_12_IMAGE_ID}" in result.stdout
        kept = image_ids(result.stdout)
        (app,) = [d for d in images(project, env) if d["build_name"] == BUILD]
        assert app["artifact"] == f"ap-guangzhou:{kept['ap-guangzhou']}"
        assert app["parent_id"] == "base00000000"
        assert app["source"] == f"image:{DEBIAN_12_IMAGE_ID}"
        assert app["image_name"] == "app-v1"

        no_creds = {k: v for k, v in env.items() if not k.startswith("TENCENTCLOUD_")}
        no_creds["TENCENTCLOUD_SHARED_CREDENTIALS_DIR"] = str(project / "no-profile")
        refused = run_bake(["images", "prune", "--keep", "0"], project, no_creds)
        assert refused.returncode == 1
        want = f"Cannot delete the Tencent Cloud images ap-guangzhou:{kept['ap-guangzhou']}: "
        assert want + "no credentials" in refused.stderr, refused.stderr
        assert emu.secret_key not in refused.stdout + refused.stderr
        assert find_images_by_name(client(emu), "app-v1")

        dry = run_bake(["images", "prune", "--keep", "0", "--dry-run"], project, env)
        assert f"Would delete {app['id']} ({BUILD})" in dry.stdout, dry.stdout
        assert "base00000000" not in dry.stdout  # the prod channel names it
        pruned = run_bake(["images", "prune", "--keep", "0"], project, env)
        assert pruned.returncode == 0, pruned.stdout + pruned.stderr
        assert find_images_by_name(client(emu), "app-v1") == []
        kept = {}
        assert store.get(str(app["id"])).deleted

        assert run_bake(["revoke", "base00000000"], project, env).returncode == 0
        emu.reset_call_counts()
        again = run_bake(["build", "app.json"], project, env)
        assert again.returncode == 1
        assert "Channel prod/base: image base00000000 was revoked" in again.stderr, again.stderr
        assert emu.call_counts == {}
    finally:
        remove_images(emu, kept)

