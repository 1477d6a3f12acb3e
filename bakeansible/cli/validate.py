"""``bake validate [TEMPLATE]``: check a template completely, with no side effect."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from bakeansible.cli.options import run_cli, selection_options, template_argument, variable_options
from bakeansible.config.model import BuildSpec


@click.command("validate")
@template_argument
@click.option(
    "-syntax-only", "--syntax-only", is_flag=True, help="Only check that the file parses."
)
@variable_options
@selection_options
@run_cli
def command(
    template: Path,
    syntax_only: bool,
    var_args: tuple[str, ...],
    var_files: tuple[Path, ...],
    only: tuple[str, ...],
    except_: tuple[str, ...],
) -> None:
    """Check TEMPLATE (default ./bake.yml): syntax, variables, builds and every option, and
    what each build takes from the environment (credentials, region), without a network call."""
    from bakeansible.communicators.agent import check_agent_builds
    from bakeansible.config.load import check_syntax, load_template
    from bakeansible.secrets import process_masker

    if syntax_only:
        check_syntax(template)
        click.echo("Syntax-only check passed. Everything looks okay.")
        return
    loaded = load_template(
        template,
        var_args=var_args,
        var_files=var_files,
        only=only,
        except_=except_,
        check_environment=True,
    )
    masker = process_masker()
    for secret in loaded.sensitive_values():
        masker.add(secret)
    for warning in loaded.warnings:
        click.echo(masker.mask(f"Warning: {warning}"), err=True)
    check_agent_builds(loaded.builds)
    _check_channel_sources(loaded.builds)
    for note in loaded.notes:
        click.echo(masker.mask(f"Note: {note}"), err=True)
    click.echo("The configuration is valid.")


def _check_channel_sources(builds: Sequence[BuildSpec]) -> None:
    """A ``channel:`` source must resolve in the registry, as it will when the build plans."""
    from bakeansible.images.channels import resolve_sources
    from bakeansible.images.database import existing_image_store

    store = existing_image_store()
    for spec in builds:
        resolve_sources(spec, store)
