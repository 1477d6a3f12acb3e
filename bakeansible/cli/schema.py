"""``bake schema``: the JSON Schema of bake.yml, for editors."""

from __future__ import annotations

import json

import click

from bakeansible.cli.options import run_cli


@click.command("schema")
@run_cli
def command() -> None:
    """Print the JSON Schema of bake.yml (generated from bake's config model)."""
    from bakeansible.config.schema import template_schema

    click.echo(json.dumps(template_schema(), indent=2, ensure_ascii=False))
