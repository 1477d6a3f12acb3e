"""Rendering security-group ingress policies as nft rules (loading them is an integration test)."""

from __future__ import annotations

import pytest

from bakeansible.testing.tcloud.firewall import TABLE, render_rule, render_ruleset


@pytest.mark.parametrize(
    ("policy", "rule"),
    [
        (
            {"Protocol": "TCP", "Port": "22", "CidrBlock": "203.0.113.7", "Action": "ACCEPT"},
            "ip saddr 203.0.113.7/32 tcp dport 22 accept",
        ),
        (
            {"Protocol": "TCP", "Port": "80,443", "CidrBlock": "10.0.0.0/8", "Action": "DROP"},
            "ip saddr 10.0.0.0/8 tcp dport { 80, 443 } drop",
        ),
        (
            {"Protocol": "UDP", "Port": "1000-2000", "CidrBlock": "10.1.0.0/16", "Action": "DROP"},
            "ip saddr 10.1.0.0/16 udp dport 1000-2000 drop",
        ),
        (
            {"Protocol": "TCP", "Port": "ALL", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"},
            "meta nfproto ipv4 meta l4proto tcp accept",
        ),
        ({"CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}, "meta nfproto ipv4 accept"),
        (
            {"Protocol": "ICMP", "Port": "ALL", "CidrBlock": "192.0.2.0/24", "Action": "DROP"},
            "ip saddr 192.0.2.0/24 meta l4proto icmp drop",
        ),
        (
            {"Protocol": "ICMPv6", "Ipv6CidrBlock": "2001:db8::/32", "Action": "ACCEPT"},
            "ip6 saddr 2001:db8::/32 meta l4proto ipv6-icmp accept",
        ),
        ({"Protocol": "ALL", "SecurityGroupId": "sg-12345678", "Action": "ACCEPT"}, None),
    ],
)
def test_render_rule(policy: dict[str, str], rule: str | None) -> None:
    assert render_rule(policy) == rule


@pytest.mark.parametrize(
    "policy",
    [
        {"Protocol": "TCP", "Port": "70000", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"},
        {"Protocol": "ALL", "Port": "22", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"},
        {"Protocol": "SCTP", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"},
        {"CidrBlock": "0.0.0.0/0", "Action": "MAYBE"},
    ],
)
def test_bad_policies_are_refused(policy: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        render_rule(policy)


def test_ruleset_keeps_the_order_after_the_fixed_head() -> None:
    ruleset = render_ruleset(
        [
            {"Protocol": "TCP", "Port": "22", "CidrBlock": "10.0.0.5", "Action": "DROP"},
            {"SecurityGroupId": "sg-12345678", "Action": "ACCEPT"},
            {"Protocol": "ALL", "Port": "ALL", "CidrBlock": "10.0.0.0/8", "Action": "ACCEPT"},
        ]
    )
    lines = [line.strip() for line in ruleset.splitlines()]
    assert lines[:3] == [f"add table inet {TABLE}", f"delete table inet {TABLE}",
                         f"table inet {TABLE} {{"]  # fmt: skip
    chain = lines[lines.index("chain ingress {") + 1 : lines.index("}")]
    assert chain[0] == "type filter hook input priority filter; policy drop;"
    assert chain[1:3] == ['iif "lo" accept', "ct state established,related accept"]
    assert chain[-2:] == [
        "ip saddr 10.0.0.5/32 tcp dport 22 drop",
        "ip saddr 10.0.0.0/8 accept",
    ]
