"""``bake cleanup``: remove what builds that died (kill -9, CI timeout, power loss) left behind."""

from __future__ import annotations

import click

from bakeansible.cli.options import run_cli
from bakeansible.errors import BakeError
from bakeansible.pipeline.journal import AT_RISK, Journal, JournalError, set_journal_aside
from bakeansible.pipeline.reaper import sweep


@click.command("cleanup")
@click.option("--dry-run", "-dry-run", is_flag=True, help="List what would be removed.")
@click.option("--build", "-build", "build_id", help="Only this build id (see `bake builds`).")
@click.option("--tags", "-tags", is_flag=True,
              help="Also sweep cloud resources whose bake:expires-at tag has passed.")
@click.option("--reset-journal", is_flag=True,
              help="Keep a damaged journal aside (renamed) and start an empty one.")
@run_cli
def command(dry_run: bool, build_id: str | None, tags: bool, reset_journal: bool) -> None:
    """Remove every journaled resource of builds whose process is gone.

    A build still running is never touched. A resource already gone counts as removed.
    """
    if reset_journal:
        _reset_journal()
        return
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
    for bid in sorted(set(report.held_builds)):
        record = journal.build(bid)
        name = record.name if record else bid[:12]
        click.echo(
            f"Kept instance {name} (build {bid[:12]}): it is held until "
            f"`bake instance down {name}`."
        )
    if tags:
        from bakeansible.builders.tencentcloud.sweep import sweep_expired

        for line in sweep_expired(dry_run=dry_run):
            click.echo(line)
    if not report.removed and not report.failed:
        click.echo("Nothing to clean up.")
    if report.failed:
        raise SystemExit(1)


def _reset_journal() -> None:
    """Only a damaged journal is set aside: a healthy one still knows what to clean up."""
    try:
        journal = Journal()
    except JournalError as exc:
        if not exc.damaged:
            raise
        path = Journal.default_path()
        aside = set_journal_aside(path)
        Journal(path)
        click.secho(f"Moved the damaged journal to {aside} and started an empty one.", fg="yellow")
        click.echo(AT_RISK.format(instances=path.parent / "instances"))
        click.echo(
            "Find them: `bake cleanup --tags` (cloud resources, by their bake:expires-at tag); "
            "`ps -ef | grep -e systemd-nspawn -e ansible-playbook`, `grep bake /proc/mounts`, "
            "`ip netns list`, `ip -br link`, `nft list tables`, "
            f"`ls {path.parent / 'instances'}` (local ones)."
        )
        return
    raise BakeError(
        f"The resource journal {journal.path} is readable: there is nothing to reset.",
        hint="Run `bake cleanup` to remove what dead builds left behind.",
    )
