"""What a finished build's artifact becomes in the registry."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bakeansible.builders.local.config import LocalConfig
from bakeansible.config.model import BuildSpec
from bakeansible.images.recording import project_commit, record_image
from bakeansible.images.store import ImageStore
from bakeansible.pipeline.context import Artifact
from tests.unit.images.conftest import AddImage


def git_repo(path: Path) -> str:
    path.mkdir(parents=True, exist_ok=True)
    env = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "f").write_text("x")
    subprocess.run(["git", "-C", str(path), "add", "f"], check=True)
    subprocess.run(["git", "-C", str(path), *env, "commit", "-qm", "x"], check=True)
    out = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def test_project_commit(tmp_path: Path) -> None:
    assert project_commit(tmp_path / "plain") is None  # not a repo (nor existing): no error
    (tmp_path / "plain").mkdir()
    assert project_commit(tmp_path / "plain") is None
    assert project_commit(tmp_path / "repo") is None
    commit = git_repo(tmp_path / "repo")
    assert project_commit(tmp_path / "repo") == commit


def test_record_image_from_a_chained_build(
    store: ImageStore, add_image: AddImage, tmp_path: Path
) -> None:
    parent = add_image("a00000000000", "base", checksum="feed")
    image = tmp_path / "out" / "web.tar.zst"
    image.parent.mkdir()
    image.write_bytes(b"12345")
    artifact = Artifact(
        "local", str(image), "Image", files=[image], checksum="beef",
        extra={"input_fingerprint": "sha256:f", "input_parts": {"playbook": "sha256:1"},
               "test_result": "passed"},
    )  # fmt: skip
    project = tmp_path / "project"
    commit = git_repo(project)
    spec = BuildSpec("web", "local", LocalConfig(source=parent.artifact, image_name="web"))
    rec = record_image(store, "0123456789abcdef" * 2, spec, artifact, "tarball:feed", project)
    assert store.get("0123456789ab") == rec
    assert (rec.image_name, rec.build_name, rec.builder_type) == ("web", "web", "local")
    assert (rec.artifact, rec.size, rec.checksum) == (str(image), 5, "beef")
    assert (rec.fingerprint, rec.inputs) == ("sha256:f", {"playbook": "sha256:1"})
    assert (rec.source, rec.parent_id, rec.git_commit) == ("tarball:feed", parent.id, commit)
    assert rec.test_result == "passed"
    assert not rec.revoked


def test_record_a_cloud_image_without_extras(store: ImageStore, tmp_path: Path) -> None:
    artifact = Artifact(
        "tencentcloud-cvm", "ap-guangzhou:img-11111111", "Tencentcloud images",
        extra={"image_name": "nginx-v1", "access": {"region": "ap-guangzhou",
                                                      "cvm_endpoint": "http://127.0.0.1:1"}},
    )  # fmt: skip
    spec = BuildSpec("cvm", "tencentcloud-cvm", None)
    rec = record_image(store, "f" * 32, spec, artifact, "image:img-eb30mz89", tmp_path)
    assert (rec.image_name, rec.parent_id, rec.git_commit) == ("nginx-v1", None, None)
    assert (rec.inputs, rec.fingerprint, rec.test_result, rec.size) == ({}, None, None, None)
    assert store.get(rec.id).location["cvm_endpoint"] == "http://127.0.0.1:1"
