"""``bake builds``: running and past builds, with the resources each still holds."""

from __future__ import annotations

import time

import click

from bakeansible.cli.options import database_option, run_cli
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.reaper import HELD


@click.command("builds")
@click.option("--limit", default=20, show_default=True, help="How many builds to list.")
@database_option
@run_cli
def command(limit: int) -> None:
    """List builds from the journal, newest first."""
    journal = Journal()
    records = journal.builds(limit)
    waiting = journal.waiting()
    if not records and not waiting:
        click.echo("No builds recorded yet.")
        return
    for wait in waiting:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wait.since))
        image = wait.lock.removeprefix("image:")
        holder = journal.lock_holder(wait.lock)
        behind = f" behind {holder.describe()}" if holder else ""
        click.echo(
            f"{wait.build_id[:12]}  {since}  {wait.build_name} on {wait.host}, pid {wait.pid}"
            f"  waiting for image {image}{behind}"
        )
    for rec in records:
        state = rec.state
        if state == "running" and not rec.checkable:
            state = "running? (another host: its own `bake builds` can tell)"
        elif state == "running" and not rec.alive:
            state = "dead (run `bake cleanup`)"
        elif state == HELD:
            state = f"held instance (until `bake instance down {rec.name}`)"
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec.started_at))
        where = "" if rec.local else f" on {rec.host}"
        click.echo(
            f"{rec.build_id[:12]}  {started}  {rec.name} ({rec.builder_type}){where}  {state}"
        )
        for res in journal.open_resources(rec.build_id):
            click.echo(f"    holds {res.kind} {res.describe()}")
