"""``bake cleanup``: remove what builds that died (kill -9, CI timeout, power loss) left behind."""

from __future__ import annotations

import click

from bakeansible.cli.options import run_cli
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.reaper import sweep


@click.command("cleanup")
@click.option("--dry-run", "-dry-run", is_flag=True, help="List what would be removed.")
@click.option("--build", "-build", "build_id", help="Only this build id (see `bake builds`).")
@click.option("--tags", "-tags", is_flag=True,
              help="Also sweep cloud resources whose bake:expires-at tag has passed.")
@run_cli
def command(dry_run: bool, build_id: str | None, tags: bool) -> None:
    """Remove every journaled resource of builds whose process is gone.

    A build still running is never touched. A resource already gone counts as removed.
    """
    journal = Journal()
    report = sweep(journal, build_id=build_id, dry_run=dry_run)
    verb = "Would remove" if dry_run else "Removed"
    for res in report.removed:
        click.echo(f"{verb} {res.kind} {res.describe()} (build {res.build_id[:12]})")
    for res, why in report.failed:
        click.secho(
            f"Could not remove {res.kind} {res.describe()}: {why} — delete it manually.",
            fg="red", err=True,
        )
    for bid in sorted(set(report.skipped_builds)):
        click.echo(f"Skipped build {bid[:12]}: it is still running.")
    if tags:
        from bakeansible.builders.tencentcloud.sweep import sweep_expired

        for line in sweep_expired(dry_run=dry_run):
            click.echo(line)
    if not report.removed and not report.failed:
        click.echo("Nothing to clean up.")
    if report.failed:
        raise SystemExit(1)
