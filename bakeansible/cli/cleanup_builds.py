"""``bake builds``: running and past builds, with the resources each still holds."""

from __future__ import annotations

import time

import click

from bakeansible.cli.options import run_cli
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.reaper import HELD


@click.command("builds")
@click.option("--limit", default=20, show_default=True, help="How many builds to list.")
@run_cli
def command(limit: int) -> None:
    """List builds from the journal, newest first."""
    journal = Journal()
    records = journal.builds(limit)
    if not records:
        click.echo("No builds recorded yet.")
        return
    for rec in records:
        state = rec.state
        if state == "running" and not rec.alive:
            state = "dead (run `bake cleanup`)"
        elif state == HELD:
            state = f"held instance (until `bake instance down {rec.name}`)"
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec.started_at))
        click.echo(f"{rec.build_id[:12]}  {started}  {rec.name} ({rec.builder_type})  {state}")
        for res in journal.open_resources(rec.build_id):
            click.echo(f"    holds {res.kind} {res.describe()}")
