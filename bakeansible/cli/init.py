"""``bake init [DIR]``: scaffold a project that bakes, tests and passes ``molecule test``."""

from __future__ import annotations

from pathlib import Path

import click

from bakeansible.cli.options import run_cli


@click.command("init")
@click.argument("directory", required=False, default=Path(),
                type=click.Path(path_type=Path, file_okay=False))
@click.option("--name", help="Project name, used for the image (default: the directory's).")
@run_cli
def command(directory: Path, name: str | None) -> None:
    """Create a bake project in DIRECTORY (default: here); refuses to overwrite any file."""
    from bakeansible.scaffold import project_name, write_project

    written = write_project(directory, name)
    name = name or project_name(directory)
    click.echo(f"Created the bake project {name} in {directory}:")
    for path in written:
        click.echo(f"  {path.relative_to(directory)}")
    click.echo("")
    click.echo("Next:")
    if directory.resolve() != Path.cwd().resolve():
        click.echo(f"  cd {directory}")
    click.echo(
        "  bake build                       # bake and test the image\n"
        "  bake build -check                # check mode: what would change, no image\n"
        "  cd roles/welcome && molecule test  # test the role on a bake instance"
    )
