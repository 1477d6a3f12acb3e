"""The local builder's steps. Each journals what it creates before creating it."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bakeansible.builders.local import instance, network, pkgcache, rootfs, snapshot
from bakeansible.builders.local.config import LocalConfig
from bakeansible.communicators.agent import HINT as AGENT_HINT
from bakeansible.communicators.agent import agent_problem, agent_public_keys
from bakeansible.communicators.keys import generate_keypair
from bakeansible.errors import StepError, WaitTimeout
from bakeansible.paths import state_dir
from bakeansible.pipeline.context import Artifact, BuildContext, SshTarget
from bakeansible.pipeline.step import Outcome, Step
from bakeansible.procinfo import process_start_time


@dataclass
class LocalContext(BuildContext):
    """What a local build discovers: the source root, its network, workdir, container, image."""

    lower: Path | None = None
    network: network.NetworkHandle | None = None
    workdir: Path | None = None
    machine: str = ""
    address: str = ""
    key_path: Path | None = None
    public_key: str = ""
    nspawn: subprocess.Popen[bytes] | None = None
    init_pid: int | None = None
    image_path: Path | None = None
    package_cache: pkgcache.PackageCache | None = None

    @property
    def root(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "merged"


class StepRemoveExistingImage(Step[LocalContext]):
    """With -force, deletes an image of the same name in the output directory."""

    title = ""
    makes_artifact = True

    def __init__(self, image: Path) -> None:
        self.image = image

    def run(self, ctx: LocalContext) -> None:
        if ctx.force and self.image.exists():
            ctx.ui.say(f"Deleting existing image {self.image} because of -force...")
            self.image.unlink()
            snapshot.checksum_file(self.image).unlink(missing_ok=True)


class StepPrepareSource(Step[LocalContext]):
    """Makes the source root filesystem available (cached); writes ctx.lower."""

    def __init__(self, config: LocalConfig, project_dir: Path) -> None:
        self.config = config
        self.project_dir = project_dir
        self.title = f"Preparing source image {config.source}..."

    def run(self, ctx: LocalContext) -> None:
        source = self.config.source
        if rootfs.is_tarball(source):
            path = Path(source).expanduser()
            path = path if path.is_absolute() else self.project_dir / path
            ctx.lower = rootfs.ensure_tarball_rootfs(
                path, cancel=ctx.cancel_event, progress=ctx.ui.message, owner=ctx
            )
        else:
            ctx.lower = rootfs.ensure_base_rootfs(
                rootfs.parse_debian_source(source),
                self.config.extra_packages,
                mirror=self.config.mirror,
                cancel=ctx.cancel_event,
                progress=ctx.ui.message,
                say=ctx.ui.say,
                owner=ctx,
            )
        ctx.ui.message(f"Source root filesystem: {ctx.lower}")


class StepCreateNetwork(Step[LocalContext]):
    """Creates the build's own network namespace, veth pair and NAT (see ``network``); writes
    ctx.network and ctx.address (where sshd will listen). Cleanup removes them all."""

    title = "Creating the container's network..."

    def run(self, ctx: LocalContext) -> None:
        ctx.network = network.create_network(ctx)
        net = ctx.network.net
        ctx.address = net.address
        ctx.ui.message(f"Network namespace {net.netns}, address {net.address} via {net.gateway}")

    def cleanup(self, ctx: LocalContext, outcome: Outcome) -> None:
        if ctx.network is None:
            return
        for error in network.destroy_network(ctx.network, ctx):
            ctx.ui.error(error)


class StepServePackageCache(Step[LocalContext]):
    """Starts the build's package cache proxy on its network's gateway (see ``pkgcache``);
    writes ctx.package_cache. Cleanup stops it, says what it served and removes its partial
    downloads."""

    title = ""

    def run(self, ctx: LocalContext) -> None:
        assert ctx.network is not None
        partial = pkgcache.partial_dir(ctx.build_id)
        self.rid = ctx.record_intent("local.directory", path=str(partial))
        cache = pkgcache.PackageCache(ctx.network.net.gateway, pkgcache.store_dir(), partial)
        cache.start()
        ctx.package_cache = cache
        ctx.record_created(self.rid, str(partial))

    def cleanup(self, ctx: LocalContext, outcome: Outcome) -> None:
        cache = ctx.package_cache
        if cache is None:
            return
        cache.stop()
        ctx.package_cache = None
        ctx.ui.message(cache.stats.summary())
        ctx.record_gone(getattr(self, "rid", None))


class StepCreateWorkdir(Step[LocalContext]):
    """Creates the build's private directory (0700) in bake's state dir; writes ctx.workdir."""

    title = ""

    def run(self, ctx: LocalContext) -> None:
        path = state_dir() / "instances" / ctx.build_id
        self.rid = ctx.record_intent("local.directory", path=str(path))
        path.mkdir(parents=True, mode=0o700)
        ctx.workdir = path
        ctx.record_created(self.rid, str(path))

    def cleanup(self, ctx: LocalContext, outcome: Outcome) -> None:
        if ctx.workdir is not None:
            shutil.rmtree(ctx.workdir, ignore_errors=True)
            if ctx.workdir.exists():
                ctx.ui.error(f"Could not remove {ctx.workdir}; delete it manually.")
                return
        ctx.record_gone(getattr(self, "rid", None))


class StepCreateKeyPair(Step[LocalContext]):
    """Generates the temporary ed25519 key pair; writes ctx.key_path and ctx.public_key.

    With ``ssh_agent_auth`` nothing is generated: the agent's public keys become
    ``ctx.public_key`` (authorized in the container) and ``ctx.key_path`` stays None.
    """

    def __init__(self, agent: bool = False) -> None:
        self.agent = agent
        self.title = (
            "Using the keys of the ssh-agent..." if agent else "Creating temporary key pair..."
        )

    def run(self, ctx: LocalContext) -> None:
        assert ctx.workdir is not None
        if self.agent:
            keys = agent_public_keys(os.environ.get("SSH_AUTH_SOCK", ""))
            if not keys:
                raise StepError(f"ssh_agent_auth: {agent_problem()}.", hint=AGENT_HINT)
            ctx.public_key = "\n".join(keys)
            return
        key_dir = ctx.workdir / "ssh"
        self.rid = ctx.record_intent("local.file", path=str(key_dir / "id_ed25519"))
        ctx.key_path, ctx.public_key = generate_keypair(key_dir, f"bake-{ctx.build_id[:8]}")
        ctx.record_created(self.rid, str(ctx.key_path))
        ctx.masker.add(ctx.key_path.read_text())

    def cleanup(self, ctx: LocalContext, outcome: Outcome) -> None:
        if ctx.key_path is not None:
            ctx.ui.say("Deleting temporary key pair...")
            ctx.key_path.unlink(missing_ok=True)
        ctx.record_gone(getattr(self, "rid", None))


class StepMountRootfs(Step[LocalContext]):
    """Mounts the instance's copy-on-write root (overlay over the source) and prepares it."""

    title = "Creating copy-on-write root filesystem..."

    def __init__(self, config: LocalConfig) -> None:
        self.config = config

    def run(self, ctx: LocalContext) -> None:
        assert ctx.workdir is not None and ctx.lower is not None
        ctx.machine = f"bake-{ctx.build_id[:12]}"
        self.rid = ctx.record_intent("local.mount", path=str(ctx.root))
        instance.mount_overlay(ctx.lower, ctx.workdir / "upper", ctx.workdir / "work", ctx.root)
        ctx.record_created(self.rid, str(ctx.root))
        if not instance.has_user(ctx.root, self.config.ssh_username):
            raise StepError(
                f"ssh_username {self.config.ssh_username!r} does not exist in the source image "
                f"{self.config.source}.",
                hint="Create the user in the build that made the source image, or log in as root.",
            )
        instance.prepare_root(
            ctx.root,
            address=ctx.address,
            hostname=ctx.machine,
            authorized_key=ctx.public_key,
            user=self.config.ssh_username,
            apt_proxy=ctx.package_cache.url if ctx.package_cache else None,
        )

    def cleanup(self, ctx: LocalContext, outcome: Outcome) -> None:
        if ctx.workdir is None:
            return
        try:
            instance.unmount(ctx.root)
        except Exception as exc:
            ctx.ui.error(f"{exc}; unmount it manually (umount -l {ctx.root}).")
            return
        ctx.record_gone(getattr(self, "rid", None))


class StepBootContainer(Step[LocalContext]):
    """Boots the container (systemd as PID 1) in the build's network namespace, sshd on its
    address there."""

    title = "Starting container..."

    def __init__(self, config: LocalConfig) -> None:
        self.config = config

    def run(self, ctx: LocalContext) -> None:
        assert ctx.workdir is not None and ctx.network is not None
        self.rid = ctx.record_intent("local.container", machine=ctx.machine)
        ctx.nspawn = instance.boot(
            ctx.root, ctx.machine, ctx.workdir / "console.log", ctx.network.net.netns_path
        )
        pid = ctx.nspawn.pid
        ctx.record_created(
            self.rid, ctx.machine, nspawn_pid=pid, nspawn_start=process_start_time(pid)
        )
        ctx.init_pid = instance.find_container_init(pid)
        ctx.record_created(
            self.rid, init_pid=ctx.init_pid, init_start=process_start_time(ctx.init_pid)
        )
        ctx.ui.message(f"Container {ctx.machine} booting, address {ctx.address}")
        ctx.ssh = SshTarget(
            ctx.address,
            22,
            self.config.ssh_username,
            ctx.key_path,
            use_agent=self.config.ssh_agent_auth,
        )

    def cleanup(self, ctx: LocalContext, outcome: Outcome) -> None:
        if ctx.nspawn is not None:
            reason = {Outcome.SUCCESS: "", Outcome.FAILED: " because of error",
                      Outcome.CANCELLED: " because of cancellation"}[outcome]
            if ctx.nspawn.poll() is None:
                ctx.ui.say(f"Stopping container{reason}...")
            instance.poweroff(
                ctx.nspawn.pid, ctx.init_pid, self.config.shutdown_timeout, ctx.nspawn
            )
            ctx.nspawn = None
        instance.remove_propagation_dir(ctx.machine)
        ctx.record_gone(getattr(self, "rid", None))


class StepWaitBoot(Step[LocalContext]):
    """Waits until systemd in the container has finished booting (running or degraded);
    reads ``ctx.comm``."""

    title = "Waiting for the container to finish booting..."

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def run(self, ctx: LocalContext) -> None:
        comm = ctx.comm
        assert comm is not None
        lines: list[str] = []
        try:
            comm.run(
                "systemctl is-system-running --wait",
                on_line=lines.append,
                cancel=lambda: ctx.cancelled,
                timeout=self.timeout,
            )
        except WaitTimeout:
            raise WaitTimeout("systemd to finish booting", self.timeout, " ".join(lines)) from None
        state = (lines or ["unknown"])[-1].strip()
        if state == "degraded":
            failed: list[str] = []
            comm.run("systemctl --failed --no-legend --plain", on_line=failed.append)
            ctx.ui.message("systemd is degraded; failed units: " + "; ".join(failed))
        elif state != "running":
            raise StepError(f"The container did not boot: systemd state is {state!r}.")


class StepPowerOff(Step[LocalContext]):
    """Powers the container off cleanly (like Packer's force_poweroff) before the snapshot."""

    title = "Powering off the container..."

    def __init__(self, config: LocalConfig) -> None:
        self.config = config

    def run(self, ctx: LocalContext) -> None:
        assert ctx.nspawn is not None
        clean = instance.poweroff(
            ctx.nspawn.pid, ctx.init_pid, self.config.shutdown_timeout, ctx.nspawn
        )
        if not clean:
            ctx.ui.error("The container did not stop in time and was killed.")
        ctx.nspawn = None
        ctx.ssh = None  # nothing to log in to any more (-on-error=abort says how to)
        instance.remove_propagation_dir(ctx.machine)


class StepSnapshot(Step[LocalContext]):
    """Writes the root filesystem to <output_dir>/<image_name>.tar.zst and its .sha256."""

    makes_artifact = True

    def __init__(self, config: LocalConfig, image: Path) -> None:
        self.config = config
        self.image = image
        self.title = f"Creating image {image.name}..."

    def run(self, ctx: LocalContext) -> None:
        self.image.parent.mkdir(parents=True, exist_ok=True)
        # Each instance of the image gets its own machine id on first boot.
        machine_id = ctx.root / "etc/machine-id"
        if machine_id.exists():
            machine_id.write_text("")
        instance.forget_instance_files(ctx.root)
        self.rid = ctx.record_intent("local.file", path=str(self.image))
        partial = self.image.with_name(self.image.name + ".partial")
        self.partial_rid = ctx.record_intent("local.file", path=str(partial))
        checksum = snapshot.write_image(
            ctx.root,
            self.image,
            level=self.config.compression_level,
            remove_apt_lists=self.config.remove_apt_lists,
            cancel=ctx.cancel_event,
            owner=ctx,
            say=ctx.ui.say,
        )
        ctx.record_gone(self.partial_rid)
        ctx.record_created(self.rid, str(self.image))
        ctx.image_path = self.image
        size = self.image.stat().st_size
        ctx.ui.message(f"Image {self.image} ({size / 1e6:.1f} MB), sha256 {checksum}")
        ctx.artifact = Artifact(
            builder_type="local",
            artifact_id=str(self.image),
            description=f"Image {self.image} ({size / 1e6:.1f} MB, sha256:{checksum})",
            files=[self.image, snapshot.checksum_file(self.image)],
            checksum=checksum,
        )

    def cleanup(self, ctx: LocalContext, outcome: Outcome) -> None:
        if outcome is Outcome.SUCCESS:
            # The image is the product: it stays, and the journal stops tracking it.
            ctx.record_gone(getattr(self, "rid", None))
            return
        if ctx.image_path is not None and ctx.keep_image:
            ctx.ui.say(f"Keeping image {self.image} because {ctx.keep_image}.")
            ctx.record_gone(getattr(self, "rid", None))
            return
        if ctx.image_path is not None:
            ctx.ui.say(f"Deleting image {self.image} because the build did not succeed...")
            self.image.unlink(missing_ok=True)
            snapshot.checksum_file(self.image).unlink(missing_ok=True)
        self.image.with_name(self.image.name + ".partial").unlink(missing_ok=True)
        ctx.record_gone(getattr(self, "partial_rid", None))
        ctx.record_gone(getattr(self, "rid", None))
