"""``TencentEmulator``: a local Tencent Cloud (cvm + vpc 2017-03-12) that SDK clients can use.

Point a client at it by endpoint only::

    emu = TencentEmulator()
    emu.start()
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=emu.host, protocol="http"))
    client = cvm_client.CvmClient(Credential(emu.secret_id, emu.secret_key), "ap-guangzhou",
                                  profile)

or give the endpoint with its scheme (``emu.endpoint``, ``http://127.0.0.1:PORT``) to clients
that only take a URL (tccli ``--endpoint``, bake's ``cvm_endpoint``/``vpc_endpoint``). One
endpoint serves both services: requests are routed on the service of the signature's credential
scope, which the SDK takes from the client class, never from the host name.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bakeansible.procinfo import process_running
from bakeansible.testing.tcloud.cloud import Cloud, Delays
from bakeansible.testing.tcloud.faults import Faults
from bakeansible.testing.tcloud.server import EmulatorServer
from bakeansible.testing.tcloud.signing import KeyPair

if TYPE_CHECKING:
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.cvm.v20170312.cvm_client import CvmClient
    from tencentcloud.vpc.v20170312.vpc_client import VpcClient

log = logging.getLogger(__name__)

DEFAULT_SECRET_ID = "AKIDEMULATOR0000000000000000000000"
DEFAULT_SECRET_KEY = "emulator-secret-key-0000000000000"
DEFAULT_ACCOUNT_ID = "100000000001"


class TencentEmulator:
    """A started-on-demand emulator; ``close()`` destroys every container and temp file.

    ``secret_id``/``secret_key`` is the key pair it accepts (``extra_keys`` adds more, with a
    session token if wanted). ``data_dir`` is the parent of the emulator's own fresh
    directory (instances, image layers), which ``close()`` deletes. ``delays`` sets the state
    machines' timing. ``port`` 0 picks a free port. ``image_roots`` maps public image ids to
    root filesystems to boot them from (the Debian 12 image uses the cached Debian base).
    """

    def __init__(
        self,
        secret_id: str = DEFAULT_SECRET_ID,
        secret_key: str = DEFAULT_SECRET_KEY,
        *,
        extra_keys: list[KeyPair] | None = None,
        data_dir: Path | None = None,
        delays: Delays | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        account_id: str = DEFAULT_ACCOUNT_ID,
        image_roots: dict[str, Path] | None = None,
    ) -> None:
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.keys = {k.secret_id: k for k in [KeyPair(secret_id, secret_key), *(extra_keys or [])]}
        # Always a fresh directory of our own (inside ``data_dir`` when given), because close()
        # deletes it whole.
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = Path(tempfile.mkdtemp(prefix="bake-tcloud-", dir=data_dir))
        self.faults = Faults()
        self.cloud = Cloud(
            data_dir=self.data_dir,
            delays=delays or Delays(),
            faults=self.faults,
            account_id=account_id,
            image_roots=image_roots or {},
            keys=self.keys,
        )
        self._bind = (host, port)
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._left: list[str] = []

    # Lifecycle ----------------------------------------------------------------------------

    def start(self) -> TencentEmulator:
        self._server = EmulatorServer(self._bind, self.cloud)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one interval
            name="tcloud-emulator",
            daemon=True,
        )
        self._thread.start()
        log.info("Tencent Cloud emulator listening on %s", self.endpoint)
        return self

    def close(self) -> None:
        """Stop serving, wait for state machines, destroy containers, remove the data dir."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        pids = self._container_pids()
        self.cloud.close()  # never raises: what it could not remove shows in leftovers()
        self._left = [f"container process {pid}" for pid in pids if process_running(pid)]
        prefix = str(self.data_dir.resolve()) + "/"
        with Path("/proc/self/mounts").open() as fh:
            mounts = [line.split()[1] for line in fh if line.split()[1].startswith(prefix)]
        self._left += [f"mount {point}" for point in mounts]
        if self.data_dir.exists():
            self._left.append(f"directory {self.data_dir}")

    def leftovers(self) -> list[str]:
        """After ``close()``: what it could not remove (container processes, mounts, files)."""
        return list(self._left)

    def _container_pids(self) -> list[int]:
        with self.cloud.lock:
            containers = [
                inst.container
                for region in self.cloud.regions.values()
                for inst in region.instances.values()
                if inst.container is not None
            ]
        return [pid for c in containers for pid in (c.init_pid, c.proc.pid if c.proc else None)
                if pid]  # fmt: skip

    def __enter__(self) -> TencentEmulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Addresses ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the emulator first"
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: for ``HttpProfile(endpoint=..., protocol="http")``."""
        return f"{self._bind[0]}:{self.port}"

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: for clients that take a URL (cvm_endpoint, tccli)."""
        return f"http://{self.host}"

    # SDK clients --------------------------------------------------------------------------

    def client_profile(
        self, *, req_method: str = "POST", sign_method: str = "TC3-HMAC-SHA256"
    ) -> ClientProfile:
        """A tencentcloud-sdk-python ``ClientProfile`` pointing at this emulator."""
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile

        http = HttpProfile(endpoint=self.host, protocol="http", reqMethod=req_method)
        return ClientProfile(signMethod=sign_method, httpProfile=http, language="en-US")

    def credential(self) -> Credential:
        from tencentcloud.common.credential import Credential

        return Credential(self.secret_id, self.secret_key)

    def cvm_client(self, region: str = "ap-guangzhou", **profile: str) -> CvmClient:
        """A ``CvmClient`` for ``region``; ``profile`` goes to ``client_profile``."""
        from tencentcloud.cvm.v20170312.cvm_client import CvmClient

        return CvmClient(self.credential(), region, self.client_profile(**profile))

    def vpc_client(self, region: str = "ap-guangzhou", **profile: str) -> VpcClient:
        """A ``VpcClient`` for ``region``; ``profile`` goes to ``client_profile``."""
        from tencentcloud.vpc.v20170312.vpc_client import VpcClient

        return VpcClient(self.credential(), region, self.client_profile(**profile))

    # Views --------------------------------------------------------------------------------

    def live_resources(self) -> dict[str, dict[str, list[str]]]:
        """Regions with resources a client created and did not delete ({} when clean)."""
        return self.cloud.live_resources()

    @property
    def call_counts(self) -> dict[str, int]:
        with self.cloud.lock:
            return dict(self.cloud.call_counts)

    @property
    def total_calls(self) -> int:
        return sum(self.call_counts.values())

    def reset_call_counts(self) -> None:
        with self.cloud.lock:
            self.cloud.call_counts.clear()

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait until every pending state transition has finished."""
        self.cloud.wait_idle(timeout)

    def snapshot(self) -> dict[str, Any]:
        """Everything at once, for debugging."""
        return {
            "endpoint": self.endpoint,
            "resources": self.live_resources(),
            "calls": self.call_counts,
            "faults": self.faults.to_dict(),
        }


