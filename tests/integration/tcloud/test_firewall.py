"""Security-group enforcement on a real network namespace: the test's own netns and veth pair,
a real TCP listener inside, real connections and ICMP echoes from the host.

The host end of the veth has two addresses, so one ruleset is probed from an allowed and from a
non-matching source. A dropped connection times out (DROP, not REJECT).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bakeansible.communicators.ssh import wait_for_ssh
from bakeansible.errors import WaitTimeout
from bakeansible.pipeline.context import BuildContext, SshTarget
from bakeansible.testing.tcloud.firewall import TABLE, enforce

PORTS = (2222, 2223)
TIMEOUT = 1.5  # a connection the rules let through answers in milliseconds

LISTENER = """
import socket, sys, threading
def serve(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(16)
    ready.release()
    while True:
        conn, _ = srv.accept()
        conn.sendall(b"hi")
        conn.close()
ready = threading.Semaphore(0)
for port in map(int, sys.argv[1:]):
    threading.Thread(target=serve, args=(port,), daemon=True).start()
for _ in sys.argv[1:]:
    ready.acquire()
print("ready", flush=True)
sys.stdin.read()
"""


@dataclass
class Netns:
    """A namespace reachable from the host over a veth pair."""

    name: str
    address: str  # inside the namespace
    allowed: str  # host-side source address the rules allow
    other: str  # host-side source address they do not


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _free_block() -> ipaddress.IPv4Network:
    """A /24 of the benchmark range 198.18.0.0/15 that no host route or address uses."""
    routes = json.loads(subprocess.run(
        ["ip", "-j", "-4", "route", "show", "table", "all"], capture_output=True, text=True,
        check=True,
    ).stdout)  # fmt: skip
    used = [
        ipaddress.IPv4Network(r["dst"], strict=False)
        for r in routes
        if r.get("dst", "default") not in ("default",) and r["dst"][0].isdigit()
    ]
    for _ in range(100):
        block = ipaddress.IPv4Network(f"198.18.{secrets.randbelow(256)}.0/24")
        if not any(block.overlaps(u) for u in used):
            return block
    raise AssertionError("no free /24 in 198.18.0.0/15")


@pytest.fixture
def netns() -> Iterator[Netns]:
    if os.geteuid() != 0:
        pytest.fail("needs root (network namespaces)")
    tag = secrets.token_hex(3)
    name, host_if, ns_if = f"bakefw-{tag}", f"bkfw{tag}h", f"bkfw{tag}n"
    block = _free_block()
    hosts = list(block.hosts())
    allowed, inside, other = (str(hosts[i]) for i in range(3))
    prefix = f"/{block.prefixlen}"
    try:
        _ip("netns", "add", name)
        _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _ip("link", "set", ns_if, "netns", name)
        _ip("addr", "add", allowed + prefix, "dev", host_if)
        _ip("addr", "add", other + prefix, "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", inside + prefix, "dev", ns_if)
        _ip("netns", "exec", name, "ip", "link", "set", ns_if, "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield Netns(name=name, address=inside, allowed=allowed, other=other)
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert name not in names, "the test's namespace was not removed"
    assert not Path(f"/sys/class/net/{host_if}").exists(), "the test's veth was not removed"


@pytest.fixture
def listener(netns: Netns) -> Iterator[None]:
    """TCP servers on PORTS inside the namespace, answering b"hi"."""
    proc = subprocess.Popen(
        ["ip", "netns", "exec", netns.name, sys.executable, "-c", LISTENER, *map(str, PORTS)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        proc.kill()
        proc.wait(10)


def tcp(netns: Netns, source: str, port: int) -> bool:
    """True if a connection from ``source`` gets the listener's answer; False if it times out."""
    with socket.socket() as sock:
        sock.bind((source, 0))
        sock.settimeout(TIMEOUT)
        try:
            sock.connect((netns.address, port))
        except TimeoutError:
            return False
        return sock.recv(2) == b"hi"


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def ping(netns: Netns, source: str) -> bool:
    """One ICMP echo from ``source``: True if the reply comes back before the timeout."""
    ident = secrets.randbelow(0xFFFF)
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + b"bake"), ident, 1) + b"bake"
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.bind((source, 0))
        sock.sendto(packet, (netns.address, 0))
        deadline = time.monotonic() + TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, (sender, _) = sock.recvfrom(1024)
            except TimeoutError:
                return False
            icmp = data[(data[0] & 0x0F) * 4 :]
            reply_id = struct.unpack("!H", icmp[4:6])[0]
            if sender == netns.address and icmp[0] == 0 and reply_id == ident:
                return True
    return False


def rule(cidr: str, action: str = "ACCEPT", protocol: str = "TCP", port: str = "ALL") -> Any:
    return {"Protocol": protocol, "Port": port, "CidrBlock": cidr, "Action": action}


def test_ingress_rules_in_a_real_namespace(netns: Netns, listener: None) -> None:
    n, a, o = netns, netns.allowed, netns.other
    # No rule loaded yet: everything reaches the namespace.
    assert tcp(n, o, 2222) and ping(n, o)

    # TCP 2222 from the allowed address only; everything else falls to the default drop.
    enforce(n.name, [rule(f"{a}/32", port="2222")])
    assert tcp(n, a, 2222)
    assert not tcp(n, o, 2222), "a non-matching source must time out"
    assert not tcp(n, a, 2223), "a port no rule opens must time out"
    assert not ping(n, a), "ICMP is not opened by a TCP rule"

    # First match wins: a DROP for one source before an ACCEPT for the whole block...
    block = str(ipaddress.IPv4Network(f"{a}/24", strict=False))
    drop_first = [rule(f"{o}/32", "DROP", port="2222"), rule(block, protocol="ALL")]
    enforce(n.name, drop_first)
    assert not tcp(n, o, 2222)
    assert tcp(n, o, 2223) and tcp(n, a, 2222) and ping(n, o)
    # ...and after it, the ACCEPT decides.
    enforce(n.name, list(reversed(drop_first)))
    assert tcp(n, o, 2222)

    # Port ranges and lists; a bare address is a /32; Packer's rule (no protocol) opens all.
    enforce(n.name, [rule("0.0.0.0/0", port="2220-2222")])
    assert tcp(n, o, 2222) and not tcp(n, o, 2223)
    enforce(n.name, [rule(a, port="80,2223")])
    assert tcp(n, a, 2223) and not tcp(n, a, 2222) and not tcp(n, o, 2223)
    enforce(n.name, [{"CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}])
    assert tcp(n, o, 2222) and ping(n, o)

    # ICMP alone; UDP does not open TCP.
    enforce(n.name, [rule("0.0.0.0/0", protocol="ICMP"), rule("0.0.0.0/0", protocol="UDP")])
    assert ping(n, a) and not tcp(n, a, 2222)
    enforce(n.name, [rule(a, "DROP", protocol="ICMP"), rule("0.0.0.0/0", protocol="ALL")])
    assert not ping(n, a) and ping(n, o)

    # Nothing allowed: default drop; yet loopback inside and the namespace's own outgoing
    # connections (their replies are established traffic) still work.
    enforce(n.name, [])
    assert not tcp(n, a, 2222) and not ping(n, a)
    # bake's SSH wait says what a silent drop means.
    target = SshTarget(host=n.address, port=2222, user="root", password="unused")
    with pytest.raises(WaitTimeout) as timed_out:
        wait_for_ssh(BuildContext(build_id="fw", build_name="fw", builder_type="test"), target, 1)
    assert "TimeoutError" in timed_out.value.message
    assert "security group drops it" in (timed_out.value.hint or "")
    inside = subprocess.run(
        ["ip", "netns", "exec", n.name, sys.executable, "-c",
         "import socket; s = socket.create_connection(('127.0.0.1', 2222), 2); print(s.recv(2))"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert inside.stdout.strip() == "b'hi'", inside.stderr
    with socket.socket() as server:
        server.bind((a, 0))
        server.listen(1)
        out = subprocess.run(
            ["ip", "netns", "exec", n.name, sys.executable, "-c",
             f"import socket; socket.create_connection(('{a}', {server.getsockname()[1]}), 3)"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr

    # One table, replaced each time (not a second copy appended).
    tables = subprocess.run(
        ["ip", "netns", "exec", n.name, "nft", "list", "tables"], capture_output=True, text=True
    ).stdout
    assert tables.split().count(TABLE) == 1, tables
