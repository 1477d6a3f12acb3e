"""``bake images``: the image registry — list, show (with lineage) and prune."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import click

from bakeansible.cli.options import database_option, run_cli
from bakeansible.errors import BakeError
from bakeansible.images.database import open_image_store
from bakeansible.images.records import ImageRecord
from bakeansible.images.store import ImageStore


def when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


def _size(size: int | None) -> str:
    return f"{size / 1e6:.1f} MB" if size is not None else "-"


def _channel_refs(store: ImageStore) -> dict[str, list[str]]:
    refs: dict[str, list[str]] = {}
    for ch in store.channels():
        refs.setdefault(ch.image_id, []).append(ch.ref)
    return refs


def _line(image: ImageRecord, channels: Iterable[str] = ()) -> str:
    tags = f"  [{', '.join(channels)}]" if channels else ""
    return (
        f"{image.id}  {when(image.created_at)}  {image.build_name} ({image.builder_type})  "
        f"{image.status}  {image.artifact}{tags}"
    )


@click.group("images", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@click.option("--build", "build_name", help="Only the images of this build.")
@click.option("--all", "show_all", is_flag=True, help="Also list pruned (deleted) images.")
@click.pass_context
@database_option
@run_cli
def command(ctx: click.Context, as_json: bool, build_name: str | None, show_all: bool) -> None:
    """List the images bake made, newest first (see also `bake images show ID`)."""
    if ctx.invoked_subcommand is not None:
        return
    store = open_image_store()
    images = store.images(build_name, deleted=show_all)
    refs = _channel_refs(store)
    if as_json:
        docs = [{**i.to_json(), "channels": refs.get(i.id, [])} for i in images]
        click.echo(json.dumps(docs, indent=2))
        return
    if not images:
        click.echo("No images recorded yet.")
        return
    for image in images:
        click.echo(_line(image, refs.get(image.id, [])))


@command.command("show")
@click.argument("ident", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@database_option
@run_cli
def show(ident: str, as_json: bool) -> None:
    """Show an image (ID or a unique prefix of it) with its lineage: parents and children."""
    store = open_image_store()
    image = store.get(ident)
    ancestors = _ancestors(store, image)
    children = store.children(image.id)
    channels = _channel_refs(store).get(image.id, [])
    if as_json:
        doc: dict[str, Any] = {
            **image.to_json(),
            "channels": channels,
            "parent": ancestors[0].to_json() if ancestors else None,
            "ancestors": [a.id for a in ancestors],
            "children": [c.to_json() for c in children],
        }
        click.echo(json.dumps(doc, indent=2))
        return
    rows = [
        ("image", image.image_name),
        ("build", f"{image.build_name} ({image.builder_type})"),
        ("artifact", image.artifact),
        ("size", _size(image.size)),
        ("checksum", image.checksum or "-"),
        ("fingerprint", image.fingerprint or "-"),
        ("source", image.source or "-"),
        ("git commit", image.git_commit or "-"),
        ("created", when(image.created_at)),
        ("tests", image.test_result or "-"),
        ("status", image.status),
        ("channels", ", ".join(channels) or "-"),
    ]
    if image.revoked:
        rows.append(("revoked", f"{when(image.revoked_at)} {image.revoke_reason or ''}".strip()))
    if image.deleted:
        rows.append(("pruned", when(image.deleted_at)))
    if image.inputs:
        rows.append(("inputs", f"{len(image.inputs)} digests (--json shows them)"))
    click.echo(f"Image {image.id}")
    for key, value in rows:
        click.echo(f"  {key + ':':13} {value}")
    click.echo("Lineage:")
    if image.parent_id and not ancestors:
        click.echo(f"  parent:   {image.parent_id} (no longer in the registry)")
    for depth, parent in enumerate(ancestors):
        label = "parent:" if depth == 0 else "  " * depth + "from:"
        click.echo(f"  {label:9} {_line(parent)}")
    if not image.parent_id:
        click.echo(f"  parent:   none (source {image.source or '-'})")
    if not children:
        click.echo("  children: none")
    for child in children:
        click.echo(f"  child:    {_line(child)}")


def _ancestors(store: ImageStore, image: ImageRecord) -> list[ImageRecord]:
    found: list[ImageRecord] = []
    seen = {image.id}
    current = image
    while current.parent_id and current.parent_id not in seen:
        try:
            current = store.get(current.parent_id)
        except BakeError:
            break
        seen.add(current.id)
        found.append(current)
    return found


@command.command("prune")
@click.option("--keep", "keep", type=int, required=True, metavar="N",
              help="Images to keep per build, newest first (channels' images are always kept).")
@click.option("--build", "build_name", help="Only the images of this build.")
@click.option("--dry-run", "-dry-run", is_flag=True, help="List what would be deleted.")
@database_option
@run_cli
def prune(keep: int, build_name: str | None, dry_run: bool) -> None:
    """Delete old images: their local files, or their cloud images (DeleteImages)."""
    from bakeansible.images.prune import delete_image, plan_prune

    store = open_image_store()
    plan = plan_prune(store, keep, build_name)
    if not plan.delete:
        click.echo(f"Nothing to prune ({len(plan.keep)} image(s) kept).")
        return
    failed = 0
    for image in plan.delete:
        if dry_run:
            click.echo(f"Would delete {image.id} ({image.build_name}): {image.artifact}")
            continue
        try:
            delete_image(store, image)
        except BakeError as exc:
            failed += 1
            click.secho(f"Could not delete {image.id}: {exc}", fg="red", err=True)
            continue
        click.echo(f"Deleted {image.id} ({image.build_name}): {image.artifact}")
    verb = "would keep" if dry_run else "kept"
    click.echo(f"{len(plan.keep)} image(s) {verb}.")
    if failed:
        raise BakeError(f"{failed} image(s) could not be deleted; their records are unchanged.")
