"""Each local instance's own network: a namespace, a veth pair to the host, NAT to the outside.

An instance gets a /30 of the pool (``BAKE_NETWORK_POOL``, default 10.213.0.0/16): the host
end of the veth pair holds the first address (the instance's gateway), the end inside the
namespace (``eth0``) the second, which is where bake reaches sshd. A per-instance nftables
table masquerades the instance's traffic out of the host's own default route and drops new
connections forwarded into it, and ``net.ipv4.ip_forward`` is switched on while any bake
network exists (and restored when the last one goes, if bake switched it on).

The subnet is chosen under a host-wide lock (``/run/bake/network.lock``, ``flock``: released
by the kernel when a bake process dies) by reading the host's routes, addresses and
nameservers, so it collides with nothing: the host end's route is the reservation that the
next bake process sees. Every piece is recorded (intent) before it is created, through a
``Recorder`` (a build's context, which writes the journal), so ``bake cleanup`` can remove it
after ``kill -9``.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import logging
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, Protocol

from bakeansible.errors import BakeError

log = logging.getLogger(__name__)

POOL_ENV = "BAKE_NETWORK_POOL"
DEFAULT_POOL = "10.213.0.0/16"
SUBNET_PREFIX = 30
NETNS_PREFIX = "bake-"
LINK_PREFIX = "bk-"
TABLE_PREFIX = "bake_"
RUN_DIR = Path("/run/bake")
NETNS_DIR = Path("/run/netns")
FORWARD_SYSCTL = Path("/proc/sys/net/ipv4/ip_forward")
# Present while bake keeps ip_forward on that was off before; /run goes with a reboot.
FORWARD_MARKER = RUN_DIR / "ip_forward-was-off"

# Never used for instances: loopback, carrier-grade NAT (VPNs such as Tailscale), link-local
# (cloud metadata services), multicast and reserved space, "this network".
FORBIDDEN = tuple(
    ipaddress.ip_network(n)
    for n in ("0.0.0.0/8", "127.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "224.0.0.0/3")
)


class Recorder(Protocol):
    """Where resources are journaled: a build's context, or nothing (``NO_RECORD``)."""

    def record_intent(self, kind: str, **data: Any) -> int | None: ...

    def record_created(self, rid: int | None, ident: str | None = None, **data: Any) -> None: ...

    def record_gone(self, rid: int | None) -> None: ...


class _NoRecord:
    def record_intent(self, kind: str, **data: Any) -> int | None:
        return None

    def record_created(self, rid: int | None, ident: str | None = None, **data: Any) -> None:
        return None

    def record_gone(self, rid: int | None) -> None:
        return None


NO_RECORD: Recorder = _NoRecord()


def network_pool() -> IPv4Network:
    """The block instance subnets are taken from (``BAKE_NETWORK_POOL``), validated."""
    text = os.environ.get(POOL_ENV, "").strip() or DEFAULT_POOL
    hint = f"Set {POOL_ENV} to a private IPv4 block unused on this host, e.g. {DEFAULT_POOL}."
    try:
        pool = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise BakeError(f"{POOL_ENV}={text!r} is not an IPv4 network: {exc}.", hint=hint) from None
    if not isinstance(pool, IPv4Network):
        raise BakeError(f"{POOL_ENV}={text!r} is not an IPv4 network.", hint=hint)
    if pool.prefixlen > SUBNET_PREFIX:
        raise BakeError(
            f"{POOL_ENV}={text} is too small: each instance needs a /{SUBNET_PREFIX}.", hint=hint
        )
    for bad in FORBIDDEN:
        if pool.overlaps(bad):
            raise BakeError(f"{POOL_ENV}={text} overlaps {bad}, which bake never uses.", hint=hint)
    return pool


@dataclass(frozen=True)
class HostNetworks:
    """What the host already uses: its routes (all tables), addresses and nameservers."""

    used: tuple[tuple[IPv4Network, str], ...]

    @classmethod
    def read(cls) -> HostNetworks:
        used: list[tuple[IPv4Network, str]] = []
        for route in _ip_json("-4", "route", "show", "table", "all"):
            dst = route.get("dst", "default")
            if dst == "default":
                continue
            net = ipaddress.ip_network(dst, strict=False)
            # 0.0.0.0/1 + 128.0.0.0/1 is a VPN's way of replacing the default route.
            if isinstance(net, IPv4Network) and net.prefixlen > 1:
                used.append((net, f"route {dst} dev {route.get('dev', '?')}"))
        for link in _ip_json("-4", "addr", "show"):
            for info in link.get("addr_info", []):
                net = ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}", strict=False)
                if isinstance(net, IPv4Network):
                    used.append((net, f"address {info['local']} on {link.get('ifname', '?')}"))
        for server in _nameservers():
            used.append((IPv4Network(server), f"nameserver {server} in /etc/resolv.conf"))
        return cls(tuple(used))

    def conflicts(self, subnet: IPv4Network) -> list[str]:
        return [what for net, what in self.used if net.overlaps(subnet)]


def choose_subnet(pool: IPv4Network, host: HostNetworks) -> IPv4Network:
    """The first /30 of ``pool`` that overlaps nothing on the host; BakeError when none."""
    foreign: list[str] = []
    ours = 0
    for subnet in pool.subnets(new_prefix=SUBNET_PREFIX):
        conflicts = host.conflicts(subnet)
        if not conflicts:
            return subnet
        if all(f" dev {LINK_PREFIX}" in c or f" on {LINK_PREFIX}" in c for c in conflicts):
            ours += 1
        else:
            foreign.extend(c for c in conflicts if c not in foreign)
    hint = f"Set {POOL_ENV} to a larger or another private block unused on this host."
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        shown = "; ".join(foreign[:3]) + more
        raise BakeError(
            f"No free /{SUBNET_PREFIX} for the instance's network in {pool}: it collides with "
            f"the host's {shown}.",
            hint=hint,
        )
    raise BakeError(
        f"The instance network pool {pool} is exhausted: {ours} bake networks use it.",
        hint="Wait for running builds to finish, run `bake cleanup` to remove those of dead "
        f"builds, or {hint[0].lower()}{hint[1:]}",
    )


def check_available() -> None:
    """Preflight: the pool is valid and has a free subnet now (nothing is created)."""
    choose_subnet(network_pool(), HostNetworks.read())


@dataclass(frozen=True)
class InstanceNetwork:
    """The names and addresses of one instance's network (a namespace, a link, a table)."""

    token: str
    subnet: IPv4Network

    @property
    def netns(self) -> str:
        """The network namespace's name (``ip netns exec <netns> ...``)."""
        return NETNS_PREFIX + self.token

    @property
    def netns_path(self) -> Path:
        return NETNS_DIR / self.netns

    @property
    def host_link(self) -> str:
        """The veth end in the host's namespace; its peer is ``eth0`` in the namespace."""
        return LINK_PREFIX + self.token

    @property
    def table(self) -> str:
        """The host's nftables table (family ip) with this instance's NAT and forward rules."""
        return TABLE_PREFIX + self.token

    @property
    def gateway(self) -> str:
        """The host end's address: the instance's default gateway, and where bake's SSH comes
        from."""
        return str(self.subnet[1])

    @property
    def address(self) -> str:
        """The instance's address (eth0 in its namespace)."""
        return str(self.subnet[2])


@dataclass
class NetworkHandle:
    """A created network and the journal ids of its pieces, for ``destroy_network``."""

    net: InstanceNetwork
    rids: dict[str, int | None]


def create_network(recorder: Recorder = NO_RECORD) -> NetworkHandle:
    """Choose a subnet and create the namespace, veth pair and NAT; each piece is recorded
    before it is created. On failure, undoes what it created and raises."""
    pool = network_pool()
    handle: NetworkHandle | None = None
    with _host_lock():
        subnet = choose_subnet(pool, HostNetworks.read())
        net = InstanceNetwork(secrets.token_hex(5), subnet)
        handle = NetworkHandle(net, {})
        try:
            _create(handle, "local.sysctl", _enable_forwarding, recorder,
                    name="net.ipv4.ip_forward")
            _create(handle, "local.netns", lambda: _add_netns(net), recorder, name=net.netns)
            _create(handle, "local.link", lambda: _add_veth(net), recorder,
                    name=net.host_link, subnet=str(subnet), address=net.address)
            _create(handle, "local.nft", lambda: _add_table(net), recorder,
                    name=net.table, subnet=str(subnet))
        except BaseException:
            errors = _destroy_locked(handle, recorder)
            for error in errors:
                log.warning("%s", error)
            raise
    return handle


def destroy_network(handle: NetworkHandle, recorder: Recorder = NO_RECORD) -> list[str]:
    """Remove the pieces in reverse order; idempotent, never raises. Returns the errors."""
    with _host_lock():
        return _destroy_locked(handle, recorder)


def _create(
    handle: NetworkHandle, kind: str, make: Callable[[], None], recorder: Recorder, **data: Any
) -> None:
    rid = recorder.record_intent(kind, **data)
    handle.rids[kind] = rid
    make()
    recorder.record_created(rid, str(data["name"]))


_DELETE_ORDER = ("local.nft", "local.link", "local.netns", "local.sysctl")


def _destroy_locked(handle: NetworkHandle, recorder: Recorder) -> list[str]:
    net = handle.net
    deleters = {
        "local.nft": lambda: delete_table(net.table),
        "local.link": lambda: delete_link(net.host_link),
        "local.netns": lambda: delete_netns(net.netns),
        "local.sysctl": _release_forwarding_locked,
    }
    errors: list[str] = []
    for kind in _DELETE_ORDER:
        if kind not in handle.rids:
            continue
        try:
            deleters[kind]()
        except Exception as exc:
            errors.append(f"Could not remove {kind} of {net.netns}: {exc}; remove it manually.")
            continue
        recorder.record_gone(handle.rids.pop(kind))
    return errors


# The pieces ------------------------------------------------------------------------------------


def _add_netns(net: InstanceNetwork) -> None:
    _run("ip", "netns", "add", net.netns)


def _add_veth(net: InstanceNetwork) -> None:
    prefix = f"/{SUBNET_PREFIX}"
    ns = ("ip", "-n", net.netns)
    _run("ip", "link", "add", net.host_link, "type", "veth", "peer", "name", "eth0",
         "netns", net.netns)
    _run("ip", "addr", "add", net.gateway + prefix, "dev", net.host_link)
    _run("ip", "link", "set", net.host_link, "up")
    _run(*ns, "link", "set", "lo", "up")
    _run(*ns, "addr", "add", net.address + prefix, "dev", "eth0")
    _run(*ns, "link", "set", "eth0", "up")
    _run(*ns, "route", "add", "default", "via", net.gateway)


def _add_table(net: InstanceNetwork) -> None:
    link = net.host_link
    rules = f"""\
table ip {net.table} {{
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr {net.subnet} oifname != "{link}" masquerade;
  }}
  chain forward {{
    type filter hook forward priority filter; policy accept;
    oifname "{link}" ct state established,related accept;
    oifname "{link}" drop;
  }}
}}
"""
    _run("nft", "-f", "-", stdin=rules)


def delete_table(table: str) -> None:
    if table in nft_tables():
        _run("nft", "delete", "table", "ip", table)


def delete_link(link: str) -> None:
    if (Path("/sys/class/net") / link).exists():
        _run("ip", "link", "del", link)


def delete_netns(name: str) -> None:
    if (NETNS_DIR / name).exists():
        _run("ip", "netns", "del", name)


def release_forwarding() -> None:
    """Restore ip_forward if bake switched it on and no bake network is left."""
    with _host_lock():
        _release_forwarding_locked()


def _enable_forwarding() -> None:
    if FORWARD_SYSCTL.read_text().strip() == "1":
        return
    FORWARD_MARKER.write_text("0\n")
    FORWARD_SYSCTL.write_text("1\n")


def _release_forwarding_locked() -> None:
    if not FORWARD_MARKER.exists() or bake_namespaces():
        return
    FORWARD_SYSCTL.write_text("0\n")
    FORWARD_MARKER.unlink(missing_ok=True)


# Reading the host -----------------------------------------------------------------------------


def bake_namespaces() -> list[str]:
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(NETNS_PREFIX))


def nft_tables() -> set[str]:
    """Names of the host's nftables tables of family ip."""
    out = _run("nft", "-j", "list", "tables", "ip")
    return {
        item["table"]["name"] for item in json.loads(out)["nftables"] if "table" in item
    }


def _nameservers() -> list[IPv4Address]:
    found: list[IPv4Address] = []
    with contextlib.suppress(OSError):
        for line in Path("/etc/resolv.conf").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                with contextlib.suppress(ValueError):
                    addr = ipaddress.ip_address(parts[1])
                    if isinstance(addr, IPv4Address):
                        found.append(addr)
    return found


def _ip_json(*args: str) -> list[dict[str, Any]]:
    out = _run("ip", "-j", *args)
    data: list[dict[str, Any]] = json.loads(out or "[]")
    return data


def _run(*argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise BakeError(
            f"`{' '.join(argv)}` failed: {result.stderr.strip() or result.returncode}",
            hint="The local builder needs iproute2 and nftables (apt-get install nftables).",
        )
    return result.stdout


@contextlib.contextmanager
def _host_lock() -> Iterator[None]:
    """Serialise choosing and creating networks across threads and bake processes."""
    RUN_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    # A fresh open file per call: flock excludes other open files, also in this process.
    with (RUN_DIR / "network.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield
