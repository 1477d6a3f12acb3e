"""Instance names, default names and the ssh command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bakeansible.errors import BakeError
from bakeansible.instances.lifecycle import default_name, resolve_source
from bakeansible.instances.record import InstanceInfo, check_name, ssh_argv


def test_names() -> None:
    check_name("web-1.test_a")
    for bad in ("", "-x", "a/b", "x" * 64, "a b"):
        with pytest.raises(BakeError, match="Invalid instance name"):
            check_name(bad)
    assert default_name("debian:trixie", "abcdef0123") == "trixie-abcdef"
    assert default_name("/o/site v2.tar.zst", "abcdef0123") == "site-v2-abcdef"


def test_sources() -> None:
    assert resolve_source("img-eb30mz89", Path("/p")) == "img-eb30mz89"  # a Tencent image
    assert resolve_source("out/x.tar.zst", Path("/p")) == "/p/out/x.tar.zst"


def test_ssh_argv_logs_in_with_the_instance_key() -> None:
    info = InstanceInfo("web", "debian:bookworm", "10.213.0.2", 22, "root", "/k", "id", "m")
    argv = ssh_argv(info, ("hostname",))
    assert argv[:5] == ["ssh", "-i", "/k", "-p", "22"]
    assert argv[-2:] == ["root@10.213.0.2", "hostname"]


def test_old_instance_files_are_local_and_new_keys_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bakeansible.instances.record import info_path, load_info
    from bakeansible.pipeline.journal import BuildRecord

    monkeypatch.setenv("BAKE_STATE_DIR", str(tmp_path))
    path = info_path("b1")
    path.parent.mkdir(parents=True)
    old = {"name": "web", "source": "debian:bookworm", "address": "10.213.0.2", "port": 22,
           "user": "root", "key_file": "/k", "build_id": "b1", "machine": "m"}  # fmt: skip
    path.write_text(json.dumps({**old, "from_the_future": 1}))
    record = BuildRecord("b1", "web", "instance", 1, "?", "h", 0.0, None, "held")
    info = load_info(record)
    assert info is not None and info.kind == "local" and info.machine == "m"
    assert "region" not in info.public()
