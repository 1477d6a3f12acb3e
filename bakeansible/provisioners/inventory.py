"""``inventory_file_template``: Packer's inventory line template, rendered into an INI inventory.

The ``{{ .Name }}`` renderer here also serves the shell provisioner's ``execute_command``.

As in Packer, the template is one host line (``{{ .HostAlias }} ansible_host={{ .Host }} ...``);
the file holds that line, then ``[group]`` and the line again for each of ``groups``, then an
empty ``[group]`` for each of ``empty_groups``. bake adds an ``[all:vars]`` section with the SSH
settings it needs (key file, SSH options), which host variables of the template override.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

# The variables a template can use, as Packer names them.
VARIABLES = {
    "HostAlias": "the provisioner's host_alias",
    "Host": "the instance's address",
    "Port": "the instance's SSH port",
    "User": "the ansible user (user, else the builder's ssh_username)",
    "ConnType": "the connection type (ssh)",
    "BuildName": "the build's name",
    "BuildType": "the builder type",
    "PackerRunUUID": "the build's id",
}

_EXPR = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_REF = re.compile(r"\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*")


def template_problems(template: str, names: Collection[str] = tuple(VARIABLES)) -> list[str]:
    """What is wrong in ``template``: expressions other than ``{{ .Name }}`` of a known name."""
    problems = []
    for match in _EXPR.finditer(template):
        ref = _REF.fullmatch(match.group(1))
        if ref is None:
            problems.append(
                f"`{match.group(0)}` is not supported: use {{{{ .Name }}}} with one of "
                + ", ".join(names)
            )
        elif ref.group(1) not in names:
            problems.append(f"unknown variable `.{ref.group(1)}`; known: " + ", ".join(names))
    return problems


def render_references(template: str, values: Mapping[str, object]) -> str:
    """The template with each ``{{ .Name }}`` replaced (validated before: names are known)."""

    def value(match: re.Match[str]) -> str:
        ref = _REF.fullmatch(match.group(1))
        if ref is None or ref.group(1) not in values:
            raise ValueError(f"cannot render {match.group(0)}")
        return str(values[ref.group(1)])

    return _EXPR.sub(value, template)


def render_host_line(template: str, values: Mapping[str, object]) -> str:
    """The inventory template rendered, ending with a newline."""
    line = render_references(template, values)
    return line if line.endswith("\n") else line + "\n"


def render_ini_inventory(
    host_line: str,
    groups: Sequence[str],
    empty_groups: Sequence[str],
    all_vars: Mapping[str, object],
) -> str:
    """Packer's file layout, plus bake's connection settings under ``[all:vars]``."""
    parts = [host_line]
    parts += [f"[{group}]\n{host_line}" for group in groups]
    parts += [f"[{group}]\n" for group in empty_groups]
    parts.append("[all:vars]\n" + "".join(f"{k}={v}\n" for k, v in all_vars.items()))
    return "".join(parts)
