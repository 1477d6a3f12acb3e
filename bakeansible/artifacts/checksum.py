"""The ``checksum`` post-processor: checksum files of a build's artifact files."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import ClassVar

from bakeansible.config.model import PostProcessorSpec
from bakeansible.config.postprocessors import ChecksumConfig
from bakeansible.pipeline.context import Artifact, BuildContext


class ChecksumPostProcessor:
    """The ``checksum`` post-processor: one checksum file per type, added to the artifact."""

    type_name: ClassVar[str] = "checksum"
    config_class: ClassVar[type[ChecksumConfig]] = ChecksumConfig

    def __init__(self, spec: PostProcessorSpec, project_dir: Path) -> None:
        self.spec = spec
        self.config = ChecksumConfig(**spec.options)
        self.project_dir = project_dir

    def post_process(self, ctx: BuildContext, artifact: Artifact, run_uuid: str) -> None:
        c = self.config
        files = [f for f in artifact.files if f.exists() and not f.name.endswith(".sha256")]
        written = write_checksums(
            files, tuple(c.checksum_types or ("md5",)),
            c.output or "{{.BuildName}}_{{.ChecksumType}}.checksum",
            ctx.build_name, ctx.builder_type, self.project_dir,
        )  # fmt: skip
        artifact.files.extend(written)


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file. Memoized on (path, size, mtime), so a large image or source
    tarball that several parts of a build need (extraction cache key, input fingerprint,
    checksum files) is read once."""
    st = path.stat()
    return _digest(str(path.resolve()), st.st_size, st.st_mtime_ns, algorithm)


@functools.lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int, algorithm: str) -> str:
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, algorithm).hexdigest()


def write_checksums(
    files: list[Path], types: tuple[str, ...], output_template: str, build_name: str,
    builder_type: str, base_dir: Path,
) -> list[Path]:
    """Write one file per checksum type, in ``sha256sum`` format; return the files written."""
    written = []
    for kind in types:
        name = (
            output_template.replace("{{.BuildName}}", build_name)
            .replace("{{.BuilderType}}", builder_type)
            .replace("{{.ChecksumType}}", kind)
        )
        out = Path(name) if Path(name).is_absolute() else base_dir / name
        lines = [f"{file_digest(f, kind)}  {f.name}\n" for f in files]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(lines))
        written.append(out)
    return written
