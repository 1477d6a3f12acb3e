"""``bake channel``: name an image of a build (``prod/site``), for sources and deployments."""

from __future__ import annotations

import json

import click

from bakeansible.cli.images import when
from bakeansible.cli.options import database_option, run_cli
from bakeansible.images.database import open_image_store


@click.group("channel")
def command() -> None:
    """Channels: CHANNEL/BUILD names one image (`source: channel:prod/site`)."""


@command.command("set")
@click.argument("channel")
@click.argument("build")
@click.argument("image")
@database_option
@run_cli
def set_(channel: str, build: str, image: str) -> None:
    """Point CHANNEL/BUILD at IMAGE (an id, or a unique prefix of one)."""
    from bakeansible.images.channels import set_channel

    entry = set_channel(open_image_store(), channel, build, image)
    click.echo(f"Channel {entry.ref} -> {entry.image_id}")


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the channels as JSON.")
@database_option
@run_cli
def list_(as_json: bool) -> None:
    """List the channels and the image each names."""
    store = open_image_store()
    entries = store.channels()
    if as_json:
        docs = [
            {"channel": e.channel, "build_name": e.build_name, "image_id": e.image_id,
             "updated_at": e.updated_at}
            for e in entries
        ]  # fmt: skip
        click.echo(json.dumps(docs, indent=2))
        return
    if not entries:
        click.echo("No channels yet (bake channel set CHANNEL BUILD IMAGE).")
        return
    for e in entries:
        image = store.get(e.image_id)
        note = "" if image.status == "ok" else f"  ({image.status})"
        click.echo(f"{e.ref}  {e.image_id}  {when(e.updated_at)}  {image.artifact}{note}")
