"""A local Tencent Cloud (cvm and vpc 2017-03-12) whose instances are real local containers.

See ``emulator.TencentEmulator`` for the Python API and ``bake emulator`` for the command.
"""

from bakeansible.testing.tcloud.catalog import DEBIAN_12_IMAGE_ID
from bakeansible.testing.tcloud.cloud import Delays
from bakeansible.testing.tcloud.emulator import (
    DEFAULT_SECRET_ID,
    DEFAULT_SECRET_KEY,
    TencentEmulator,
)
from bakeansible.testing.tcloud.faults import Faults
from bakeansible.testing.tcloud.signing import KeyPair

__all__ = [
    "DEBIAN_12_IMAGE_ID",
    "DEFAULT_SECRET_ID",
    "DEFAULT_SECRET_KEY",
    "Delays",
    "Faults",
    "KeyPair",
    "TencentEmulator",
]
