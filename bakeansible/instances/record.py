"""What bake remembers about a held instance, and how to find it again by name.

The journal's build record carries the instance's name (``builder_type`` ``instance``, state
``held`` once it is up); how to reach it is a small JSON file in its work directory in bake's
state dir, removed with the instance.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from bakeansible.errors import BakeError
from bakeansible.paths import state_dir
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.journal import BuildRecord, Journal
from bakeansible.pipeline.reaper import HELD
from bakeansible.procinfo import process_alive

BUILDER_TYPE = "instance"
LOCAL, TENCENT = "local", "tencent"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
# Journal records looked at for names: far more than anyone keeps instances.
SCAN_LIMIT = 100_000


@dataclass(frozen=True)
class InstanceInfo:
    """How to reach a held instance."""

    name: str
    source: str
    address: str
    port: int
    user: str
    key_file: str
    build_id: str
    #: The local container's machine name (empty for a CVM).
    machine: str = ""
    #: ``local`` (a container) or ``tencent`` (a CVM); files written before it are local.
    kind: str = "local"
    #: A CVM's region and instance id, for ``bake instance list``.
    region: str = ""
    instance_id: str = ""

    @classmethod
    def reached(
        cls, ctx: BuildContext, name: str, source: str, key_file: Path | None, **extra: str
    ) -> InstanceInfo:
        """The info of the instance ``ctx``'s steps brought up: where bake reached it over
        SSH, with ``key_file``; ``extra``: the builder's own fields (machine, kind...)."""
        assert ctx.ssh is not None and key_file is not None, "the boot steps connected"
        return cls(
            name=name,
            source=source,
            address=ctx.ssh.host,
            port=ctx.ssh.port,
            user=ctx.ssh.user,
            key_file=str(key_file),
            build_id=ctx.build_id,
            **extra,
        )

    def public(self) -> dict[str, str | int]:
        """The fields ``bake instance up --json`` prints (a CVM's region and id too)."""
        data = asdict(self)
        keys = ["name", "kind", "source", "address", "port", "user", "key_file"]
        if self.kind == TENCENT:
            keys += ["region", "instance_id"]
        return {k: data[k] for k in keys}


def info_path(build_id: str) -> Path:
    """Where the instance's JSON lives: its work directory (a container's ``StepCreateWorkdir``
    makes it; for a CVM, the key pair step writes the temporary private key there)."""
    return state_dir() / "instances" / build_id / "instance.json"


def save_info(info: InstanceInfo) -> None:
    path = info_path(info.build_id)
    path.write_text(json.dumps(asdict(info), indent=2) + "\n")
    path.chmod(0o600)


def load_info(record: BuildRecord) -> InstanceInfo | None:
    """The instance's JSON, or None when it is missing or unreadable (a damaged state dir)."""
    try:
        data = json.loads(info_path(record.build_id).read_text())
        known = {f.name for f in fields(InstanceInfo)}
        return InstanceInfo(**{k: v for k, v in data.items() if k in known})
    except (OSError, ValueError, TypeError):
        return None


def check_name(name: str) -> None:
    if not NAME_RE.fullmatch(name):
        raise BakeError(
            f"Invalid instance name {name!r}.",
            hint="Use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit.",
        )


def live_records(journal: Journal) -> list[BuildRecord]:
    """Instances that are up (held) or coming up (a live ``bake instance up``), newest first."""
    return [
        r
        for r in journal.builds(limit=SCAN_LIMIT)
        if r.builder_type == BUILDER_TYPE
        and (r.state == HELD or (r.state == "running" and r.alive))
    ]


def find_held(journal: Journal, name: str) -> BuildRecord:
    """The held instance called ``name``; BakeError naming the known ones otherwise."""
    records = live_records(journal)
    for record in records:
        if record.name == name:
            if record.state != HELD:
                raise BakeError(
                    f"Instance {name!r} is still starting (bake pid {record.pid}).",
                    hint="Wait for its `bake instance up` to finish, or interrupt it.",
                )
            return record
    known = ", ".join(sorted(r.name for r in records if r.state == HELD)) or "none"
    raise BakeError(
        f"No instance named {name!r} (instances: {known}).",
        hint="`bake instance list` shows them; `bake instance up --name NAME` starts one.",
    )


def is_running(journal: Journal, build_id: str) -> bool:
    """Whether the instance's container is still running (its systemd-nspawn, by pid and start
    time, as journaled)."""
    for res in journal.open_resources(build_id):
        pid, start = res.data.get("nspawn_pid"), res.data.get("nspawn_start")
        if res.kind == "local.container" and pid and start:
            return process_alive(int(pid), str(start))
    return False


def ssh_argv(info: InstanceInfo, command: tuple[str, ...] = ()) -> list[str]:
    """The ``ssh`` command line that logs in to the instance (and runs ``command``)."""
    return [
        "ssh",
        "-i", info.key_file,
        "-p", str(info.port),
        "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR",
        f"{info.user}@{info.address}",
        *command,
    ]  # fmt: skip
