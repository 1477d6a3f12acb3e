"""``bake test IMAGE``: boot a fresh instance of an image (a tarball bake made, or a Tencent
Cloud image id), run verify playbooks and shell checks against it, remove it; exit 1 when a
check fails."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bakeansible.cli.options import cloud_options, run_cli
from bakeansible.errors import BakeError

if TYPE_CHECKING:
    from bakeansible.instances.sources import CloudOptions
    from bakeansible.pipeline.context import BuildContext
    from bakeansible.provisioners.testphase import TestInstance

NAME = "test"


@click.command("test")
@click.argument("image")
@click.option("--playbook", "-playbook", "playbooks", multiple=True,
              type=click.Path(path_type=Path),
              help="A verify playbook to run against the instance (repeatable).")
@click.option("--command", "-command", "commands", multiple=True, metavar="COMMAND",
              help="A shell command that must exit 0 on the instance (repeatable).")
@click.option("-e", "--extra-vars", "extra_vars", multiple=True, metavar="KEY=VALUE",
              help="Ansible extra variable for the playbooks (repeatable).")
@click.option("--ssh-username", default="root", show_default=True,
              help="User to log in as (it must exist in the image).")
@cloud_options
@click.option("-color", "--color", type=click.BOOL, default=True, help="-color=false: no colours.")
@run_cli
def command(
    image: str, playbooks: tuple[Path, ...], commands: tuple[str, ...],
    extra_vars: tuple[str, ...], ssh_username: str, region: str | None, zone: str | None,
    instance_type: str | None, private_ip: bool, color: bool,
) -> None:  # fmt: skip
    """Boot a fresh instance of IMAGE, run the checks, remove it. IMAGE is an image tarball
    bake made (a container), or a Tencent Cloud image id (a CVM in a temporary VPC, subnet and
    security group, with a temporary key pair; give --zone and --instance-type).

    \b
    Example:
      bake test output/site.tar.zst --playbook playbooks/verify.yml
      bake test output/site.tar.zst --command 'systemctl is-active nginx'
      bake test img-abcd1234 --zone ap-guangzhou-3 --instance-type S5.MEDIUM2 --command true
    """
    from bakeansible.instances.sources import CloudOptions

    cloud = CloudOptions(region, zone, instance_type, None, private_ip)
    sys.exit(run_test(image, playbooks, commands, extra_vars, ssh_username, color, cloud))


def run_test(
    image_arg: str,
    playbooks: tuple[Path, ...],
    commands: tuple[str, ...],
    extra_vars: tuple[str, ...],
    ssh_username: str,
    color: bool,
    cloud: CloudOptions | None = None,
) -> int:
    """Validate everything, then boot, check and remove; the exit code."""
    from bakeansible.builders.local.boot import check_boot, image_instance
    from bakeansible.builders.local.config import LocalConfig
    from bakeansible.cli.build import _install_signal_handlers
    from bakeansible.cli.render import Console
    from bakeansible.instances.sources import (
        CloudOptions,
        is_tencent_source,
        refuse_cloud_options,
    )
    from bakeansible.pipeline.context import BuildContext, new_base_context
    from bakeansible.pipeline.journal import Journal
    from bakeansible.provisioners.run import StepPrepareProvisioners
    from bakeansible.provisioners.testphase import make_checks, run_checks
    from bakeansible.secrets import process_masker

    cloud = cloud or CloudOptions()
    if not playbooks and not commands:
        raise BakeError(
            "Nothing to test.", hint="Give --playbook VERIFY.yml and/or --command 'CHECK'."
        )
    project_dir = Path.cwd()
    tencent = is_tencent_source(image_arg)
    if tencent:
        from bakeansible.instances.tencent import cvm_config  # the SDK: only for CVMs

        config: Any = cvm_config(image_arg, cloud, ssh_username, command="bake test")
        label = image_arg
    else:
        refuse_cloud_options(cloud, image_arg)
        image = Path(image_arg).expanduser().resolve()
        config = LocalConfig(source=str(image), ssh_username=ssh_username)
        check_boot(config, project_dir)
        label = str(image)
    checks = make_checks(_test_specs(playbooks, commands, extra_vars), project_dir)
    for check in checks:
        check.provisioner.validate()

    masker = process_masker()
    console = Console(masker, color=color and not os.environ.get("NO_COLOR"))
    cancel = threading.Event()
    _install_signal_handlers(cancel, console)
    base = new_base_context(
        BuildContext, NAME, "tencentcloud-cvm" if tencent else "local", ui=console.ui_for(NAME),
        cancel_event=cancel, journal=Journal(), masker=masker, project_dir=project_dir,
        output_dir=project_dir / "output" if tencent else image.parent,
    )  # fmt: skip
    if tencent:
        instance = _cvm_instance(config, base, project_dir, checks)
    else:
        instance = image_instance(image, config, base, project_dir, NAME)
    instance.steps.insert(0, StepPrepareProvisioners([c.provisioner for c in checks]))
    try:
        outcome = run_checks(instance, checks, config.ssh_timeout)
    except BakeError as exc:  # cancelled: everything is cleaned up by now
        console.write(f"Test of {label} was cancelled: {exc.message}", fg="red")
        return 1
    if outcome.passed:
        console.write(f"==> Tests passed on a fresh instance of {label}.", bold=True)
        return 0
    assert outcome.error is not None and outcome.failed is not None
    console.write(f"==> Test '{outcome.failed.label}' failed: {outcome.error.message}", fg="red")
    if outcome.error.hint:
        console.write(f"Hint: {outcome.error.hint}", fg="red")
    return 1


def _cvm_instance(
    config: Any, base: BuildContext, project_dir: Path, checks: list[Any]
) -> TestInstance:
    """A fresh CVM of the image, booted by the Tencent builder's own steps in a temporary VPC,
    subnet and security group with a temporary key pair, as a build of its own (journaled, so
    ``bake cleanup`` removes it after a crash); Ansible names it by the playbooks' host_alias
    (``default``), as in a build."""
    from bakeansible.instances.tencent import CvmBoot
    from bakeansible.provisioners.testphase import TestInstance

    boot = CvmBoot(config, NAME, project_dir)
    ctx = boot.new_context(base)
    aliases = (getattr(c.provisioner.config, "host_alias", "") for c in checks)
    ctx.host_alias = next((a for a in aliases if a), "")
    return TestInstance(ctx, boot.steps(ctx))


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
