"""``bake instance up`` and ``down``: a builder's boot steps, kept after success.

``start_instance`` runs the local builder's ``boot_steps`` (a container), or the Tencent
builder's (a CVM, for an ``img-…`` source), through the pipeline runner, like a build, with
every step's cleanup held back on success: the container, its network, overlay and key (or the
CVM, its VPC, subnet, security group, key pair and private key) stay, journaled under a build
record that ends in state ``held`` (which ``bake cleanup`` leaves alone). A failure, a signal
or ``kill -9`` (then ``bake cleanup``) removes what was made, as for a build. ``stop_instance``
powers a held local instance off in order, then deletes its resources with the journal's
own deleters.
"""

from __future__ import annotations

import fcntl
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bakeansible.builders.local import resources as local_resources
from bakeansible.builders.local import rootfs
from bakeansible.builders.local.boot import boot_steps, check_boot
from bakeansible.builders.local.config import LocalConfig
from bakeansible.builders.local.steps import LocalContext
from bakeansible.errors import BakeError, BuildCancelled
from bakeansible.instances.record import (
    BUILDER_TYPE,
    InstanceInfo,
    check_name,
    find_held,
    info_path,
    live_records,
    save_info,
)
from bakeansible.instances.sources import (
    DEFAULT_TTL,
    CloudOptions,
    is_tencent_source,
    refuse_cloud_options,
)
from bakeansible.paths import state_dir
from bakeansible.pipeline.context import BuildContext, C, new_base_context
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.reaper import HELD, sweep
from bakeansible.pipeline.runner import run_steps
from bakeansible.pipeline.step import Outcome, Step
from bakeansible.secrets import Masker
from bakeansible.ui import Ui

if TYPE_CHECKING:
    from bakeansible.instances.tencent import CvmBoot

# How long `bake instance down` lets the container power off in order before killing it.
DEFAULT_SHUTDOWN_TIMEOUT = 30.0


class KeepOnSuccess(Step[BuildContext]):
    """Runs ``step``; undoes it only when bringing the instance up failed or was cancelled."""

    def __init__(self, step: Step[Any]) -> None:
        self.step = step
        self.title = step.title

    def run(self, ctx: BuildContext) -> None:
        self.step.run(ctx)

    def cleanup(self, ctx: BuildContext, outcome: Outcome) -> None:
        if outcome is not Outcome.SUCCESS:
            self.step.cleanup(ctx, outcome)


def resolve_source(source: str, project_dir: Path) -> str:
    """``debian:<suite>`` and ``img-…`` as they are, a tarball as an absolute path; refuse
    anything else."""
    if is_tencent_source(source):
        return source
    if rootfs.is_tarball(source):
        path = Path(source).expanduser()
        return str(path if path.is_absolute() else (project_dir / path).resolve())
    rootfs.parse_debian_source(source)
    return source


def default_name(source: str, build_id: str) -> str:
    stem = source.rsplit(":", 1)[-1] if not rootfs.is_tarball(source) else Path(source).name
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem.split(".tar")[0])
    return f"{stem[:40] or 'instance'}-{build_id[:6]}"


def start_instance(
    source: str,
    name: str | None,
    *,
    ui: Ui,
    cancel: threading.Event,
    journal: Journal | None = None,
    project_dir: Path | None = None,
    ssh_username: str = "root",
    cloud: CloudOptions | None = None,
    env: Mapping[str, str] | None = None,
) -> InstanceInfo:
    """Boot an instance from ``source`` (a local container, or a CVM of an ``img-…`` with the
    ``cloud`` options) and keep it; return how to reach it.

    Everything is checked before anything is created; raises BakeError (BuildCancelled when
    ``cancel`` is set), having removed what it made.
    """
    project = project_dir or Path.cwd()
    cloud = cloud or CloudOptions()
    source = resolve_source(source, project)
    if name is not None:
        check_name(name)
    boot: LocalBoot | CvmBoot
    if is_tencent_source(source):
        from bakeansible.instances.tencent import CvmBoot, cvm_config  # the SDK: only for CVMs

        config = cvm_config(
            source, cloud, ssh_username, command="bake instance up", env=env,
            default_ttl=DEFAULT_TTL,
        )  # fmt: skip
        boot = CvmBoot(config, name or source, project, env)
    else:
        refuse_cloud_options(cloud, source)
        local = LocalConfig(source=source, ssh_username=ssh_username)
        check_boot(local, project)
        boot = LocalBoot(local, project)
    journal = journal or Journal()  # opened (created) only once the input is known good
    build_id = uuid.uuid4().hex
    name = name or default_name(source, build_id)
    with _names_lock():
        if any(r.name == name for r in live_records(journal)):
            raise BakeError(
                f"An instance named {name!r} already exists.",
                hint=f"Choose another --name, or remove it first: bake instance down {name}",
            )
        journal.start_build(build_id, name, BUILDER_TYPE)

    def fresh(context_class: type[C]) -> C:
        return new_base_context(
            context_class, name or "", BUILDER_TYPE, build_id=build_id, ui=ui,
            cancel_event=cancel, journal=journal, masker=Masker(), project_dir=project,
        )  # fmt: skip

    state = "failed"
    booted = False
    ctx: BuildContext | None = None
    try:
        if isinstance(boot, LocalBoot):
            ctx = fresh(LocalContext)
            steps = boot.steps()
        else:
            ctx = cvm = boot.new_context(fresh(BuildContext), key_dir=info_path(build_id).parent)
            steps = boot.steps(cvm)
        run_steps([KeepOnSuccess(s) for s in steps], ctx)
        booted = True
        info = boot.info(ctx, name, source)
        save_info(info)
        state = HELD
        return info
    except BuildCancelled:
        state = "cancelled"
        raise
    finally:
        if ctx is not None:
            if ctx.comm is not None:
                ctx.comm.close()
                ctx.comm = None
            ctx.remove_temp_dir()
        if booted and state != HELD:
            # Failed after the steps kept everything (writing the info file): remove it all.
            sweep(journal, build_id=build_id, include_alive=True)
        journal.finish_build(build_id, state)


class LocalBoot:
    """Boots a local container: the local builder's boot steps."""

    def __init__(self, config: LocalConfig, project_dir: Path) -> None:
        self.config = config
        self.project_dir = project_dir

    def steps(self) -> list[Step[Any]]:
        return boot_steps(self.config, self.project_dir)

    @staticmethod
    def info(ctx: BuildContext, name: str, source: str) -> InstanceInfo:
        assert isinstance(ctx, LocalContext)
        return InstanceInfo.reached(ctx, name, source, ctx.key_path, machine=ctx.machine)


def stop_instance(
    journal: Journal,
    name: str,
    *,
    shutdown_timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT,
    say: Callable[[str], None] = lambda _message: None,
) -> list[str]:
    """Remove the held instance ``name`` and everything it holds; return what could not be
    removed (each with its reason); once all is gone the record's state is ``removed``.

    The container is first powered off in order, waiting up to ``shutdown_timeout`` seconds,
    then killed if still running (at once when ``shutdown_timeout`` is None); ``say`` hears
    about both."""
    record = find_held(journal, name)
    if shutdown_timeout is not None:
        for res in journal.open_resources(record.build_id):
            if res.kind != "local.container":
                continue
            announce = partial(say, f"Shutting down {name}...")
            if not local_resources.shut_down_container(res, shutdown_timeout, announce):
                say(f"{name} did not stop in {shutdown_timeout:g}s; killing it")
    report = sweep(journal, build_id=record.build_id)
    return [f"{res.kind} {res.describe()}: {why}" for res, why in report.failed]


def held_names(journal: Journal) -> list[str]:
    return [r.name for r in live_records(journal) if r.state == HELD]


@contextmanager
def _names_lock() -> Iterator[None]:
    """Serialises the check that a name is free with recording the new instance."""
    path = state_dir() / "instances.lock"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield
