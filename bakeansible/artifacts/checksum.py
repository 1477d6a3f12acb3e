"""The ``checksum`` post-processor: checksum files of a build's artifact files."""

from __future__ import annotations

import hashlib
from pathlib import Path


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
        lines = []
        for f in files:
            digest = hashlib.new(kind)
            with f.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            lines.append(f"{digest.hexdigest()}  {f.name}\n")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(lines))
        written.append(out)
    return written
