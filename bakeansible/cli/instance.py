"""``bake instance``: start, list, log in to and remove instances that outlive the command."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from types import FrameType

import click

from bakeansible.cli.options import cloud_options, run_cli
from bakeansible.cli.render import BuildUi, Console
from bakeansible.config.durations import parse_duration
from bakeansible.errors import BakeError
from bakeansible.instances import lifecycle
from bakeansible.instances.record import (
    TENCENT,
    InstanceInfo,
    find_held,
    is_running,
    live_records,
    load_info,
    ssh_argv,
)
from bakeansible.instances.sources import CloudOptions
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.reaper import HELD
from bakeansible.secrets import process_masker


@click.group("instance", context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """Instances that stay up after the command: local containers booted as bake boots them
    (own network, overlay over the source, sshd, a temporary key), or Tencent Cloud CVMs booted
    as the tencentcloud-cvm builder boots them (own VPC, subnet, security group, key pair),
    journaled until `down`."""


@command.command("up")
@click.option("--source", "-source", default="debian:bookworm", show_default=True,
              help="debian:bookworm, debian:trixie, an image tarball (e.g. output/x.tar.zst), "
              "or a Tencent Cloud image id (img-…).")
@click.option("--name", "-name", help="Name of the instance (default: source and a short id).")
@click.option("--ssh-username", default="root", show_default=True,
              help="User to log in as (it must exist in the image).")
@cloud_options
@click.option("--ttl", metavar="DURATION",
              help="img-… only: the CVM's bake:expires-at tag is now + TTL (default 24h); "
              "`bake cleanup --tags` removes it after that.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@run_cli
def up(
    source: str, name: str | None, ssh_username: str, region: str | None, zone: str | None,
    instance_type: str | None, private_ip: bool, ttl: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Boot an instance and print how to reach it (progress goes to stderr).

    A Tencent Cloud instance (--source img-…) is billed while it is up: remove it with
    `bake instance down`.
    """
    console = Console(process_masker(), color=not os.environ.get("NO_COLOR"), stream=sys.stderr)
    cancel = threading.Event()
    _cancel_on_signals(cancel, console)
    ui = BuildUi(console, name or "instance", "green")
    cloud = CloudOptions(region, zone, instance_type, ttl, private_ip)
    info = lifecycle.start_instance(
        source, name, ui=ui, cancel=cancel, ssh_username=ssh_username, cloud=cloud
    )
    if as_json:
        click.echo(json.dumps(info.public(), indent=2))
        return
    click.echo(f"Instance {info.name} is up (source {info.source}).")
    _echo_info(info)
    click.echo(f"Log in: bake instance ssh {info.name}    Remove: bake instance down {info.name}")
    if info.kind == TENCENT:
        click.echo("The CVM is billed while it is up; `bake cleanup --tags` removes it once its "
                   "--ttl has passed.")


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the instances as JSON.")
@run_cli
def list_(as_json: bool) -> None:
    """List the instances that are up (newest first)."""
    journal = Journal()
    records = [(record, load_info(record)) for record in live_records(journal)]
    cvms = [r.build_id for r, info in records if r.state == HELD and info and info.kind == TENCENT]
    cloud_states: dict[str, str] = {}
    if cvms:
        from bakeansible.instances.tencent import cvm_states  # the SDK: only for CVMs

        cloud_states = cvm_states(journal, cvms)
    rows = []
    for record, info in records:
        if record.state != HELD:
            state = "starting"
        elif info is None:
            state = "damaged (no instance.json; bake instance down removes it)"
        elif info.kind == TENCENT:
            state = cloud_states[record.build_id]
        else:
            state = "running" if is_running(journal, record.build_id) else "stopped"
        rows.append((record.name, info, state))
    if as_json:
        items = [{**(info.public() if info else {"name": n}), "state": s} for n, info, s in rows]
        click.echo(json.dumps(items, indent=2))
        return
    if not rows:
        click.echo("No instances. Start one with: bake instance up")
        return
    for name, info, state in rows:
        where = f"{info.user}@{info.address}:{info.port}  {info.source}" if info else ""
        if info and info.kind == TENCENT:
            where += f"  {info.instance_id} ({info.region})"
        click.echo(f"{name}  {state}  {where}".rstrip())


@command.command("ssh", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("remote_command", nargs=-1, type=click.UNPROCESSED)
@run_cli
def ssh(name: str, remote_command: tuple[str, ...]) -> None:
    """Log in to instance NAME with ssh, or run a command there: bake instance ssh NAME -- CMD."""
    record = find_held(Journal(), name)
    info = load_info(record)
    if info is None:
        raise BakeError(
            f"Instance {name!r} has no readable instance.json in its work directory.",
            hint=f"Remove it with: bake instance down {name}",
        )
    argv = ssh_argv(info, remote_command)
    sys.stdout.flush()
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        raise BakeError(f"Could not run ssh: {exc.strerror}.",
                        hint="Install openssh-client.") from None


@command.command("down")
@click.argument("name", required=False)
@click.option("--all", "all_", is_flag=True, help="Remove every instance.")
@click.option("--timeout", "-timeout", metavar="DURATION",
              help="How long to let it power off in order before killing it (default 30s).")
@click.option("--force", "-force", is_flag=True, help="Kill it at once, without shutting down.")
@run_cli
def down(name: str | None, all_: bool, timeout: str | None, force: bool) -> None:
    """Shut instance NAME (or --all) down and remove everything it holds."""
    if bool(name) == all_:
        raise BakeError("Give an instance NAME or --all (not both).",
                        hint="`bake instance list` shows the instances.")
    if force and timeout is not None:
        raise BakeError("--force kills the instance at once: a --timeout means nothing with it.",
                        hint="Give one of --force and --timeout.")
    try:
        seconds = parse_duration(timeout) if timeout is not None else (
            lifecycle.DEFAULT_SHUTDOWN_TIMEOUT)
    except ValueError as exc:
        raise BakeError(f"--timeout: {exc}.", hint="For example --timeout 1m30s.") from None
    journal = Journal()
    names = lifecycle.held_names(journal) if all_ else [name or ""]
    if all_ and not names:
        click.echo("No instances to remove.")
        return
    failed = False
    for each in names:
        failures = lifecycle.stop_instance(
            journal, each, shutdown_timeout=None if force else seconds, say=click.echo
        )
        for failure in failures:
            click.secho(f"Could not remove {failure} — delete it manually.", fg="red", err=True)
        failed = failed or bool(failures)
        if not failures:
            click.echo(f"Removed instance {each}.")
    if failed:
        raise SystemExit(1)


def _echo_info(info: InstanceInfo) -> None:
    if info.kind == TENCENT:
        click.echo(f"  instance: {info.instance_id} ({info.region})")
    click.echo(f"  address:  {info.address}")
    click.echo(f"  port:     {info.port}")
    click.echo(f"  user:     {info.user}")
    click.echo(f"  key file: {info.key_file}")


def _cancel_on_signals(cancel: threading.Event, console: Console) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        if not cancel.is_set():
            name = signal.Signals(signum).name
            console.write(f"Cancelling after receiving {name}; removing what was made...",
                          fg="red")
        cancel.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
