"""``bake plan [TEMPLATE]``: which builds are up to date, and why the others would rebuild."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from bakeansible.cli.options import (
    run_cli,
    selection_options,
    template_argument,
    variable_options,
)
from bakeansible.pipeline.build import PlannedBuild


@click.command("plan")
@template_argument
@variable_options
@selection_options
@click.option("--json", "-json", "as_json", is_flag=True, help="One JSON document, for CI.")
@click.option("--playbook", "-playbook", type=click.Path(path_type=Path),
              help="Plan the bake of `bake --playbook PLAYBOOK` instead of a template.")
@click.option("--image-name", "-image-name", help="With --playbook: the image's name.")
@click.option("--source", "-source", help="With --playbook: the source.")
@click.option("--output-dir", "-output-dir", type=click.Path(path_type=Path),
              help="With --playbook: where the image and manifest go.")
@click.option("-e", "--extra-vars", "extra_vars", multiple=True, metavar="KEY=VALUE",
              help="With --playbook: an Ansible extra variable (repeatable).")
@run_cli
def command(
    template: Path, var_args: tuple[str, ...], var_files: tuple[Path, ...],
    only: tuple[str, ...], except_: tuple[str, ...], as_json: bool, playbook: Path | None,
    **flags: Any,
) -> None:
    """Say for each build of TEMPLATE (default ./bake.yml) whether it is up to date or would
    rebuild, naming every reason. Reads only: creates nothing, starts nothing."""
    from bakeansible.images.database import existing_image_store
    from bakeansible.pipeline.build import RunOptions, assess_builds

    if playbook is not None:
        from bakeansible.cli.playbook_command import playbook_template_from

        loaded = playbook_template_from(
            {"playbook": playbook, "var_args": var_args, "var_files": var_files, **flags}
        )
        project_dir = Path.cwd()
    else:
        from bakeansible.config.load import load_template

        loaded = load_template(
            template, var_args=var_args, var_files=list(var_files), only=only, except_=except_
        )
        project_dir = template.resolve().parent if template.is_file() else Path.cwd()
    options = RunOptions(project_dir=project_dir, images=existing_image_store())
    planned = assess_builds(loaded, options)
    if as_json:
        click.echo(json.dumps({"builds": [_as_dict(p) for p in planned]}, indent=2))
    else:
        for p in planned:
            _print(p)
    sys.exit(0)


def _as_dict(planned: PlannedBuild) -> dict[str, Any]:
    decision = planned.decision
    assert decision is not None, "assess_builds decides every build"
    return {
        "name": planned.spec.name,
        "type": planned.spec.type,
        "status": "up to date" if decision.up_to_date else "rebuild",
        "fingerprint": decision.fingerprint,
        "artifact": decision.artifact.artifact_id if decision.artifact else None,
        "previous": decision.previous.artifact_id if decision.previous else None,
        "reasons": [
            {"kind": r.kind, "detail": r.detail, "text": str(r)} for r in decision.reasons
        ],
    }


def _print(planned: PlannedBuild) -> None:
    decision = planned.decision
    assert decision is not None, "assess_builds decides every build"
    name = planned.spec.name
    if decision.artifact is not None:
        click.echo(f"{name}: up to date: {decision.artifact.description}")
        return
    click.echo(f"{name}: rebuild")
    for reason in decision.reasons:
        click.echo(f"    {reason}")
