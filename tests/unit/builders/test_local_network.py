"""Choosing an instance subnet: the pool is validated and nothing on the host is collided with."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from bakeansible.builders.local.network import (
    POOL_ENV,
    HostNetworks,
    InstanceNetwork,
    choose_subnet,
    network_pool,
)
from bakeansible.errors import BakeError


def host(*used: tuple[str, str]) -> HostNetworks:
    return HostNetworks(tuple((IPv4Network(net), what) for net, what in used))


def test_default_pool_and_first_free_subnet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POOL_ENV, raising=False)
    pool = network_pool()
    assert pool == IPv4Network("10.213.0.0/16")
    assert choose_subnet(pool, host()) == IPv4Network("10.213.0.0/30")


def test_skips_what_the_host_uses() -> None:
    pool = IPv4Network("10.213.0.0/28")
    used = host(
        ("10.213.0.0/30", "route 10.213.0.0/30 dev bk-0123456789"),
        ("10.213.0.5/32", "nameserver 10.213.0.5 in /etc/resolv.conf"),
    )
    assert choose_subnet(pool, used) == IPv4Network("10.213.0.8/30")


def test_collision_with_a_foreign_route_is_named() -> None:
    used = host(("10.0.0.0/8", "route 10.0.0.0/8 dev wg0"))
    with pytest.raises(BakeError, match="collides with the host's route 10.0.0.0/8 dev wg0") as e:
        choose_subnet(IPv4Network("10.213.0.0/29"), used)
    assert POOL_ENV in (e.value.hint or "")


def test_pool_used_up_by_bake_networks_is_exhausted() -> None:
    used = host(
        ("10.213.0.0/30", "route 10.213.0.0/30 dev bk-aaaaaaaaaa"),
        ("10.213.0.4/30", "route 10.213.0.4/30 dev bk-bbbbbbbbbb"),
    )
    with pytest.raises(BakeError, match="exhausted: 2 bake networks use it") as e:
        choose_subnet(IPv4Network("10.213.0.0/29"), used)
    assert "bake cleanup" in (e.value.hint or "")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.213.0.0/33", "not an IPv4 network"),
        ("10.213.0.1/16", "not an IPv4 network"),
        ("fd00::/64", "not an IPv4 network"),
        ("10.213.0.0/31", "too small"),
        ("100.64.0.0/16", "overlaps 100.64.0.0/10"),
        ("169.254.0.0/16", "overlaps 169.254.0.0/16"),
        ("127.0.0.0/16", "overlaps 127.0.0.0/8"),
    ],
)
def test_bad_pool_is_refused(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    monkeypatch.setenv(POOL_ENV, value)
    with pytest.raises(BakeError, match=message):
        network_pool()


def test_names_fit_interface_limits() -> None:
    net = InstanceNetwork("0123456789", IPv4Network("10.213.0.4/30"))
    assert len(net.host_link) <= 15
    assert (net.gateway, net.address) == ("10.213.0.5", "10.213.0.6")
    assert str(net.netns_path) == "/run/netns/bake-0123456789"


def test_reads_this_host() -> None:
    """The real reader sees at least the loopback address."""
    found = HostNetworks.read()
    assert any("127.0.0.1" in what for _, what in found.used)
