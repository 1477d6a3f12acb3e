"""The ``shell`` provisioner: inline commands and scripts, run over the build's SSH connection."""

from __future__ import annotations

import shlex
import time
import uuid
from pathlib import Path
from typing import ClassVar

from bakeansible.communicators.ssh import SshCommunicator
from bakeansible.config.model import ProvisionerSpec
from bakeansible.errors import BakeError, StepError
from bakeansible.pipeline.context import BuildContext
from bakeansible.provisioners.config import ShellConfig
from bakeansible.provisioners.inventory import render_references


class ShellProvisioner:
    """Uploads each script (inline commands become one script) and runs it, streaming output."""

    type_name: ClassVar[str] = "shell"
    config_class: ClassVar[type[ShellConfig]] = ShellConfig
    # A command cannot preview what it would change: check mode skips it.
    supports_check_mode: ClassVar[bool] = False

    def __init__(self, spec: ProvisionerSpec, project_dir: Path) -> None:
        self.spec = spec
        self.config: ShellConfig = spec.config
        self.project_dir = project_dir

    def _script_paths(self) -> list[Path]:
        names = ([self.config.script] if self.config.script else []) + list(self.config.scripts)
        return [p if p.is_absolute() else self.project_dir / p for p in map(Path, names)]

    def describe(self) -> str:
        if self.config.inline:
            return "Provisioning with shell script (inline)"
        return "Provisioning with shell script: " + ", ".join(
            str(p) for p in self._script_paths()
        )

    def validate(self) -> None:
        if not self.config.inline and not self._script_paths():
            raise BakeError("A shell provisioner needs one of inline, script or scripts.")
        for path in self._script_paths():
            if not path.is_file():
                raise BakeError(f"Shell provisioner script {path} does not exist.")
        for pair in self.config.environment_vars:
            if "=" not in pair:
                raise BakeError(
                    f"Shell provisioner environment_vars entry {pair!r} is not KEY=VALUE."
                )

    def prepare(self, ctx: BuildContext) -> None:
        """Nothing to fetch: scripts are read when they run."""

    def release(self, ctx: BuildContext) -> None:
        """Nothing to remove."""

    def _env_prefix(self, ctx: BuildContext) -> str:
        pairs = [
            ("PACKER_BUILD_NAME", ctx.build_name),
            ("PACKER_BUILDER_TYPE", ctx.builder_type),
        ]
        pairs += [tuple(p.split("=", 1)) for p in self.config.environment_vars]  # type: ignore[misc]
        return " ".join(f"{k}={shlex.quote(v)}" for k, v in pairs)

    def provision(self, ctx: BuildContext, comm: SshCommunicator, deadline: float | None) -> None:
        scripts: list[tuple[str, str]] = []
        if self.config.inline:
            body = "\n".join(self.config.inline) + "\n"
            scripts.append(("inline", f"#!{self.config.inline_shebang}\n{body}"))
        for path in self._script_paths():
            scripts.append((str(path), path.read_text()))
        for label, text in scripts:
            remote = f"{self.config.remote_folder}/bake-shell-{uuid.uuid4().hex[:8]}.sh"
            comm.upload_text(text, remote, 0o700)
            command = render_references(
                self.config.execute_command,
                {"Path": shlex.quote(remote), "Vars": self._env_prefix(ctx)},
            )
            remaining = max(1.0, deadline - time.monotonic()) if deadline else 0.0
            status = comm.run(
                f"{command}; rc=$?; rm -f {shlex.quote(remote)}; exit $rc",
                on_line=ctx.ui.message,
                cancel=lambda: ctx.cancelled,
                timeout=remaining,
            )
            if status != 0:
                raise StepError(
                    f"Shell provisioner script ({label}) exited with status {status}.",
                    hint="Its output is above; fix the command or script and run again.",
                )
