"""Packer-compatible manifest: ``{"builds": [...], "last_run_uuid": ...}``, appended per run."""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import IO, Any, ClassVar

from bakeansible.config.model import PostProcessorSpec
from bakeansible.config.postprocessors import ManifestConfig
from bakeansible.errors import BakeError
from bakeansible.pipeline.context import Artifact, BuildContext


class ManifestPostProcessor:
    """The ``manifest`` post-processor: appends the build's record to a JSON manifest."""

    type_name: ClassVar[str] = "manifest"
    config_class: ClassVar[type[ManifestConfig]] = ManifestConfig

    def __init__(self, spec: PostProcessorSpec, project_dir: Path) -> None:
        self.spec = spec
        self.config = ManifestConfig(**spec.options)
        self.project_dir = project_dir

    def output_path(self) -> Path:
        """The manifest file this post-processor appends to."""
        out = Path(self.config.output or "packer-manifest.json")
        return out if out.is_absolute() else self.project_dir / out

    def post_process(self, ctx: BuildContext, artifact: Artifact, run_uuid: str) -> None:
        c = self.config
        out = self.output_path()
        entry = manifest_entry(
            ctx.build_name, artifact, run_uuid,
            strip_path=c.strip_path, strip_time=c.strip_time, custom_data=c.custom_data or {},
        )  # fmt: skip
        append_to_manifest(out, entry, run_uuid)
        ctx.ui.message(f"Manifest: {out}")


def check_manifest(path: Path) -> None:
    """Raise BakeError if the manifest at ``path`` exists but cannot be appended to (unreadable,
    not JSON, not a Packer manifest), so a build is refused before it starts rather than its
    record lost after it finished."""
    if not path.exists():
        return
    hint = f"Fix it, or move it aside (mv {path} {path}.old) and bake starts a new one."
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise BakeError(f"Manifest {path} cannot be read ({why}).", hint=hint) from None
    if not text.strip():
        return
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BakeError(
            f"Manifest {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}).",
            hint=hint,
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("builds", []), list):
        raise BakeError(
            f'Manifest {path} is not a Packer manifest ({{"builds": [...]}} expected).',
            hint=hint,
        )


def manifest_entry(
    name: str,
    artifact: Artifact,
    run_uuid: str,
    *,
    strip_path: bool = False,
    strip_time: bool = False,
    custom_data: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One build's record, with Packer's field names (plus bake's checksum)."""
    entry: dict[str, Any] = {
        "name": name,
        "builder_type": artifact.builder_type,
        "build_time": int(time.time()),
        "files": [
            {"name": f.name if strip_path else str(f), "size": f.stat().st_size}
            for f in artifact.files
            if f.exists()
        ],
        "artifact_id": artifact.artifact_id,
        "packer_run_uuid": run_uuid,
        "custom_data": dict(custom_data or {}),
    }
    if strip_time:
        del entry["build_time"]
    if artifact.checksum:
        entry["checksum"] = f"sha256:{artifact.checksum}"
    entry.update({k: v for k, v in artifact.extra.items() if k not in entry})
    return entry


def append_to_manifest(path: Path, entry: dict[str, Any], run_uuid: str) -> None:
    """Add ``entry`` to the manifest at ``path`` (created if missing); safe across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path) as fh:
        fh.seek(0)
        text = fh.read()
        try:
            doc = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            # Keep what was there for the user to look at; never lose a manifest silently.
            path.with_name(f"{path.name}.corrupt-{int(time.time())}").write_text(text)
            doc = {}
        old = doc.get("builds") if isinstance(doc, dict) else None
        builds: list[Any] = old if isinstance(old, list) else []
        builds.append(entry)
        doc = {"builds": builds, "last_run_uuid": run_uuid}
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.replace(path)


def _locked(path: Path) -> IO[str]:
    """``path`` opened and exclusively locked.

    Writers replace the file (atomically), so the lock must be taken on the file that is at
    ``path`` *after* the wait: a writer that waited on the replaced inode would read a stale
    manifest and drop the entries written meanwhile.
    """
    while True:
        fh = path.open("a+")
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            held, current = os.fstat(fh.fileno()), path.stat()
        except FileNotFoundError:
            fh.close()
            continue
        if (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino):
            return fh
        fh.close()
