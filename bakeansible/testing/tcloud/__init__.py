"""A local Tencent Cloud (cvm, vpc 2017-03-12; sts AssumeRole) whose instances are containers.

Python API (``emulator.TencentEmulator``)::

    with TencentEmulator() as emu:           # or emu = TencentEmulator().start(); emu.close()
        emu.endpoint                         # "http://127.0.0.1:PORT" (cvm_endpoint, tccli)
        emu.host                             # "127.0.0.1:PORT" (HttpProfile endpoint, http)
        emu.cvm_client("ap-guangzhou")       # SDK clients already pointed at it
        emu.faults.fail("RunInstances", code="InternalError", times=1)
        emu.faults.throttle(3); emu.faults.drop("DescribeImages"); emu.faults.delay(None, 0.5)
        emu.faults.fail_launch(); emu.faults.fail_image()
        emu.live_resources()                 # {} when nothing is left; else region -> kind -> ids
        emu.call_counts                      # {"RunInstances": 1, ...}

Clients must use the endpoint form above: the host and port of the emulator, with ``http``
either as the profile's protocol or as the endpoint's scheme. One endpoint serves every
service: routing uses the service in the signature's credential scope (the SDK takes it from
the client class, not from the host name), falling back to the action name for legacy
signatures. The region is the client's (``X-TC-Region``), and state is kept per region.

Public images are listed in every region; only Debian 12 (``DEBIAN_12_IMAGE_ID``,
``img-eb30mz89``) boots, on the cached Debian bookworm base root filesystem. The other public
images (e.g. the seed's CentOS ``img-9qabwvbn``) are listed for lookups, and RunInstances from
them fails with ``UnsupportedOperation.NotSupportInstanceImage`` unless a root filesystem is
given for them with ``TencentEmulator(image_roots={"img-...": Path(...)})``: booting a Debian
root under a CentOS name would only make ``yum`` fail later, far from the cause.

Instances are systemd-nspawn containers, each in its own network namespace (see
``bakeansible.builders.local.network``), with sshd on port 22 of the namespace's address,
reported as ``PublicIpAddresses[0]`` when a public IP is assigned (SSH works there). The
private address (from the subnet's CIDR) is bookkeeping only and is not reachable.
"""

from bakeansible.testing.tcloud.catalog import DEBIAN_12_IMAGE_ID
from bakeansible.testing.tcloud.cloud import SLOW_DELAYS, Delays
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
    "SLOW_DELAYS",
    "TencentEmulator",
]
