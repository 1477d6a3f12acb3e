"""What kind of instance a source names, and the options only a cloud image takes.

Kept apart from ``tencent.py`` (which loads the Tencent builder and its SDK) so that commands
on local instances never import the cloud's code.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from bakeansible.errors import BakeError

DEFAULT_TTL = "24h"


def is_tencent_source(source: str) -> bool:
    """Whether ``source`` names a Tencent Cloud image (``img-…``) rather than a local one."""
    return source.startswith("img-")


@dataclass(frozen=True)
class CloudOptions:
    """The options only a Tencent Cloud image takes; None: not given."""

    region: str | None = None
    zone: str | None = None
    instance_type: str | None = None
    ttl: str | None = None
    private_ip: bool = False

    def given(self) -> list[str]:
        """The options given, as spelt on the command line."""
        names = []
        for f in fields(self):
            if getattr(self, f.name) not in (None, False):
                names.append("--" + f.name.replace("_", "-"))
        return names


def refuse_cloud_options(options: CloudOptions, source: str) -> None:
    """A local source takes none of the cloud's options: say so rather than ignore them."""
    if given := options.given():
        raise BakeError(
            f"{', '.join(given)}: only for a Tencent Cloud image (img-…); {source} is a local "
            "source, booted as a container on this machine.",
            hint="Drop these options, or give a Tencent Cloud image id as the source.",
        )
