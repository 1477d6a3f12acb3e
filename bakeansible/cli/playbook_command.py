"""``bake --playbook PLAYBOOK``: the short form, a playbook on the default local build."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from bakeansible.cli.build import BuildFlags, execute
from bakeansible.cli.options import run_cli
from bakeansible.config.model import Template
from bakeansible.errors import BakeError


@run_cli
def run_playbook(**kw: Any) -> int:
    """Bake with the playbook of ``--playbook``."""
    flags = BuildFlags.from_options(kw)
    return execute(playbook_template_from(kw), flags, Path.cwd())


def playbook_template_from(kw: dict[str, Any]) -> Template:
    """The template ``--playbook`` and its flags stand for (``bake plan --playbook`` too).

    Without ./bake.yml, ``-var``/``-var-file`` values become Ansible extra vars (with ``-e``);
    with one, they are the template's variables and the playbook runs on each of its builds."""
    from bakeansible.config.load import load_template
    from bakeansible.config.playbook import default_verify, playbook_template
    from bakeansible.config.variables.files import load_var_args

    playbook: Path = kw["playbook"]
    if kw.get("check") and kw["image_name"]:
        raise BakeError(
            "-check makes no image, so --image-name means nothing with it.",
            hint="Drop --image-name, or drop -check to bake the image.",
        )
    project_dir = Path.cwd()
    base_file = project_dir / "bake.yml"
    base = None
    extra_vars: dict[str, Any] = {}
    if base_file.is_file():
        base = load_template(base_file, var_args=kw["var_args"], var_files=kw["var_files"])
    else:
        extra_vars.update(load_var_args(kw["var_args"], kw["var_files"]))
    extra_vars.update(load_var_args(kw["extra_vars"], flag="-e"))
    build_options: dict[str, Any] = {"image_name": kw["image_name"] or playbook.stem}
    if kw["source"]:
        build_options["source"] = kw["source"]
    if kw["output_dir"]:
        build_options["output_dir"] = str(kw["output_dir"])
    # Check mode makes no image to test (execute() says so when a tests section is skipped).
    verify = None if kw.get("no_test") or kw.get("check") else default_verify(playbook)
    template = playbook_template(
        playbook,
        base=base,
        options={"extra_vars": extra_vars} if extra_vars else None,
        build_options=build_options,
        verify=verify,
    )
    if verify is not None:
        note = f"testing the image with {verify} (next to the playbook; --no-test skips it)"
        template = replace(template, notes=(*template.notes, note))
    return template
