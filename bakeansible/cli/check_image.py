"""``bake test IMAGE``: boot a fresh instance of an image bake made, run verify playbooks and
shell checks against it, remove it; exit 1 when a check fails."""

from __future__ import annotations

import os
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import click

from bakeansible.cli.options import run_cli
from bakeansible.errors import BakeError

NAME = "test"


@click.command("test")
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--playbook", "-playbook", "playbooks", multiple=True,
              type=click.Path(path_type=Path),
              help="A verify playbook to run against the instance (repeatable).")
@click.option("--command", "-command", "commands", multiple=True, metavar="COMMAND",
              help="A shell command that must exit 0 on the instance (repeatable).")
@click.option("-e", "--extra-vars", "extra_vars", multiple=True, metavar="KEY=VALUE",
              help="Ansible extra variable for the playbooks (repeatable).")
@click.option("--ssh-username", default="root", show_default=True,
              help="User to log in as (it must exist in the image).")
@click.option("-color", "--color", type=click.BOOL, default=True, help="-color=false: no colours.")
@run_cli
def command(
    image: Path, playbooks: tuple[Path, ...], commands: tuple[str, ...],
    extra_vars: tuple[str, ...], ssh_username: str, color: bool,
) -> None:  # fmt: skip
    """Boot a fresh instance of IMAGE (an image tarball bake made), run the checks, remove it.

    \b
    Example:
      bake test output/site.tar.zst --playbook playbooks/verify.yml
      bake test output/site.tar.zst --command 'systemctl is-active nginx'
    """
    sys.exit(run_test(image, playbooks, commands, extra_vars, ssh_username, color))


def run_test(
    image: Path,
    playbooks: tuple[Path, ...],
    commands: tuple[str, ...],
    extra_vars: tuple[str, ...],
    ssh_username: str,
    color: bool,
) -> int:
    """Validate everything, then boot, check and remove; the exit code."""
    from bakeansible.builders.local.boot import check_boot, image_instance
    from bakeansible.builders.local.config import LocalConfig
    from bakeansible.cli.build import _install_signal_handlers
    from bakeansible.cli.render import Console
    from bakeansible.pipeline.context import BuildContext
    from bakeansible.pipeline.journal import Journal
    from bakeansible.provisioners.run import StepPrepareProvisioners
    from bakeansible.provisioners.testphase import make_checks, run_checks
    from bakeansible.secrets import process_masker

    if str(image).startswith("img-"):
        raise BakeError(
            f"bake test {image}: testing a Tencent Cloud image from the command line is not "
            "supported yet.",
            hint="Give the build a tests section: it tests the new image on a fresh CVM.",
        )
    if not playbooks and not commands:
        raise BakeError(
            "Nothing to test.", hint="Give --playbook VERIFY.yml and/or --command 'CHECK'."
        )
    project_dir = Path.cwd()
    image = image.expanduser().resolve()
    config = LocalConfig(source=str(image), ssh_username=ssh_username)
    check_boot(config, project_dir)
    checks = make_checks(_test_specs(playbooks, commands, extra_vars), project_dir)
    for check in checks:
        check.provisioner.validate()

    masker = process_masker()
    console = Console(masker, color=color and not os.environ.get("NO_COLOR"))
    cancel = threading.Event()
    _install_signal_handlers(cancel, console)
    base = BuildContext(
        build_id=uuid.uuid4().hex,
        build_name=NAME,
        builder_type="local",
        ui=console.ui_for(NAME),
        cancel_event=cancel,
        journal=Journal(),
        masker=masker,
        output_dir=image.parent,
        project_dir=project_dir,
    )
    instance = image_instance(image, config, base, project_dir, NAME)
    instance.steps.insert(0, StepPrepareProvisioners([c.provisioner for c in checks]))
    try:
        outcome = run_checks(instance, checks, config.ssh_timeout)
    except BakeError as exc:  # cancelled: everything is cleaned up by now
        console.write(f"Test of {image} was cancelled: {exc.message}", fg="red")
        return 1
    if outcome.passed:
        console.write(f"==> Tests passed on a fresh instance of {image}.", bold=True)
        return 0
    assert outcome.error is not None and outcome.failed is not None
    console.write(f"==> Test '{outcome.failed.label}' failed: {outcome.error.message}", fg="red")
    if outcome.error.hint:
        console.write(f"Hint: {outcome.error.hint}", fg="red")
    return 1


def _test_specs(
    playbooks: tuple[Path, ...], commands: tuple[str, ...], extra_vars: tuple[str, ...]
) -> list[Any]:
    """One ansible test per playbook (with the -e variables), one shell test per command."""
    from bakeansible.config.model import ProvisionerSpec, TestSpec
    from bakeansible.config.playbook import playbook_provisioner
    from bakeansible.config.variables.files import load_var_args
    from bakeansible.provisioners.config import ShellConfig

    variables = load_var_args(extra_vars, flag="-e")
    options = {"extra_vars": variables} if variables else None
    specs = []
    for playbook in playbooks:
        if not playbook.is_file():
            raise BakeError(f"Playbook {playbook} not found.", hint="Give a verify playbook file.")
        specs.append(TestSpec(playbook_provisioner(playbook, options)))
    for line in commands:
        shell = ProvisionerSpec(type="shell", config=ShellConfig(inline=(line,)), name=line)
        specs.append(TestSpec(shell))
    return specs
