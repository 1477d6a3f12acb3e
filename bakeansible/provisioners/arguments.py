"""``extra_arguments``: the ansible-playbook options bake passes on, and those it refuses.

bake owns the inventory, the connection and the login, and runs Ansible without a terminal, so
options that would replace those (or ask a question, or run no play) are refused with the bake
way to say the same thing. File arguments (``-e @vars.yml``, ``--vault-password-file``,
``--vault-id label@file``, ``-M dir``) are read relative to the project, like every other path
of a template, and checked before anything is created.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bakeansible.errors import BakeError

#: Options taking a value (the next argument, or ``--opt=value``).
VALUE_OPTIONS = {
    "-e", "--extra-vars", "-t", "--tags", "--skip-tags", "-l", "--limit", "-f", "--forks",
    "-M", "--module-path", "--vault-id", "--vault-password-file", "--vault-pass-file",
    "--start-at-task", "-T", "--timeout", "--become-method", "--become-user",
    "--become-password-file", "--connection-password-file", "--ssh-common-args",
    "--ssh-extra-args", "--sftp-extra-args", "--scp-extra-args", "-i", "--inventory",
    "--inventory-file", "-u", "--user", "-c", "--connection", "--private-key", "--key-file",
}  # fmt: skip

#: Refused options and what to do instead.
REFUSED = {
    ("-i", "--inventory", "--inventory-file"):
        "bake writes the inventory of the build's instance; use groups, host_alias or "
        "inventory_file_template, and group_vars/ or host_vars/ beside bake.yml",
    ("-C", "--check"): "run `bake build -check` for a check-mode run",
    ("-u", "--user"): "set the provisioner's `user`",
    ("--private-key", "--key-file", "-c", "--connection"):
        "bake connects over SSH with its own key (or ssh_agent_auth)",
    ("-k", "--ask-pass", "-K", "--ask-become-pass", "--ask-vault-pass", "-J",
     "--ask-vault-password", "--step"):
        "bake runs Ansible without a terminal: use --vault-password-file, "
        "--become-password-file or --connection-password-file",
    ("--syntax-check", "--list-hosts", "--list-tasks", "--list-tags"):
        "it runs no play; run ansible-playbook directly for that",
}  # fmt: skip
_REFUSED = {opt: why for opts, why in REFUSED.items() for opt in opts}

_PATH_OPTIONS = {"-M", "--module-path", "--vault-password-file", "--vault-pass-file",
                 "--become-password-file", "--connection-password-file"}  # fmt: skip


def _split(arg: str) -> tuple[str, str | None]:
    """``--opt=value`` -> (``--opt``, value); ``-e@f`` / ``-ekey=v`` -> (``-e``, ...)."""
    if arg.startswith("--") and "=" in arg:
        name, _, value = arg.partition("=")
        return name, value
    if len(arg) > 2 and arg[:2] in ("-e", "-t", "-l", "-f", "-M", "-T", "-i", "-u", "-c"):
        return arg[:2], arg[2:]
    return arg, None


def resolve_extra_arguments(
    arguments: Sequence[str], project_dir: Path, *, where: str = "extra_arguments"
) -> list[str]:
    """The arguments as ansible-playbook gets them (file paths made absolute); raise BakeError
    naming a refused option, a missing value, a stray positional argument or a missing file."""
    out: list[str] = []
    i = 0
    while i < len(arguments):
        name, value = _split(arguments[i])
        i += 1
        if name in _REFUSED:
            raise BakeError(
                f"{where}: {name} cannot be used with bake: {_REFUSED[name]}.",
                hint="Remove it from the ansible provisioner's extra_arguments.",
            )
        if not name.startswith("-"):
            raise BakeError(
                f"{where}: unexpected argument {name!r} (a second playbook?).",
                hint="Each playbook is its own ansible provisioner; option values follow "
                "their option, e.g. [\"--tags\", \"web\"].",
            )
        if name not in VALUE_OPTIONS:
            out.append(arguments[i - 1])
            continue
        if value is None:
            if i >= len(arguments):
                raise BakeError(f"{where}: {name} needs a value.")
            value = arguments[i]
            i += 1
        out += [name, _resolve_value(name, value, project_dir, where)]
    return out


def _resolve_value(name: str, value: str, project_dir: Path, where: str) -> str:
    if name in ("-e", "--extra-vars") and value.startswith("@"):
        return "@" + str(_existing(value[1:], project_dir, f"{where}: {name} {value}"))
    if name == "--vault-id" and "@" in value:
        label, _, source = value.partition("@")
        if source == "prompt":
            raise BakeError(
                f"{where}: --vault-id {value} asks on a terminal, which bake does not give "
                "Ansible.",
                hint="Use --vault-id label@FILE with a password file or script.",
            )
        return f"{label}@{_existing(source, project_dir, f'{where}: --vault-id {value}')}"
    if name in _PATH_OPTIONS:
        return ":".join(
            str(_existing(p, project_dir, f"{where}: {name} {value}")) for p in value.split(":")
        )
    return value


def _existing(value: str, project_dir: Path, what: str) -> Path:
    path = Path(value).expanduser()
    path = path if path.is_absolute() else project_dir / path
    if not path.exists():
        raise BakeError(
            f"{what}: {path} does not exist.",
            hint="Paths in extra_arguments are relative to the project (the directory of "
            "bake.yml).",
        )
    return path.resolve()
