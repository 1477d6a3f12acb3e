"""``bake convert TEMPLATE.json [-o OUT]``: a Packer JSON template as an equivalent bake.yml."""

from __future__ import annotations

from pathlib import Path

import click

from bakeansible.cli.options import run_cli
from bakeansible.errors import BakeError


@click.command("convert")
@click.argument("template", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", "output", type=click.Path(path_type=Path), help="Write here, not stdout."
)
@run_cli
def command(template: Path, output: Path | None) -> None:
    """Convert a Packer JSON TEMPLATE to bake.yml ({{user `x`}} and friends are kept)."""
    from bakeansible.config.load import detect_format
    from bakeansible.config.positions import load_document
    from bakeansible.config.write import convert_text

    doc = load_document(template, format="json")
    if not isinstance(doc.data, dict) or detect_format(doc) != "packer":
        raise BakeError(f"{template} is not a Packer JSON template (no `builders`)")
    text = convert_text(doc.data, template)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {output}", err=True)
