"""``bake``: bake machine images with Ansible, the way Packer does.

Subcommands live in their own modules and are imported only when used.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from bakeansible import __version__
from bakeansible.cli.options import run_options, variable_options
from bakeansible.secrets import MaskingFilter, process_masker

SUBCOMMANDS = {
    "build": ("bakeansible.cli.build_command", "Build images from a template."),
    "plan": ("bakeansible.cli.plan", "Say which builds are up to date, and why others rebuild."),
    "init": ("bakeansible.cli.init", "Create a new bake project (bake.yml, playbooks, a role)."),
    "test": ("bakeansible.cli.check_image", "Boot a fresh instance of an image and verify it."),
    "validate": ("bakeansible.cli.validate", "Check that a template is valid."),
    "inspect": ("bakeansible.cli.inspect", "Show the variables, builds and provisioners."),
    "fmt": ("bakeansible.cli.fmt", "Rewrite a bake.yml in canonical form."),
    "convert": ("bakeansible.cli.convert", "Convert a Packer JSON template to bake.yml."),
    "schema": ("bakeansible.cli.schema", "Print the JSON Schema of bake.yml."),
    "cleanup": ("bakeansible.cli.cleanup", "Remove resources left by builds that died."),
    "builds": ("bakeansible.cli.cleanup_builds", "List running and past builds."),
    "emulator": ("bakeansible.cli.emulator", "Run the local Tencent Cloud emulator."),
    "images": ("bakeansible.cli.images", "List, show and prune the images bake made."),
    "channel": ("bakeansible.cli.channel", "Name an image of a build (channel:prod/site)."),
    "revoke": ("bakeansible.cli.revoke", "Revoke an image (and its descendants)."),
    "instance": ("bakeansible.cli.instance", "Start, list, log in to and remove instances."),
}


def setup_logging() -> None:
    """``BAKE_LOG=1``: debug log to stderr; ``BAKE_LOG_PATH=file``: to a file."""
    path = os.environ.get("BAKE_LOG_PATH")
    if not (os.environ.get("BAKE_LOG") or path):
        return
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler: logging.Handler = logging.FileHandler(path) if path else logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter(process_masker()))
    root = logging.getLogger("bakeansible")
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        try:
            module = importlib.import_module(entry[0])
        except ImportError:
            return None
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in SUBCOMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", "-version", prog_name="bake")
@click.option("--playbook", "-playbook", type=click.Path(path_type=Path),
              help="Bake the default local image (or each build of ./bake.yml) with this playbook.")
@click.option("--image-name", "-image-name", help="Name of the image (default: the playbook's).")
@click.option("--source", "-source", help="debian:bookworm (default), debian:trixie, or a tarball.")
@click.option("--output-dir", "-output-dir", type=click.Path(path_type=Path),
              help="Where the image and manifest go (default: ./output).")
@variable_options
@click.option("-e", "--extra-vars", "extra_vars", multiple=True, metavar="KEY=VALUE",
              help="Ansible extra variable for the playbook (repeatable).")
@run_options
@click.pass_context
def cli(ctx: click.Context, /, **kwargs: Any) -> None:
    """Bake machine images with Ansible, the way Packer does.

    \b
    Quick start (local builder, a Debian image provisioned by a playbook):
      bake --playbook playbooks/site.yml
    With a template (bake.yml or a Packer JSON template):
      bake build [TEMPLATE]
    """
    setup_logging()
    if ctx.invoked_subcommand is not None:
        return
    if kwargs["playbook"] is None:
        click.echo(ctx.get_help())
        return
    from bakeansible.cli.playbook_command import run_playbook

    sys.exit(run_playbook(**kwargs))


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="bake")
