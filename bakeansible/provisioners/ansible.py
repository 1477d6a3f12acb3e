"""The ``ansible`` provisioner: a playbook run by ansible-runner, straight over SSH.

Configure, then run (ansible-runner's split): ``prepare_run`` writes a self-contained private data
directory under the build's output directory (inventory, and after the run the event log);
``provision`` runs it, streaming events to the build's UI and mapping a failed task to an error
naming the task, the host and the message.
"""

from __future__ import annotations

import difflib
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
from bakeansible.provisioners.arguments import resolve_extra_arguments
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
from bakeansible.provisioners.settings import (
    ProjectSettings,
    apply_defaults,
    overridden,
    read_project_settings,
)
from bakeansible.provisioners.varsdirs import link_vars_dirs, unlink_vars_dirs, vars_dir_sources

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
    #: The user's settings that bake's required ones replaced (said in a note).
    overridden: list[str] = field(default_factory=list)
    settings: ProjectSettings = field(default_factory=ProjectSettings)


@dataclass
class _EventState:
    task: str = ""
    failures: list[str] = field(default_factory=list)
    #: (task, host) of every task that reported changed.
    changed: list[tuple[str, str]] = field(default_factory=list)


class AnsibleProvisioner:
    """Runs one playbook against the build's instance."""

    type_name: ClassVar[str] = "ansible"
    config_class: ClassVar[type[AnsibleConfig]] = AnsibleConfig
    supports_check_mode: ClassVar[bool] = True

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

    def settings(self) -> ProjectSettings:
        """The project's ansible.cfg and the ANSIBLE_* environment (ansible_env_vars win)."""
        return read_project_settings(
            self.project_dir, self.playbook, self.config.ansible_env_vars
        )

    def roles_path(self, settings: ProjectSettings) -> list[str]:
        """roles_path, the project's roles, the galaxy_file roles, those of ansible.cfg and
        ANSIBLE_ROLES_PATH, then Ansible's defaults."""
        galaxy = [str(self.galaxy_dir / "roles")] if self.galaxy_dir else []
        paths = [
            *self._paths(self.config.roles_path),
            *project_roles_paths(self.playbook, self.project_dir),
            *galaxy,
            *settings.paths("ANSIBLE_ROLES_PATH", "defaults", "roles_path"),
            *system_roles_paths(),
        ]
        return list(dict.fromkeys(paths))

    def collections_path(self, settings: ProjectSettings) -> list[str]:
        """collections_path, the galaxy_file collections, those of ansible.cfg and
        ANSIBLE_COLLECTIONS_PATH, then Ansible's defaults."""
        galaxy = [str(self.galaxy_dir / "collections")] if self.galaxy_dir else []
        theirs = settings.paths("ANSIBLE_COLLECTIONS_PATH", "defaults", "collections_path")
        defaults = [str(Path(p).expanduser()) for p in DEFAULT_COLLECTIONS_PATHS]
        return list(
            dict.fromkeys([*self._paths(self.config.collections_path), *galaxy, *theirs,
                           *defaults])
        )  # fmt: skip

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
        for pair in self.config.ansible_env_vars:
            if "=" not in pair:
                raise BakeError(f"ansible_env_vars entry {pair!r} is not KEY=VALUE.")
        check_playbook(self.playbook, self.roles_path(self.settings()), req.roles if req else ())
        resolve_extra_arguments(self.config.extra_arguments, self.project_dir)

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
        settings = self.settings()
        required = {
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
        if settings.get("ssh_connection", "control_path") or (
            "ANSIBLE_SSH_CONTROL_PATH" in settings.environ
        ):
            # A control path of the user's own would put the sockets outside that directory.
            required["ANSIBLE_SSH_CONTROL_PATH"] = "%(directory)s/%%C"
        env: dict[str, str] = {}
        for pair in self.config.ansible_env_vars:
            key, _, value = pair.partition("=")
            env[key] = value
        # ansible-runner starts from bake's own environment, so the user's ANSIBLE_* pass
        # through; search paths are merged, bake's required settings win.
        env["ANSIBLE_ROLES_PATH"] = ":".join(self.roles_path(settings))
        if self.config.collections_path or self.galaxy_dir:
            env["ANSIBLE_COLLECTIONS_PATH"] = ":".join(self.collections_path(settings))
        apply_defaults(env, settings, {"ANSIBLE_PIPELINING": "True"})
        if settings.config_file is not None:
            env["ANSIBLE_CONFIG"] = str(settings.config_file)
        env.update(required)
        extravars = {
            "packer_build_name": ctx.build_name,
            "packer_builder_type": ctx.builder_type,
            "bake_build_name": ctx.build_name,
            "bake_build_id": ctx.build_id,
            **self.config.extra_vars,
        }
        arguments = resolve_extra_arguments(self.config.extra_arguments, self.project_dir)
        if ctx.check_mode:
            arguments += ["--check", "--diff"]
        cmdline = " ".join(shlex.quote(a) for a in arguments)
        if self.config.verbosity:
            cmdline = ("-" + "v" * min(self.config.verbosity, 4) + " " + cmdline).strip()
        pdd = _run_dir(ctx)
        pdd.mkdir(parents=True, exist_ok=True)
        # ansible-runner writes env/envvars, env/extravars and env/cmdline on a first run and
        # on later runs prefers those files to what it is given: an earlier bake's files would
        # run this one with its control path, build id and extra vars.
        shutil.rmtree(pdd / "env", ignore_errors=True)
        plan = RunPlan(pdd, self.playbook, inventory, extravars, env, cmdline)
        plan.overridden = overridden(settings, required)
        plan.settings = settings
        return plan

    def _write_inventory(self, ctx: BuildContext, plan: RunPlan) -> Path:
        """The inventory file, with the project's group_vars/ and host_vars/ linked beside it."""
        path = self._write_inventory_file(ctx, plan)
        sources = vars_dir_sources(plan.settings, self.project_dir)
        for link in link_vars_dirs(path.parent, sources):
            ctx.ui.message(f"Inventory variables: {link.name}/ from {link.readlink()}")
        return path

    def _write_inventory_file(self, ctx: BuildContext, plan: RunPlan) -> Path:
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
                host_alias=self.config.host_alias,
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
        plan = self.prepare_run(ctx)
        if plan.settings.config_file is not None:
            ctx.ui.message(f"Ansible settings from {plan.settings.config_file}")
        if plan.overridden:
            ctx.ui.say(
                "Note: bake's required Ansible settings win over "
                + ", ".join(plan.overridden)
            )
        if ctx.check_mode:
            ctx.ui.say("Running the playbook in check mode (--check --diff): nothing changes.")
        inventory_file = self._write_inventory(ctx, plan)
        try:
            self._run_playbook(ctx, plan, inventory_file, deadline)
            if self.config.idempotence and ctx.check_mode:
                ctx.ui.say("Skipping the idempotence check: check mode changes nothing.")
            elif self.config.idempotence:
                ctx.ui.say("Running the playbook a second time to check idempotence...")
                state = self._run_playbook(ctx, plan, inventory_file, deadline)
                if state.changed:
                    tasks = ", ".join(f"task '{t}' on host {h}" for t, h in state.changed)
                    raise StepError(
                        f"Idempotence check failed: playbook {plan.playbook.name} changed "
                        f"{len(state.changed)} task(s) on its second run: {tasks}",
                        hint="A second run must change nothing: use modules that check the "
                        "state, creates:/removes: on commands, or changed_when:.",
                    )
                ctx.ui.say("Idempotence check passed: the second run changed nothing.")
        finally:
            unlink_vars_dirs(inventory_file.parent)
            if not self.config.keep_inventory_file:
                inventory_file.unlink(missing_ok=True)
            scrub_secrets(plan.private_data_dir, ctx)

    def _run_playbook(
        self, ctx: BuildContext, plan: RunPlan, inventory_file: Path, deadline: float | None
    ) -> _EventState:
        """One ansible-playbook run; raise naming the failed tasks, return what it changed."""
        import ansible_runner  # heavy: imported only when a playbook runs

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
            for line in _render_event(event, state):
                ctx.ui.message(line)
            return True

        timed_out = False

        def cancel() -> bool:
            nonlocal timed_out
            if deadline is not None and time.monotonic() > deadline:
                timed_out = True
                return True
            return ctx.cancelled

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
                # Unique per run: two bakes share an output dir, idempotence runs twice.
                ident=f"{int(time.time())}-{ctx.build_id[:8]}-{uuid.uuid4().hex[:4]}",
                rotate_artifacts=5,
            )
        finally:
            # The ControlMaster outlives ansible-playbook by ControlPersist; a cancelled run
            # may leave workers behind. Nothing of this run may outlive it.
            kill_build_processes(ctx.build_id)
            ctx.record_gone(rid)
        if result.status == "successful":
            return state
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


def _render_event(event: dict[str, Any], state: _EventState) -> list[str]:
    kind = event.get("event", "")
    data = event.get("event_data", {})
    if kind == "playbook_on_play_start":
        return [f"PLAY [{data.get('name') or data.get('play', '')}]"]
    if kind in ("playbook_on_task_start", "playbook_on_handler_task_start"):
        state.task = data.get("task", "")
        return []
    host = data.get("host", "")
    results = data.get("res", {}) if isinstance(data.get("res"), dict) else {}
    if kind == "runner_on_ok":
        status = "changed" if results.get("changed") else "ok"
        if results.get("changed"):
            state.changed.append((state.task, host))
        return [f"TASK [{state.task}] {status}: {host}", *render_diff(results.get("diff"))]
    if kind == "runner_on_skipped":
        return [f"TASK [{state.task}] skipping: {host}"]
    if kind in ("runner_on_failed", "runner_on_unreachable"):
        msg = str(results.get("msg") or results.get("stderr") or results.get("reason") or "")
        msg = " ".join(msg.split())[:500]
        if kind == "runner_on_failed" and data.get("ignore_errors"):
            return [f"TASK [{state.task}] failed (ignored): {host}: {msg}"]
        what = "unreachable" if kind == "runner_on_unreachable" else "failed"
        state.failures.append(f"task '{state.task}' {what} on host {host}: {msg}")
        return [f"TASK [{state.task}] {what.upper()}: {host}: {msg}"]
    if kind == "playbook_on_stats":
        parts = []
        for key in ("ok", "changed", "failures", "skipped", "dark"):
            count = sum(data.get(key, {}).values()) if isinstance(data.get(key), dict) else 0
            parts.append(f"{'unreachable' if key == 'dark' else key}={count}")
        return ["PLAY RECAP " + " ".join(parts)]
    return []


def render_diff(diff: object, limit: int = 40) -> list[str]:
    """A task's --diff result as indented unified-diff lines (at most ``limit``)."""
    items = diff if isinstance(diff, list) else [diff] if isinstance(diff, dict) else []
    lines: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("prepared"), str):
            lines += item["prepared"].splitlines()
            continue
        before, after = item.get("before", ""), item.get("after", "")
        if isinstance(before, dict) or isinstance(after, dict):
            before, after = yaml.safe_dump(before or {}), yaml.safe_dump(after or {})
        if not isinstance(before, str) or not isinstance(after, str) or before == after:
            continue
        lines += difflib.unified_diff(
            before.splitlines(), after.splitlines(),
            str(item.get("before_header", "before")), str(item.get("after_header", "after")),
            lineterm="",
        )  # fmt: skip
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more diff lines)"]
    return ["    " + line for line in lines]


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
