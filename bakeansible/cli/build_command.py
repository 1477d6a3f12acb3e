"""``bake build [TEMPLATE]``: run every build of a template, in parallel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bakeansible.cli.build import BuildFlags, execute
from bakeansible.cli.options import (
    run_cli,
    run_options,
    selection_options,
    template_argument,
    variable_options,
)


@click.command("build")
@template_argument
@variable_options
@selection_options
@run_options
@click.option("-parallel-builds", "--parallel-builds", type=click.IntRange(min=0), default=0,
              help="How many builds run at once (0 = all, the default).")
@click.option("--fail-fast", "-fail-fast", is_flag=True,
              help="When one build fails, cancel the others (they clean up).")
@click.option("-debug", "--debug", is_flag=True, help="Run builds one by one, pause before steps.")
@run_cli
def command(
    template: Path, var_args: tuple[str, ...], var_files: tuple[Path, ...],
    only: tuple[str, ...], except_: tuple[str, ...], parallel_builds: int, fail_fast: bool,
    debug: bool, **run: Any,
) -> None:
    """Build images from TEMPLATE (bake.yml or a Packer JSON template; default ./bake.yml)."""
    from bakeansible.config.load import load_template

    loaded = load_template(
        template, var_args=var_args, var_files=list(var_files), only=only, except_=except_
    )
    flags = BuildFlags.from_options(
        run, parallel=parallel_builds, fail_fast=fail_fast, debug=debug
    )
    project_dir = template.resolve().parent if template.is_file() else Path.cwd()
    sys.exit(execute(loaded, flags, project_dir))
