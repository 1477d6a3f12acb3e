"""Options of the built-in post-processors, ``manifest`` and ``checksum`` (Packer's key names).

``PostProcessorSpec.options`` holds these fields as a plain dict once validated.
"""

from __future__ import annotations

from dataclasses import dataclass

from bakeansible.config.fields import opt

CHECKSUM_TYPES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


@dataclass(frozen=True)
class ManifestConfig:
    """Write a JSON manifest listing each build's artifacts."""

    output: str = opt("packer-manifest.json", doc="Manifest file, updated by every build.")
    strip_path: bool = opt(False, doc="Record file names without their directories.")
    strip_time: bool = opt(False, doc="Leave build_time out of the manifest.")
    custom_data: dict[str, str] = opt(factory=dict, doc="Extra key/values stored per build.")
    keep_input_artifact: bool | None = opt(None, doc="Accepted for Packer templates.")


@dataclass(frozen=True)
class ChecksumConfig:
    """Write checksums of each artifact file."""

    checksum_types: tuple[str, ...] = opt(("md5",), doc="Any of " + ", ".join(CHECKSUM_TYPES) + ".")
    output: str = opt(
        "packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum",
        doc="Checksum file; {{.BuildName}}, {{.BuilderType}}, {{.ChecksumType}} are replaced.",
    )
    keep_input_artifact: bool | None = opt(None, doc="Accepted for Packer templates.")

    def __post_init__(self) -> None:
        bad = [t for t in self.checksum_types if t not in CHECKSUM_TYPES]
        if bad:
            raise ValueError(
                f"unknown checksum type {', '.join(bad)}; use any of {', '.join(CHECKSUM_TYPES)}"
            )
