"""``bake --playbook PLAYBOOK``: the short form, a playbook on the default local build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bakeansible.cli.build import BuildFlags, execute
from bakeansible.cli.options import run_cli
from bakeansible.errors import BakeError


def _pairs(values: tuple[str, ...], flag: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BakeError(f"{flag} {item!r}: expected KEY=VALUE.")
        out[key] = value
    return out


@run_cli
def run_playbook(**kw: Any) -> int:
    from bakeansible.config.load import load_template
    from bakeansible.config.playbook import playbook_template

    playbook: Path = kw["playbook"]
    project_dir = Path.cwd()
    base_file = project_dir / "bake.yml"
    base = None
    if base_file.is_file():
        base = load_template(base_file, var_args=kw["var_args"], var_files=kw["var_files"])
    elif kw["var_args"] or kw["var_files"]:
        # Without a template, -var values become Ansible extra vars, as users expect.
        _pairs(kw["var_args"], "-var")
    build_options: dict[str, Any] = {"image_name": playbook.stem}
    if kw["image_name"]:
        build_options["image_name"] = kw["image_name"]
    if kw["source"]:
        build_options["source"] = kw["source"]
    if kw["output_dir"]:
        build_options["output_dir"] = str(kw["output_dir"])
    extra_vars = {**(_pairs(kw["var_args"], "-var") if base is None else {}),
                  **_pairs(kw["extra_vars"], "-e")}
    options = {"extra_vars": extra_vars} if extra_vars else None
    template = playbook_template(
        playbook, base=base, options=options, build_options=build_options
    )
    flags = BuildFlags(
        on_error=kw["on_error"],
        force=kw["force"],
        color=kw["color"],
        timestamps=kw["timestamp_ui"],
        machine=kw["machine_readable"],
        auto_cleanup=not kw["no_auto_cleanup"],
    )
    return execute(template, flags, project_dir)
