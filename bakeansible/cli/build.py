"""``bake build`` and the ``bake --playbook`` short form: run builds and print their outcome."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

import click

from bakeansible.cli.render import Console, human_duration
from bakeansible.config.fields import field_secret
from bakeansible.config.model import Template
from bakeansible.errors import BakeError
from bakeansible.images.store import ImageStore
from bakeansible.pipeline.build import BuildResult, RunOptions, plan_builds, run_builds
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.reaper import sweep
from bakeansible.pipeline.runner import Choice, OnError
from bakeansible.pipeline.step import Step
from bakeansible.secrets import process_masker
from bakeansible.state.url import database_exists

log = logging.getLogger(__name__)


@dataclass
class BuildFlags:
    """The flags of ``bake build`` (and of ``bake --playbook``)."""

    on_error: str = "cleanup"
    force: bool = False
    parallel: int = 0
    fail_fast: bool = False
    debug: bool = False
    color: bool = True
    timestamps: bool = False
    machine: bool = False
    auto_cleanup: bool = True
    check: bool = False
    no_test: bool = False

    @classmethod
    def from_options(cls, options: Mapping[str, Any], **more: Any) -> BuildFlags:
        """From the click parameters of ``run_options`` (plus ``more``)."""
        return cls(
            on_error=options["on_error"],
            force=options["force"],
            color=options["color"],
            timestamps=options["timestamp_ui"],
            machine=options["machine_readable"],
            auto_cleanup=not options["no_auto_cleanup"],
            check=options["check"],
            no_test=options["no_test"],
            **more,
        )


def execute(template: Template, flags: BuildFlags, project_dir: Path) -> int:
    """Plan (validating everything), run the builds, print the summary; return the exit code."""
    if flags.check and flags.force:
        raise BakeError(
            "-check makes no image, so -force (replace an existing image) means nothing with it.",
            hint="Drop -force, or drop -check to bake the image.",
        )
    masker = process_masker()
    for secret in template.sensitive_values():
        masker.add(secret)
    for spec in template.builds:
        for secret in _secret_fields(spec.config):
            masker.add(secret)
    console = Console(
        masker,
        color=flags.color and not os.environ.get("NO_COLOR"),
        timestamps=flags.timestamps,
        machine=flags.machine,
    )
    if (flags.no_test or flags.check) and any(spec.tests for spec in template.builds):
        builds = tuple(replace(spec, tests=()) for spec in template.builds)
        template = replace(template, builds=builds)
        why = "-check: there is no image to test" if flags.check else "--no-test"
        console.write(f"Note: {why}: the builds' tests are skipped", fg="yellow")
    for note in template.notes:
        console.write(f"Note: {note}", fg="yellow")
    options = RunOptions(
        on_error=OnError(flags.on_error),
        force=flags.force,
        check=flags.check,
        parallel=1 if flags.debug else flags.parallel,  # -debug runs builds one by one
        fail_fast=flags.fail_fast,
        project_dir=project_dir,
        masker=masker,
    )
    # Planning reads the registry (channel sources, earlier images) but must create nothing:
    # the journal's database is opened now only if it exists. The registry lives in that
    # same database, so it is opened (and its migrations checked) once.
    journal = Journal() if database_exists() else None
    options.images = ImageStore(journal.db) if journal is not None else None
    planned = plan_builds(template, options)  # raises before any side effect

    if journal is None:
        journal = Journal()
        options.images = ImageStore(journal.db)
    options.journal = journal
    if flags.auto_cleanup:
        report = sweep(journal, keep_aborted=True)
        if report.removed:
            console.write(
                f"Removed {len(report.removed)} resource(s) left by earlier builds that died.",
                fg="yellow",
            )
    if flags.on_error == "ask":
        options.ask = _ask
    if flags.debug:
        options.pause = _pause

    cancel = threading.Event()
    _install_signal_handlers(cancel, console)
    for p in planned:
        if not flags.machine:
            console.write(f"{p.spec.name}: output will be in this color.", fg=None)
    if not flags.machine:
        console.write("")
    started = time.monotonic()

    def on_done(result: BuildResult) -> None:
        if flags.machine:
            return  # the summary records say it all
        took = human_duration(result.duration)
        if result.ok and result.up_to_date:
            console.write(f"Build '{result.name}' is up to date.")
        elif result.ok:
            console.write(f"Build '{result.name}' finished after {took}.")
        elif result.cancelled:
            console.write(f"Build '{result.name}' was cancelled after {took}.", fg="red")
        else:
            console.write(f"Build '{result.name}' errored after {took}: {result.error}", fg="red")

    results = run_builds(planned, options, console.ui_for, cancel, on_done)
    _print_summary(console, results, time.monotonic() - started, cancel.is_set(), flags.check)
    return 0 if all(r.ok for r in results) else 1


def _secret_fields(config: object) -> list[str]:
    """Values of the config's fields marked secret (secret_key, ssh_password...)."""
    if not is_dataclass(config):
        return []
    return [
        str(getattr(config, f.name))
        for f in fields(config)
        if field_secret(f) and getattr(config, f.name)
    ]


def _print_summary(
    console: Console,
    results: Sequence[BuildResult],
    elapsed: float,
    interrupted: bool,
    check: bool = False,
) -> None:
    if console.machine:
        for r in results:
            if r.ok and r.artifact:
                art = r.artifact
                console.record(r.name, "artifact-count", "1")
                console.record(r.name, "artifact", "0", "builder-id", art.builder_type)
                console.record(r.name, "artifact", "0", "id", art.artifact_id)
                console.record(r.name, "artifact", "0", "string", art.description)
                console.record(r.name, "artifact", "0", "files-count", str(len(art.files)))
                for i, f in enumerate(art.files):
                    console.record(r.name, "artifact", "0", "file", str(i), str(f))
                console.record(r.name, "artifact", "0", "end")
            elif r.error is not None:
                console.record(r.name, "error", str(r.error))
        return
    console.write("")
    console.write(f"==> Wait completed after {human_duration(elapsed)}")
    if interrupted:
        console.write("Cleanly cancelled builds after being interrupted.", fg="red")
    failed = [r for r in results if not r.ok]
    if failed:
        console.write("")
        console.write("==> Some builds didn't complete successfully and had errors:", fg="red")
        for r in failed:
            console.write(f"--> {r.name}: {r.error}", fg="red")
    ok = [r for r in results if r.ok and r.artifact]
    if ok:
        console.write("")
        console.write("==> Builds finished. The artifacts of successful builds are:", bold=True)
        for r in ok:
            assert r.artifact is not None
            note = " (up to date)" if r.up_to_date else ""
            console.write(f"--> {r.name}: {r.artifact.description}{note}", bold=True)
    elif check and not failed:
        console.write(
            "==> Check mode: the playbooks ran with --check --diff; no image, artifact or "
            "manifest entry was made.",
            bold=True,
        )
    elif not failed:
        console.write("==> Builds finished but no artifacts were created.")


def _install_signal_handlers(cancel: threading.Event, console: Console) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if cancel.is_set():
            console.write(f"Received {name} again: cleanup is in progress, please wait.", fg="red")
            return
        console.write(f"Cancelling build after receiving {name}", fg="red")
        cancel.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _ask(step: Step[Any], error: BakeError) -> Choice:
    click.echo(f"Step '{step.title.rstrip('.')}' failed: {error}", err=True)
    while True:
        answer = click.prompt(
            "[c] Clean up and exit, [a] abort without cleanup, or [r] retry step",
            default="c", err=True,
        ).strip().lower()[:1]
        if answer in ("c", "a", "r"):
            return Choice(answer)


def _pause(step: Step[Any]) -> None:
    if sys.stdin.isatty():
        click.prompt(
            f"Pausing before step '{step.title.rstrip('.')}'. Press enter to continue",
            default="", show_default=False, err=True,
        )
