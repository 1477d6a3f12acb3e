"""Is an image an earlier local bake wrote still there, and does its sha256 still verify?"""

from __future__ import annotations

from pathlib import Path

from bakeansible.artifacts.checksum import file_digest
from bakeansible.builders.local.snapshot import checksum_file
from bakeansible.pipeline.context import Artifact
from bakeansible.pipeline.previous import ImageCheck, PreviousImage, Reason


def check_existing_image(image: PreviousImage) -> ImageCheck:
    """The artifact to reuse, or ``image-missing``/``checksum-mismatch``. Reads the whole file."""
    path = Path(image.artifact_id)
    if not path.is_file():
        return ImageCheck(problem=Reason("image-missing", str(path)))
    digest = file_digest(path)
    if image.checksum and image.checksum != f"sha256:{digest}":
        return ImageCheck(
            problem=Reason(
                "checksum-mismatch", f"{path} is sha256:{digest}, {image.checksum} was recorded"
            )
        )
    size = path.stat().st_size
    files = [path]
    if checksum_file(path).is_file():
        files.append(checksum_file(path))
    return ImageCheck(
        Artifact(
            builder_type="local",
            artifact_id=str(path),
            description=f"Image {path} ({size / 1e6:.1f} MB, sha256:{digest})",
            files=files,
            checksum=digest,
        )
    )
