"""Options of the ``local`` builder."""

from __future__ import annotations

from dataclasses import dataclass

from bakeansible.config.fields import opt

DEFAULT_PACKAGES = ("systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "sudo")
SUITES = ("bookworm", "trixie")


@dataclass(frozen=True)
class LocalConfig:
    """A build on a local systemd-nspawn container, snapshotted to ``<image_name>.tar.zst``."""

    source: str = opt(
        "debian:bookworm",
        doc="debian:<suite> (bookworm, trixie), a path to a root filesystem tarball "
        "(.tar, .tar.zst, .tar.gz), e.g. an image bake produced earlier, or "
        "channel:CHANNEL/BUILD (an image of the registry).",
        aliases=("source_image",),
    )
    image_name: str = opt("bake-image", doc="Name of the produced image file (without .tar.zst).")
    output_dir: str = opt("output", doc="Directory that receives the image and manifest.")
    ssh_username: str = opt("root", doc="User Ansible and the shell provisioner log in as.")
    ssh_agent_auth: bool = opt(
        False,
        doc="Log in with the keys of the local ssh-agent (SSH_AUTH_SOCK), authorized in the "
        "container, instead of a temporary key pair.",
    )
    ssh_timeout: float = opt(120.0, doc="Seconds to wait for SSH to become available.")
    boot_timeout: float = opt(120.0, doc="Seconds to wait for systemd to finish booting.")
    shutdown_timeout: float = opt(60.0, doc="Seconds to wait for a clean power-off.")
    extra_packages: tuple[str, ...] = opt(
        factory=tuple, doc="More Debian packages to put in the cached base root filesystem."
    )
    mirror: str = opt("", doc="Debian mirror for the base (default: mmdebstrap's).")
    remove_apt_lists: bool = opt(True, doc="Leave /var/lib/apt/lists/* out of the image.")
    compression_level: int = opt(3, doc="zstd compression level (1-19).")
    max_build_time: float = opt(
        7200.0, doc="Seconds after which the whole build is cancelled and cleaned up."
    )

    def __post_init__(self) -> None:
        if not 1 <= self.compression_level <= 19:
            raise ValueError(f"compression_level must be 1-19, got {self.compression_level}")
        for name in ("ssh_timeout", "boot_timeout", "shutdown_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")
