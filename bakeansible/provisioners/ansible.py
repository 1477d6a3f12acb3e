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
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from bakeansible.communicators.ssh import SshCommunicator
from bakeansible.config.model import ProvisionerSpec
from bakeansible.errors import BakeError, BuildCancelled, StepError, WaitTimeout
from bakeansible.pipeline.context import BuildContext, SshTarget
from bakeansible.pipeline.host import MARKER, kill_build_processes, of_build
from bakeansible.procinfo import process_start_time
from bakeansible.procs import require_tools
from bakeansible.provisioners.commands import command_path_env, find_ansible_command
from bakeansible.provisioners.config import AnsibleConfig
from bakeansible.provisioners.galaxy import (
    JOURNAL_KIND,
    GalaxyOptions,
    Requirements,
    find_galaxy_command,
    install_requirements,
    read_requirements,
)
from bakeansible.provisioners.inventory import render_host_line, render_ini_inventory
from bakeansible.provisioners.playbook import (
    check_playbook,
    project_roles_paths,
    system_roles_paths,
)

SSH_ARGS = (
    "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes "
    "-o ControlMaster=auto -o ControlPersist=60s"
)
DEFAULT_COLLECTIONS_PATHS = ("~/.ansible/collections", "/usr/share/ansible/collections")


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
        # Set by prepare() when galaxy_file is installed into the build's own directory.
        self.galaxy_dir: Path | None = None
        self._galaxy_rid: int | None = None

    def _path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return (path if path.is_absolute() else self.project_dir / path).resolve()

    def _paths(self, value: str) -> list[str]:
        return [str(self._path(p)) for p in value.split(":") if p]

    def describe(self) -> str:
        return f"Provisioning with Ansible: {self.playbook}"

    def roles_path(self) -> list[str]:
        """roles_path, the project's roles, the galaxy_file roles, then Ansible's defaults."""
        galaxy = [str(self.galaxy_dir / "roles")] if self.galaxy_dir else []
        paths = [
            *self._paths(self.config.roles_path),
            *project_roles_paths(self.playbook, self.project_dir),
            *galaxy,
            *system_roles_paths(),
        ]
        return list(dict.fromkeys(paths))

    def collections_path(self) -> list[str]:
        """collections_path, the galaxy_file collections, then Ansible's defaults."""
        galaxy = [str(self.galaxy_dir / "collections")] if self.galaxy_dir else []
        defaults = [str(Path(p).expanduser()) for p in DEFAULT_COLLECTIONS_PATHS]
        return list(dict.fromkeys([*self._paths(self.config.collections_path), *galaxy, *defaults]))

    def requirements(self) -> Requirements | None:
        """The parsed galaxy_file, or None without one; raises BakeError if unreadable."""
        if not self.config.galaxy_file:
            return None
        return read_requirements(self._path(self.config.galaxy_file))

    def validate(self) -> None:
        find_ansible_command("ansible-playbook")
        require_tools("ssh")  # Ansible's ssh connection
        req = self.requirements()
        if req is not None:
            find_galaxy_command(self.config.galaxy_command, self.project_dir)
        check_playbook(self.playbook, self.roles_path(), req.roles if req else ())
        for pair in self.config.ansible_env_vars:
            if "=" not in pair:
                raise BakeError(f"ansible_env_vars entry {pair!r} is not KEY=VALUE.")

    def prepare(self, ctx: BuildContext) -> None:
        """Install galaxy_file's roles and collections, before any instance exists.

        Into roles_path/collections_path (their first entry) when set, as Packer does; else into
        a journaled ``galaxy-<id>`` directory of the build's run directory, removed by release().
        """
        req = self.requirements()
        if req is None:
            return
        options = GalaxyOptions(
            find_galaxy_command(self.config.galaxy_command, self.project_dir),
            self.config.galaxy_force_install,
            self.config.galaxy_force_with_deps,
        )
        own = _run_dir(ctx) / f"galaxy-{uuid.uuid4().hex[:8]}"
        self._galaxy_rid = ctx.record_intent(JOURNAL_KIND, path=str(own))
        own.mkdir(parents=True, mode=0o700)
        self.galaxy_dir = own
        ctx.record_created(self._galaxy_rid, str(own))
        roles = self._paths(self.config.roles_path)
        collections = self._paths(self.config.collections_path)
        ctx.ui.say(f"Installing the roles and collections of {req.path} with ansible-galaxy...")
        install_requirements(
            req,
            options,
            roles_dir=Path(roles[0]) if roles else own / "roles",
            collections_dir=Path(collections[0]) if collections else own / "collections",
            cancel=ctx.cancel_event,
            on_line=ctx.ui.message,
            owner=ctx,
        )

    def release(self, ctx: BuildContext) -> None:
        """Remove what prepare() installed into the build's directory."""
        if self.galaxy_dir is not None:
            shutil.rmtree(self.galaxy_dir, ignore_errors=True)
            if self.galaxy_dir.exists():
                ctx.ui.error(f"Could not remove {self.galaxy_dir}; delete it manually.")
                return
            self.galaxy_dir = None
        ctx.record_gone(self._galaxy_rid)
        self._galaxy_rid = None

    def prepare_run(self, ctx: BuildContext) -> RunPlan:
        assert ctx.ssh is not None, "the instance must be reachable before provisioning"
        target = ctx.ssh
        hostvars: dict[str, Any] = {
            "ansible_host": target.host,
            "ansible_port": target.port,
            "ansible_user": self.config.user or target.user,
            **connection_vars(target),
        }
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
        if self.config.collections_path or self.galaxy_dir:
            env["ANSIBLE_COLLECTIONS_PATH"] = ":".join(self.collections_path())
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
        pdd = _run_dir(ctx)
        pdd.mkdir(parents=True, exist_ok=True)
        # ansible-runner writes env/envvars, env/extravars and env/cmdline on a first run and
        # on later runs prefers those files to what it is given: an earlier bake's files would
        # run this one with its control path, build id and extra vars.
        shutil.rmtree(pdd / "env", ignore_errors=True)
        return RunPlan(pdd, self.playbook, inventory, extravars, env, cmdline)

    def _write_inventory(self, ctx: BuildContext, plan: RunPlan) -> Path:
        """inventory_file_template if set, else the builder's inventory (``ctx.inventory``,
        e.g. a dynamic one), else the static inventory of ``ctx.ssh``."""
        directory = plan.private_data_dir / "inventory"
        if self.config.inventory_file_template:
            return self._write_templated_inventory(ctx, directory)
        if ctx.inventory is not None:
            written = ctx.inventory.write_inventory(
                ctx,
                directory,
                groups=(self.config.host_alias, *self.config.groups),
                user=self.config.user or None,
            )
            if written is not None:
                for secret in written.secrets:
                    ctx.masker.add(secret)
                plan.envvars.update(written.env)
                return written.path
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "hosts.yml"
        path.write_text(yaml.safe_dump(plan.inventory, sort_keys=False))
        return path

    def _write_templated_inventory(self, ctx: BuildContext, directory: Path) -> Path:
        """inventory_file_template rendered as Packer does (host line, groups, empty groups)."""
        assert ctx.ssh is not None
        values = {
            "HostAlias": self.config.host_alias,
            "Host": ctx.ssh.host,
            "Port": ctx.ssh.port,
            "User": self.config.user or ctx.ssh.user,
            "ConnType": "ssh",
            "BuildName": ctx.build_name,
            "BuildType": ctx.builder_type,
            "PackerRunUUID": ctx.build_id,
        }
        line = render_host_line(self.config.inventory_file_template, values)
        text = render_ini_inventory(
            line, self.config.groups, self.config.empty_groups, connection_vars(ctx.ssh)
        )
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = directory / "hosts"
        path.write_text(text)
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


def _run_dir(ctx: BuildContext) -> Path:
    """The build's ansible-runner private data directory."""
    return (ctx.output_dir / f"{ctx.build_name}-ansible").resolve()


def connection_vars(target: SshTarget) -> dict[str, str]:
    """How Ansible logs in: bake's SSH options and its key file, or the agent's keys."""
    if target.use_agent:
        # No key file, and no IdentitiesOnly: ssh offers the keys of SSH_AUTH_SOCK, which
        # ansible-runner passes through with the rest of bake's environment.
        return {
            "ansible_ssh_common_args": SSH_ARGS.replace("-o IdentitiesOnly=yes ", ""),
            "ansible_python_interpreter": "auto_silent",
        }
    found = {
        "ansible_ssh_common_args": SSH_ARGS,
        "ansible_python_interpreter": "auto_silent",
    }
    if target.private_key_path:
        found["ansible_ssh_private_key_file"] = str(target.private_key_path)
    return found


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
