"""``bake fmt [FILE]``: rewrite a bake.yml in the canonical layout (``-check``, ``-diff``)."""

from __future__ import annotations

from pathlib import Path

import click

from bakeansible.cli.options import DEFAULT_TEMPLATE, run_cli
from bakeansible.errors import BakeError


@click.command("fmt")
@click.argument("file", required=False, default=DEFAULT_TEMPLATE, type=click.Path(path_type=Path))
@click.option("-check", "--check", is_flag=True, help="Exit 1 if the file is not formatted.")
@click.option("-diff", "--diff", is_flag=True, help="Print the changes as a unified diff.")
@run_cli
def command(file: Path, check: bool, diff: bool) -> None:
    """Rewrite FILE (default ./bake.yml) canonically; Packer JSON: use `bake convert`."""
    from bakeansible.config.positions import load_document
    from bakeansible.config.write import format_yaml, unified_diff

    if file.suffix.lower() == ".json":
        raise BakeError(
            f"{file}: bake fmt formats bake.yml files",
            hint=f"turn a Packer template into bake.yml with: bake convert {file}",
        )
    doc = load_document(file)
    new = format_yaml(doc.text, doc.data, file=str(file))
    changed = new != doc.text
    if diff and changed:
        click.echo(unified_diff(doc.text, new, str(file)), nl=False)
    if check:
        if changed:
            click.echo(f"{file} is not formatted", err=True)
            raise SystemExit(1)
        return
    if changed and not diff:
        file.write_text(new, encoding="utf-8")
        click.echo(str(file))
