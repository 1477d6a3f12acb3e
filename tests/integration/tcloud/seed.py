"""The seed's Tencent template (edited only to run on the emulator) and the helpers the
emulator build tests share: its variants, the environment bake reads it with, an API client,
and the ids of the images a build made."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from bakeansible.builders.tencentcloud.client import TencentClient
from bakeansible.builders.tencentcloud.credentials import AccessSettings, Credentials
from bakeansible.builders.tencentcloud.resources import delete_image
from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, TencentEmulator
from tests.conftest import bake_env

SEED = Path("/work/shared/fixtures/seed-cvm-template.json")
#: The repository's byte-for-byte copy of SEED, for machines without /work/shared.
REPO_SEED = Path(__file__).resolve().parents[2] / "fixtures/templates/packer-seed-cvm.json"

#: The only edits made to the seed's text: (original, replacement), each found exactly once.
SEED_EDITS = [
    ('"img-9qabwvbn"', f'"{DEBIAN_12_IMAGE_ID}"'),
    (
        '"rpm -ivh http://nginx.org/packages/centos/7/noarch/RPMS/'
        'nginx-release-centos-7-0.el7.ngx.noarch.rpm"',
        '"apt-get update -qq"',
    ),
    ('"yum install -y nginx"', '"DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx"'),
]


def seed_text() -> str:
    """The seed template's text with SEED_EDITS applied and nothing else changed."""
    text = REPO_SEED.read_text()
    if SEED.exists():
        assert SEED.read_text() == text, f"{REPO_SEED} is no longer a copy of {SEED}"
        text = SEED.read_text()
    for old, new in SEED_EDITS:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def seed_template(image_name: str, inline: list[str], source: str = DEBIAN_12_IMAGE_ID) -> dict:
    """A variant of the (edited) seed template for the follow-up builds: another image name,
    other shell commands, possibly another source image."""
    template = json.loads(seed_text())
    template["builders"][0].update(source_image_id=source, image_name=image_name)
    template["provisioners"] = [{"type": "shell", "inline": inline}]
    return template


def emulator_env(emu: TencentEmulator, **extra: str) -> dict[str, str]:
    """Credentials the way the seed reads them (TENCENTCLOUD_ACCESS_KEY), and the endpoint."""
    return bake_env(
        TENCENTCLOUD_ACCESS_KEY=emu.secret_id,
        TENCENTCLOUD_SECRET_KEY=emu.secret_key,
        TENCENTCLOUD_ENDPOINT=emu.endpoint,
        **extra,
    )


def run_bake(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bake", *args], cwd=cwd, capture_output=True, text=True, timeout=900, env=env
    )


def client(emu: TencentEmulator, region: str = "ap-guangzhou") -> TencentClient:
    access = AccessSettings(region, emu.endpoint, emu.endpoint)
    return TencentClient(access, Credentials(emu.secret_id, emu.secret_key))


def image_ids(out: str) -> dict[str, str]:
    match = re.search(r"Tencentcloud images\((.*?)\) were created\.", out)
    assert match, out
    return dict(part.split(": ") for part in match.group(1).split(", "))


def remove_images(emu: TencentEmulator, images: dict[str, str]) -> None:
    """Delete images the test kept (keys are ``region`` or ``region#label``)."""
    for key, image_id in images.items():
        delete_image(client(emu, key.split("#")[0]), image_id)
