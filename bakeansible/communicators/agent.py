"""The local ssh-agent (``ssh_agent_auth``): check that it is reachable and holds keys.

Checked before anything is created, so a build that relies on the agent fails at once instead of
after the instance exists.
"""

from __future__ import annotations

import base64
import os
import socket
import stat
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from bakeansible.errors import PreflightError

if TYPE_CHECKING:
    from bakeansible.config.model import BuildSpec

HINT = (
    "Start an agent and add the key the instance accepts: eval $(ssh-agent) && ssh-add KEYFILE; "
    "or unset ssh_agent_auth."
)


def agent_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why the agent cannot be used, or None when it answers and holds at least one key."""
    env = os.environ if env is None else env
    sock = env.get("SSH_AUTH_SOCK", "")
    if not sock:
        return "SSH_AUTH_SOCK is not set (no ssh-agent in this environment)"
    try:
        mode = Path(sock).stat().st_mode
    except OSError as exc:
        return f"SSH_AUTH_SOCK={sock} does not exist ({exc.strerror})"
    if not stat.S_ISSOCK(mode):
        return f"SSH_AUTH_SOCK={sock} is not a socket"
    keys = agent_public_keys(sock)
    if keys is None:
        return f"the ssh-agent at SSH_AUTH_SOCK={sock} does not answer"
    if not keys:
        return f"the ssh-agent at SSH_AUTH_SOCK={sock} holds no key (add one with ssh-add)"
    return None


def agent_public_keys(sock: str) -> list[str] | None:
    """The agent's public keys as ``authorized_keys`` lines; None if it does not answer.

    Speaks the agent protocol's one request needed here (REQUEST_IDENTITIES) on the socket
    itself, so no process-wide SSH_AUTH_SOCK has to change while other builds run.
    """
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5)
            conn.connect(sock)
            conn.sendall(struct.pack(">IB", 1, _REQUEST_IDENTITIES))
            length = struct.unpack(">I", _recv(conn, 4))[0]
            reply = _recv(conn, length)
    except (OSError, struct.error, EOFError):
        return None
    if not reply or reply[0] != _IDENTITIES_ANSWER:
        return None
    count, offset = struct.unpack_from(">I", reply, 1)[0], 5
    keys = []
    for _ in range(count):
        blob, offset = _string(reply, offset)
        _comment, offset = _string(reply, offset)
        kind, _ = _string(blob, 0)
        keys.append(f"{kind.decode()} {base64.b64encode(blob).decode()} bake-agent")
    return keys


_REQUEST_IDENTITIES, _IDENTITIES_ANSWER = 11, 12


def _recv(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError("the agent closed the connection")
        data += chunk
    return data


def _string(data: bytes, offset: int) -> tuple[bytes, int]:
    (size,) = struct.unpack_from(">I", data, offset)
    return data[offset + 4 : offset + 4 + size], offset + 4 + size


def require_agent(what: str) -> None:
    """Raise PreflightError saying why ``ssh_agent_auth`` cannot work here."""
    problem = agent_problem()
    if problem is not None:
        raise PreflightError(f"{what}: ssh_agent_auth is set, but {problem}.", hint=HINT)


def check_agent_builds(builds: Iterable[BuildSpec]) -> None:
    """``bake validate``: refuse builds with ssh_agent_auth when no usable agent is reachable."""
    wanting = [b.name for b in builds if getattr(b.config, "ssh_agent_auth", False)]
    problem = agent_problem() if wanting else None
    if problem is not None:
        names = ", ".join(wanting)
        raise PreflightError(f"Build(s) {names}: ssh_agent_auth is set, but {problem}.", hint=HINT)
