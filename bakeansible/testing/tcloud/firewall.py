"""Security-group ingress enforcement: the policies as an nftables ruleset in an instance's netns.

The real cloud filters what reaches an instance by the ingress policies of its security groups,
in order (the groups in the instance's order, each group's policies by ``PolicyIndex``): the
first policy whose protocol, port and source match decides (ACCEPT or DROP), and anything no
policy matches is dropped. Replies to the instance's own connections (established/related) and
loopback traffic are always let through. ``render_ruleset`` writes that as one ``inet`` table;
``apply_ruleset`` loads it with ``ip netns exec NETNS nft -f -``, replacing the previous version
in one transaction, so it is safe to apply again whenever the groups or their policies change.

Not enforced: egress policies, and policies whose source is a security group or an address
template instead of a CIDR (they match nothing here).
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from typing import Any

from bakeansible.errors import BakeError

TABLE = "bake_security_group"

# l4proto names nft knows; ALL matches any protocol.
_PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "ICMP": "icmp", "ICMPV6": "ipv6-icmp", "GRE": "gre"}

# IPv6 needs neighbour discovery to work at all; the cloud's groups never filter it either.
_NEIGHBOUR_DISCOVERY = (
    "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept"
)


def _ports(port: str) -> str:
    """``ALL`` -> ``""``; ``22`` -> ``22``; ``8000-8010`` -> ``8000-8010``; ``80,443`` -> set."""
    if port.upper() == "ALL":
        return ""
    items = [p.strip() for p in port.split(",")]
    for item in items:
        for number in item.split("-"):
            if not number.isdigit() or not 0 < int(number) <= 65535:
                raise ValueError(f"bad port {port!r}")
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _source(policy: Mapping[str, Any]) -> str | None:
    """The nft source match, ``""`` for any source, ``None`` when no CIDR is given."""
    cidr = policy.get("CidrBlock") or ""
    cidr6 = policy.get("Ipv6CidrBlock") or ""
    if cidr:
        net = ipaddress.IPv4Network(cidr if "/" in cidr else cidr + "/32", strict=False)
        return "meta nfproto ipv4" if net.prefixlen == 0 else f"ip saddr {net}"
    if cidr6:
        net6 = ipaddress.IPv6Network(cidr6, strict=False)
        return "meta nfproto ipv6" if net6.prefixlen == 0 else f"ip6 saddr {net6}"
    return None


def render_rule(policy: Mapping[str, Any]) -> str | None:
    """One ingress policy as an nft rule, or ``None`` when it matches no packet here."""
    source = _source(policy)
    if source is None:
        return None
    protocol = str(policy.get("Protocol") or "ALL").upper()
    ports = _ports(str(policy.get("Port") or "ALL"))
    parts = [source]
    if protocol != "ALL":
        if protocol not in _PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}")
        name = _PROTOCOLS[protocol]
        parts.append(f"{name} dport {ports}" if ports else f"meta l4proto {name}")
    elif ports:
        raise ValueError("a port needs the TCP or UDP protocol")
    action = str(policy.get("Action") or "").upper()
    if action not in ("ACCEPT", "DROP"):
        raise ValueError(f"unknown action {action!r}")
    parts.append(action.lower())
    return " ".join(parts)


def render_ruleset(policies: Iterable[Mapping[str, Any]]) -> str:
    """The nft script that replaces the table with these ingress policies, first match wins."""
    rules = [rule for policy in policies if (rule := render_rule(policy)) is not None]
    body = [
        "type filter hook input priority filter; policy drop;",
        'iif "lo" accept',
        "ct state established,related accept",
        _NEIGHBOUR_DISCOVERY,
        *rules,
    ]
    # "add" then "delete" makes the replacement work whether or not the table exists yet.
    return (
        f"add table inet {TABLE}\n"
        f"delete table inet {TABLE}\n"
        f"table inet {TABLE} {{\n"
        "  chain ingress {\n" + "".join(f"    {line}\n" for line in body) + "  }\n}\n"
    )


def apply_ruleset(netns: str, ruleset: str) -> None:
    """Load ``ruleset`` into network namespace ``netns`` (one nft transaction)."""
    if shutil.which("nft") is None:
        raise BakeError(
            "The emulator enforces security groups with nftables, and `nft` is not installed.",
            hint="Install it: apt-get install -y nftables",
        )
    result = subprocess.run(
        ["ip", "netns", "exec", netns, "nft", "-f", "-"],
        input=ruleset,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BakeError(
            f"Could not load the security-group rules into network namespace {netns}: "
            f"{result.stderr.strip()}"
        )


def enforce(netns: str, policies: Iterable[Mapping[str, Any]]) -> None:
    """Make ``policies`` (ingress, in evaluation order) the firewall of namespace ``netns``."""
    apply_ruleset(netns, render_ruleset(policies))
