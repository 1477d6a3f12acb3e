"""``bake build [TEMPLATE]``: run every build of a template, in parallel."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bakeansible.cli.build import BuildFlags, execute
from bakeansible.cli.options import run_cli, selection_options, template_argument, variable_options


@click.command("build")
@template_argument
@variable_options
@selection_options
@click.option("-force", "--force", is_flag=True, help="Replace existing artifacts of that name.")
@click.option("-on-error", "--on-error", type=click.Choice(["cleanup", "abort", "ask"]),
              default="cleanup", show_default=True,
              help="cleanup: remove everything; abort: keep it for debugging; ask: prompt.")
@click.option("-parallel-builds", "--parallel-builds", type=click.IntRange(min=0), default=0,
              help="How many builds run at once (0 = all, the default).")
@click.option("--fail-fast", "-fail-fast", is_flag=True,
              help="When one build fails, cancel the others (they clean up).")
@click.option("-debug", "--debug", is_flag=True, help="Run builds one by one, pause before steps.")
@click.option("-color", "--color", type=click.BOOL, default=True, help="-color=false: no colours.")
@click.option("-timestamp-ui", "--timestamp-ui", is_flag=True, help="Prefix lines with the time.")
@click.option("-machine-readable", "--machine-readable", is_flag=True,
              help="Packer's machine-readable output (timestamp,target,type,data...).")
@click.option("--no-auto-cleanup", is_flag=True,
              help="Don't remove resources of earlier builds that died before starting.")
@run_cli
def command(
    template: Path, var_args: tuple[str, ...], var_files: tuple[Path, ...],
    only: tuple[str, ...], except_: tuple[str, ...], force: bool, on_error: str,
    parallel_builds: int, fail_fast: bool, debug: bool, color: bool, timestamp_ui: bool,
    machine_readable: bool, no_auto_cleanup: bool,
) -> None:
    """Build images from TEMPLATE (bake.yml or a Packer JSON template; default ./bake.yml)."""
    from bakeansible.config.load import load_template

    loaded = load_template(
        template, var_args=var_args, var_files=list(var_files), only=only, except_=except_
    )
    flags = BuildFlags(
        on_error=on_error, force=force, parallel=parallel_builds, fail_fast=fail_fast,
        debug=debug, color=color, timestamps=timestamp_ui, machine=machine_readable,
        auto_cleanup=not no_auto_cleanup,
    )
    project_dir = template.resolve().parent if template.is_file() else Path.cwd()
    sys.exit(execute(loaded, flags, project_dir))
