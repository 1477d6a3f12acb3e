"""The ``ansible`` provisioner: a playbook run by ansible-runner, straight over SSH.

Configure, then run (ansible-runner's split): ``prepare_run`` writes a self-contained private data
directory under the build's output directory (inventory, and after the run the event log);
``provision`` runs it, streaming events to the build's UI and mapping a failed task to an error
naming the task, the host and the message.
"""

from __future__ import annotations

import shlex
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from bakeansible.communicators.ssh import SshCommunicator
from bakeansible.config.model import ProvisionerSpec
from bakeansible.errors import BakeError, BuildCancelled, StepError, WaitTimeout
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.host import MARKER, kill_build_processes, of_build
from bakeansible.pipeline.journal import process_start_time
from bakeansible.procs import require_tools
from bakeansible.provisioners.commands import command_path_env, find_ansible_command
from bakeansible.provisioners.config import AnsibleConfig
from bakeansible.provisioners.playbook import check_playbook, default_roles_paths

SSH_ARGS = (
    "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes "
    "-o ControlMaster=auto -o ControlPersist=60s"
)


@dataclass
class RunPlan:
    """Everything one ansible-runner invocation needs, inspectable before it runs.

    ``ansible_playbook`` is the binary that runs (``find_ansible_command``). ansible-runner looks
    ``ansible-playbook`` up on the child's PATH, so its directory leads ``envvars["PATH"]``
    (unless ``ansible_env_vars`` set PATH).
    """

    ansible_playbook: Path = field(
        default_factory=lambda: find_ansible_command("ansible-playbook"), kw_only=True
    )

    def __post_init__(self) -> None:
        self.envvars.setdefault("PATH", command_path_env(self.ansible_playbook))

    private_data_dir: Path
    playbook: Path
    inventory: dict[str, Any]
    extravars: dict[str, Any]
    envvars: dict[str, str]
    cmdline: str


@dataclass
class _EventState:
    task: str = ""
    failures: list[str] = field(default_factory=list)


class AnsibleProvisioner:
    """Runs one playbook against the build's instance."""

    type_name: ClassVar[str] = "ansible"
    config_class: ClassVar[type[AnsibleConfig]] = AnsibleConfig

    def __init__(self, spec: ProvisionerSpec, project_dir: Path) -> None:
        self.spec = spec
        self.config: AnsibleConfig = spec.config
        self.project_dir = project_dir
        path = Path(self.config.playbook_file).expanduser()
        self.playbook = (path if path.is_absolute() else project_dir / path).resolve()

    def describe(self) -> str:
        return f"Provisioning with Ansible: {self.playbook}"

    def roles_path(self) -> list[str]:
        extra = [p for p in self.config.roles_path.split(":") if p]
        extra = [str((self.project_dir / p).resolve()) for p in extra]
        return [*extra, *default_roles_paths(self.playbook, self.project_dir)]

    def validate(self) -> None:
        find_ansible_command("ansible-playbook")
        require_tools("ssh")  # Ansible's ssh connection
        check_playbook(self.playbook, self.roles_path())
        for pair in self.config.ansible_env_vars:
            if "=" not in pair:
                raise BakeError(f"ansible_env_vars entry {pair!r} is not KEY=VALUE.")

    def prepare_run(self, ctx: BuildContext) -> RunPlan:
        assert ctx.ssh is not None, "the instance must be reachable before provisioning"
        target = ctx.ssh
        hostvars: dict[str, Any] = {
            "ansible_host": target.host,
            "ansible_port": target.port,
            "ansible_user": self.config.user or target.user,
            "ansible_ssh_common_args": SSH_ARGS,
            "ansible_python_interpreter": "auto_silent",
        }
        if target.private_key_path:
            hostvars["ansible_ssh_private_key_file"] = str(target.private_key_path)
        alias = self.config.host_alias
        children = {g: {"hosts": {alias: None}} for g in self.config.groups}
        children.update({g: {"hosts": {}} for g in self.config.empty_groups})
        inventory = {"all": {"hosts": {alias: hostvars}, "children": children}}
        env = {
            "ANSIBLE_ROLES_PATH": ":".join(self.roles_path()),
            "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            # An inventory Ansible cannot parse (a missing plugin, say) must fail the run, not
            # leave it to an implicit localhost on which the play quietly matches no host.
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
            # In the build's own temporary directory, so the sockets go with it; see
            # bakeansible/pipeline/host.py for why that path stays short enough.
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(ctx.temp_dir() / "cp"),
            # Inherited by ansible-playbook, its workers and the ssh ControlMaster (which
            # daemonizes out of the process group): how bake finds and ends all of them.
            MARKER: ctx.build_id,
        }
        if self.config.collections_path:
            env["ANSIBLE_COLLECTIONS_PATH"] = self.config.collections_path
        for pair in self.config.ansible_env_vars:
            key, _, value = pair.partition("=")
            env[key] = value
        extravars = {
            "packer_build_name": ctx.build_name,
            "packer_builder_type": ctx.builder_type,
            "bake_build_name": ctx.build_name,
            "bake_build_id": ctx.build_id,
            **self.config.extra_vars,
        }
        cmdline = " ".join(shlex.quote(a) for a in self.config.extra_arguments)
        if self.config.verbosity:
            cmdline = ("-" + "v" * min(self.config.verbosity, 4) + " " + cmdline).strip()
        pdd = (ctx.output_dir / f"{ctx.build_name}-ansible").resolve()
        pdd.mkdir(parents=True, exist_ok=True)
        # ansible-runner writes env/envvars, env/extravars and env/cmdline on a first run and
        # on later runs prefers those files to what it is given: an earlier bake's files would
        # run this one with its control path, build id and extra vars.
        shutil.rmtree(pdd / "env", ignore_errors=True)
        return RunPlan(pdd, self.playbook, inventory, extravars, env, cmdline)

    def _write_inventory(self, ctx: BuildContext, plan: RunPlan) -> Path:
        """The static inventory, or on Tencent builds the ``bake_cvm`` dynamic inventory
        (the plugin users run against their fleets, filtered to this build's tag)."""
        directory = plan.private_data_dir / "inventory"
        if ctx.builder_type == "tencentcloud-cvm":
            from bakeansible.builders.tencentcloud.inventory import write_build_inventory

            dynamic = write_build_inventory(
                ctx,
                directory,
                groups=(self.config.host_alias, *self.config.groups),
                user=self.config.user or None,
            )
            if dynamic is not None:
                for secret in dynamic.secrets:
                    ctx.masker.add(secret)
                plan.envvars.update(dynamic.env)
                return dynamic.path
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "hosts.yml"
        path.write_text(yaml.safe_dump(plan.inventory, sort_keys=False))
        return path

    def provision(self, ctx: BuildContext, comm: SshCommunicator, deadline: float | None) -> None:
        import ansible_runner  # heavy: imported only when a playbook runs

        plan = self.prepare_run(ctx)
        state = _EventState()
        rid = ctx.record_intent("host.process", what="ansible-playbook")
        journaled = False

        def on_event(event: dict[str, Any]) -> bool:
            nonlocal journaled
            pid = event.get("pid")
            if not journaled and isinstance(pid, int) and of_build(pid, ctx.build_id):
                # ansible-playbook's own pid (its callback sends the events), the leader of
                # the session ansible-runner starts it in; checked, since it is only as
                # trustworthy as the event files it was read from.
                ctx.record_created(rid, str(pid), pid=pid, start=process_start_time(pid))
                journaled = True
            line = _render_event(event, state)
            if line:
                ctx.ui.message(line)
            return True

        timed_out = False

        def cancel() -> bool:
            nonlocal timed_out
            if deadline is not None and time.monotonic() > deadline:
                timed_out = True
                return True
            return ctx.cancelled

        inventory_file = self._write_inventory(ctx, plan)
        try:
            result = ansible_runner.run(
                private_data_dir=str(plan.private_data_dir),
                project_dir=str(plan.playbook.parent),
                playbook=str(plan.playbook),
                inventory=str(inventory_file),
                extravars=plan.extravars,
                envvars=plan.envvars,
                cmdline=plan.cmdline or None,
                event_handler=on_event,
                cancel_callback=cancel,
                quiet=True,
                ident=f"{int(time.time())}-{ctx.build_id[:8]}",  # two bakes, one output dir
                rotate_artifacts=5,
            )
        finally:
            # The ControlMaster outlives ansible-playbook by ControlPersist; a cancelled run
            # may leave workers behind. Nothing of this run may outlive it.
            kill_build_processes(ctx.build_id)
            ctx.record_gone(rid)
            if not self.config.keep_inventory_file:
                inventory_file.unlink(missing_ok=True)
            scrub_secrets(plan.private_data_dir, ctx)
        if result.status == "successful":
            return
        if timed_out:
            raise WaitTimeout(f"playbook {plan.playbook.name}", self.spec.timeout, "running")
        if result.status == "canceled":
            raise BuildCancelled("interrupted")
        detail = "; ".join(state.failures) or (
            f"{plan.ansible_playbook} exited with rc={result.rc}" + _output_tail(result, ctx)
        )
        raise StepError(
            f"Ansible playbook {plan.playbook.name} failed: {detail}",
            hint=f"The full event log is in {plan.private_data_dir / 'artifacts'}.",
        )


def _render_event(event: dict[str, Any], state: _EventState) -> str:
    kind = event.get("event", "")
    data = event.get("event_data", {})
    if kind == "playbook_on_play_start":
        return f"PLAY [{data.get('name') or data.get('play', '')}]"
    if kind == "playbook_on_task_start":
        state.task = data.get("task", "")
        return ""
    host = data.get("host", "")
    results = data.get("res", {}) if isinstance(data.get("res"), dict) else {}
    if kind == "runner_on_ok":
        status = "changed" if results.get("changed") else "ok"
        return f"TASK [{state.task}] {status}: {host}"
    if kind == "runner_on_skipped":
        return f"TASK [{state.task}] skipping: {host}"
    if kind in ("runner_on_failed", "runner_on_unreachable"):
        msg = str(results.get("msg") or results.get("stderr") or results.get("reason") or "")
        msg = " ".join(msg.split())[:500]
        if kind == "runner_on_failed" and data.get("ignore_errors"):
            return f"TASK [{state.task}] failed (ignored): {host}: {msg}"
        what = "unreachable" if kind == "runner_on_unreachable" else "failed"
        state.failures.append(f"task '{state.task}' {what} on host {host}: {msg}")
        return f"TASK [{state.task}] {what.upper()}: {host}: {msg}"
    if kind == "playbook_on_handler_task_start":
        state.task = data.get("task", "")
        return ""
    if kind == "playbook_on_stats":
        parts = []
        for key in ("ok", "changed", "failures", "skipped", "dark"):
            count = sum(data.get(key, {}).values()) if isinstance(data.get(key), dict) else 0
            parts.append(f"{'unreachable' if key == 'dark' else key}={count}")
        return "PLAY RECAP " + " ".join(parts)
    return ""


def _output_tail(result: Any, ctx: BuildContext, lines: int = 5) -> str:
    """The last lines ansible-playbook printed (masked): why it failed before any task."""
    try:
        with result.stdout as fh:
            tail = [line.strip() for line in fh.read().splitlines() if line.strip()][-lines:]
    except Exception:  # no stdout artifact: nothing more to say
        return ""
    return (":\n" + ctx.masker.mask("\n".join(tail))) if tail else ""


def scrub_secrets(directory: Path, ctx: BuildContext) -> None:
    """Mask every registered secret in the files ansible-runner leaves behind."""
    for path in directory.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        masked = ctx.masker.mask(text)
        if masked != text:
            path.write_text(masked)
