"""Instance names, default names and the ssh command line."""

from __future__ import annotations

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
    with pytest.raises(BakeError, match="not supported by `bake instance` yet"):
        resolve_source("img-eb30mz89", Path("/p"))
    assert resolve_source("out/x.tar.zst", Path("/p")) == "/p/out/x.tar.zst"


def test_ssh_argv_logs_in_with_the_instance_key() -> None:
    info = InstanceInfo("web", "debian:bookworm", "10.213.0.2", 22, "root", "/k", "id", "m")
    argv = ssh_argv(info, ("hostname",))
    assert argv[:5] == ["ssh", "-i", "/k", "-p", "22"]
    assert argv[-2:] == ["root@10.213.0.2", "hostname"]
