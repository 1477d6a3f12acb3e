"""``bake revoke IMAGE``: an image (and with --cascade its descendants) may no longer be used."""

from __future__ import annotations

import click

from bakeansible.cli.options import database_option, run_cli
from bakeansible.images.database import open_image_store


@click.command("revoke")
@click.argument("image")
@click.option("--cascade", is_flag=True, help="Also revoke every image built from it.")
@click.option("--reason", default="", help="Why (shown wherever the image is refused).")
@database_option
@run_cli
def command(image: str, cascade: bool, reason: str) -> None:
    """Revoke IMAGE: it can no longer be a source, and channels naming it refuse to resolve."""
    from bakeansible.images.lineage import revoke

    revoked, left = revoke(open_image_store(), image, reason, cascade=cascade)
    for rec in revoked:
        click.echo(f"Revoked {rec.id} ({rec.build_name}): {rec.artifact}")
    if left:
        ids = ", ".join(d.id for d in left)
        click.secho(
            f"{len(left)} image(s) built from it are still usable: {ids} "
            "(--cascade revokes them too).",
            fg="yellow", err=True,
        )
