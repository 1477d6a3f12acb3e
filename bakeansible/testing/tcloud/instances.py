"""Container operations behind the instance state machine: boot, power, keys, snapshot.

Each instance is a ``LocalInstance`` (systemd-nspawn booting systemd on an overlay, in its own
network namespace) whose sshd listens on port 22 of its namespace's address; that address is
reported as the public IP.
"""

from __future__ import annotations

from pathlib import Path

from bakeansible.builders.local import instance as local


def start(
    lower: Path,
    workdir: Path,
    *,
    machine: str,
    authorized_keys: list[str],
    password: str | None,
) -> local.LocalInstance:
    """Boot a fresh container; raises (after cleaning up) when it cannot."""
    return local.LocalInstance.start(
        lower,
        workdir,
        machine=machine,
        authorized_key="\n".join(authorized_keys) if authorized_keys else None,
        password=password,
    )


def power_on(container: local.LocalInstance) -> None:
    """Boot a stopped container again on its (still mounted) root."""
    container.power_on()


def power_off(container: local.LocalInstance, timeout: float = 30.0) -> None:
    container.stop(timeout)


def _authorized_keys(root: Path) -> Path:
    return root / "root/.ssh/authorized_keys"


def _same_key(line: str, key: str) -> bool:
    return line.split()[:2] == key.split()[:2]


def add_keys(root: Path, keys: list[str]) -> None:
    path = _authorized_keys(root)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = path.read_text().splitlines() if path.exists() else []
    for key in keys:
        if not any(_same_key(line, key) for line in lines if line.strip()):
            lines.append(key.strip())
    path.write_text("".join(line + "\n" for line in lines))
    path.chmod(0o600)


def remove_keys(root: Path, keys: list[str]) -> None:
    path = _authorized_keys(root)
    if not path.exists():
        return
    lines = [
        line
        for line in path.read_text().splitlines()
        if not any(line.strip() and _same_key(line, key) for key in keys)
    ]
    path.write_text("".join(line + "\n" for line in lines))
