"""The one mutable object of a build: what the build discovers while it runs.

User intent lives in frozen config dataclasses; ids, addresses and paths found while building live
here. Builders subclass ``BuildContext`` to add their own typed fields.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bakeansible.errors import BuildCancelled
from bakeansible.pipeline.onerror import OnError
from bakeansible.secrets import Masker
from bakeansible.ui import RecordingUi, Ui

if TYPE_CHECKING:
    from bakeansible.communicators.ssh import SshCommunicator
    from bakeansible.pipeline.inventory import InventorySource
    from bakeansible.pipeline.journal import Journal
    from bakeansible.pipeline.onerror import AskCallback


@dataclass
class SshTarget:
    """How to reach the instance over SSH."""

    host: str
    port: int
    user: str
    private_key_path: Path | None = None
    password: str | None = None
    # ssh_agent_auth: log in with the keys of SSH_AUTH_SOCK (no key file is passed).
    use_agent: bool = False


@dataclass
class Artifact:
    """What a build produced."""

    builder_type: str
    artifact_id: str
    description: str
    files: list[Path] = field(default_factory=list)
    checksum: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class BuildContext:
    """Shared state of one build, passed to every step."""

    build_id: str
    build_name: str
    builder_type: str
    ui: Ui = field(default_factory=RecordingUi)
    cancel_event: threading.Event = field(default_factory=threading.Event)
    journal: Journal | None = None
    masker: Masker = field(default_factory=Masker)
    output_dir: Path = Path("output")
    force: bool = False
    # The build's input fingerprint, known before the first step (a cloud image is tagged with it).
    input_fingerprint: str = ""
    # bake build -check: playbooks run with --check --diff; steps that make the image are skipped.
    check_mode: bool = False
    project_dir: Path = field(default_factory=Path.cwd)
    started_at: float = field(default_factory=time.time)
    ssh: SshTarget | None = None
    # The live SSH connection: opened by StepConnectSsh, closed and cleared by its cleanup.
    comm: SshCommunicator | None = None
    # Set by a builder with its own inventory for Ansible; None: the static one from ``ssh``.
    inventory: InventorySource | None = None
    artifact: Artifact | None = None
    # How a failed step is handled (-on-error, and the prompt of ``ask``), set by the runner:
    # a phase running steps of its own (the test phase) follows it.
    on_error: OnError = OnError.CLEANUP
    ask: AskCallback | None = None
    # Set when -on-error=abort (or the ask answer "abort") kept everything for debugging.
    kept: bool = False
    # Why the image stays although the build failed (a failed test with on_test_failure:
    # keep); the image step's cleanup reads it. Empty: a failed build deletes its image.
    keep_image: str = ""
    _temp_dir: Path | None = None
    _temp_rid: int | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        """Raise BuildCancelled if the build was asked to stop."""
        if self.cancel_event.is_set():
            raise BuildCancelled("interrupted")

    # The resource journal: intent before creating, created with the id after, gone on delete.
    def record_intent(self, kind: str, **data: Any) -> int | None:
        return self.journal.intend(self.build_id, kind, **data) if self.journal else None

    def record_created(self, rid: int | None, ident: str | None = None, **data: Any) -> None:
        if self.journal is not None and rid is not None:
            self.journal.created(rid, ident, **data)

    def record_gone(self, rid: int | None) -> None:
        if self.journal is not None and rid is not None:
            self.journal.gone(rid)

    def temp_dir(self) -> Path:
        """The build's private directory (0700) for short-lived host files such as ssh control
        sockets: in $TMPDIR, created and journaled on first use, removed with the build."""
        if self._temp_dir is None:
            from bakeansible.pipeline.host import temp_dir_path

            path = temp_dir_path(self.build_id)
            self._temp_rid = self.record_intent("host.directory", path=str(path))
            path.mkdir(mode=0o700)
            self.record_created(self._temp_rid, str(path))
            self._temp_dir = path
        return self._temp_dir

    def remove_temp_dir(self) -> None:
        """Remove the build's temporary directory, if it made one."""
        if self._temp_dir is None:
            return
        shutil.rmtree(self._temp_dir, ignore_errors=True)
        if self._temp_dir.exists():
            self.ui.error(f"Could not remove {self._temp_dir}; delete it manually.")
            return
        self.record_gone(self._temp_rid)
        self._temp_dir = None

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up and raise at once when the build is cancelled."""
        if self.cancel_event.wait(seconds):
            raise BuildCancelled("interrupted")


C = TypeVar("C", bound=BuildContext)


def new_base_context(
    context_class: type[C],
    build_name: str,
    builder_type: str,
    *,
    ui: Ui,
    cancel_event: threading.Event,
    journal: Journal | None,
    masker: Masker,
    project_dir: Path,
    build_id: str | None = None,
    output_dir: Path | None = None,
    force: bool = False,
    check_mode: bool = False,
    input_fingerprint: str = "",
) -> C:
    """A fresh context for one run of steps (a build, a test instance, ``bake instance up``):
    a new build id unless given, nothing discovered yet; builders' own fields at their defaults.
    """
    return context_class(
        build_id=build_id or uuid.uuid4().hex,
        build_name=build_name,
        builder_type=builder_type,
        ui=ui,
        cancel_event=cancel_event,
        journal=journal,
        masker=masker,
        output_dir=output_dir if output_dir is not None else Path("output"),
        force=force,
        check_mode=check_mode,
        input_fingerprint=input_fingerprint,
        project_dir=project_dir,
    )
