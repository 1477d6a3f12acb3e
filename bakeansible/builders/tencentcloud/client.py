"""A thin layer over tencentcloud-sdk-python: retries, cancellation, logging, call counting.

Every call goes through ``TencentClient.call``: the request is built from a dict into the SDK's
typed model (``models.<Action>Request``), sent by the official ``CvmClient``/``VpcClient``, and
retried with exponential backoff and jitter on the codes Packer's builder retried (throttling,
internal errors, resources in use or busy, operations in progress, network errors), bounded in
attempts and time. A cancelled build stops waiting at once, except in cleanups, which must finish.
Each call is logged at debug level with its action and RequestId, never with credentials.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from bakeansible.builders.tencentcloud.credentials import AccessSettings, Credentials
from bakeansible.builders.tencentcloud.pacing import CATALOG, CATALOG_ACTIONS, PACER
from bakeansible.errors import BuildCancelled, StepError

log = logging.getLogger(__name__)

# The SDK logs whole requests and responses at debug level: the SecretId, the X-TC-Token and
# CreateKeyPair's PrivateKey would end up in bake's debug log. Bake logs each call itself.
_sdk_log = logging.getLogger("tencentcloud_sdk_common")
_sdk_log.setLevel(logging.WARNING)
_sdk_log.propagate = False

RETRYABLE_CODES = frozenset(
    {
        "ClientNetworkError",  # Python SDK: connection refused/reset, timeout
        "ServerNetworkError",  # Python SDK: a non-200 answer (gateway fault)
        "ClientError.NetworkError",
        "ClientError.HttpStatusCodeError",
        "InvalidKeyPair.NotSupported",
        "InvalidParameterValue.KeyPairNotSupported",
        "InvalidInstance.NotSupported",
        "OperationDenied.InstanceOperationInProgress",
        "UnsupportedOperation.InstanceStatePending",
        "UnsupportedOperation.InstanceStateStopping",
        "UnsupportedOperation.InstanceStateStarting",
    }
)
RETRYABLE_FRAGMENTS = ("RequestLimitExceeded", "InternalError", "ResourceInUse", "ResourceBusy")

# Codes that mean "this resource does not exist": a delete that meets one has nothing to do.
NOT_FOUND_FRAGMENTS = ("NotFound", "NotExist")
NOT_FOUND_CODES = frozenset({"InvalidInstanceId.NotFound", "InvalidImageId.NotFound"})


NETWORK_CODES = frozenset(
    {"ClientNetworkError", "ServerNetworkError", "ClientError.NetworkError", "KeyError"}
)
#: A network error is retried only this often: a wrong endpoint should fail in seconds.
NETWORK_ATTEMPTS = 5
_PERMANENT_NETWORK = ("SSLError", "WRONG_VERSION_NUMBER", "CERTIFICATE_VERIFY_FAILED", "InvalidURL")


def is_retryable(code: str, message: str = "") -> bool:
    """Whether an API error is worth another try (Packer's codes, plus pending states).

    A TLS failure or a malformed URL is a configuration problem and is not retried.
    """
    if code in ("ClientNetworkError", "ClientError.NetworkError") and any(
        p in message for p in _PERMANENT_NETWORK
    ):
        return False
    return code in RETRYABLE_CODES or any(f in code for f in RETRYABLE_FRAGMENTS)


def is_not_found(code: str) -> bool:
    return code in NOT_FOUND_CODES or any(f in code for f in NOT_FOUND_FRAGMENTS)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by attempts and by elapsed time."""

    max_attempts: int = 30
    base_delay: float = 1.0
    max_delay: float = 15.0
    max_elapsed: float = 300.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based): half fixed, half random."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        jitter: float = (rng or random).uniform(0, ceiling / 2)
        return ceiling / 2 + jitter


class TencentApiError(StepError):
    """An API call failed for good: carries the action, code, message and RequestId."""

    def __init__(
        self,
        action: str,
        code: str,
        message: str,
        request_id: str | None,
        attempts: int = 1,
        uncertain: bool = False,
    ) -> None:
        self.action = action
        #: True if some attempt got no answer: a create call may have taken effect anyway.
        self.uncertain = uncertain
        self.code = code
        self.api_message = message
        self.request_id = request_id
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        rid = f" (RequestId {request_id})" if request_id else ""
        super().__init__(f"{action} failed{tries}: {code}: {message}{rid}", _hint(code))


class CallCancelled(BuildCancelled):
    """The build was cancelled before (another attempt of) a call was sent.

    ``uncertain`` is True if an earlier attempt got no answer: a create call may have taken
    effect anyway. Otherwise the cloud never acted on the call.
    """

    def __init__(self, uncertain: bool) -> None:
        super().__init__("interrupted")
        self.uncertain = uncertain


def _hint(code: str) -> str | None:
    if code.startswith("AuthFailure"):
        return "Check secret_id/secret_key (or TENCENTCLOUD_SECRET_ID/_KEY, or the profile)."
    if "RequestLimitExceeded" in code:
        return "The API kept throttling; retry later or raise api_retry_timeout."
    if code in ("ClientNetworkError", "ServerNetworkError"):
        return "Check the network and the endpoint (endpoint/cvm_endpoint/vpc_endpoint)."
    if code.startswith(("ResourceInsufficient", "ResourcesSoldOut")):
        return "Try another zone or instance_type."
    return None


def split_endpoint(value: str) -> tuple[str | None, str]:
    """``http://h:8080`` -> (``"http"``, ``"h:8080"``); a bare ``host[:port]`` -> (None, it)."""
    if "://" in value:
        parts = urlsplit(value)
        return parts.scheme, parts.netloc
    return None, value.rstrip("/")


_SERVICES = {
    "cvm": ("tencentcloud.cvm.v20170312", "cvm_client", "CvmClient"),
    "vpc": ("tencentcloud.vpc.v20170312", "vpc_client", "VpcClient"),
    "sts": ("tencentcloud.sts.v20180813", "sts_client", "StsClient"),
}


def _sdk_module(service: str, name: str) -> Any:
    import importlib

    package = _SERVICES[service][0]
    return importlib.import_module(f"{package}.{name}")


class TencentClient:
    """cvm and vpc clients for one region, sharing credentials, retry policy and call counter."""

    def __init__(
        self,
        access: AccessSettings,
        creds: Credentials,
        *,
        policy: RetryPolicy | None = None,
        cancel_event: threading.Event | None = None,
        calls: Counter[str] | None = None,
        req_timeout: int = 60,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.access = access
        self.region = access.region
        self._creds = creds
        self.policy = policy or RetryPolicy()
        self.cancel_event = cancel_event
        self.calls: Counter[str] = calls if calls is not None else Counter()
        self._req_timeout = req_timeout
        self._sleep = sleep
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._rng = random.Random()

    def for_region(self, region: str) -> TencentClient:
        """The same account and endpoints in another region (image copies)."""
        return TencentClient(
            self.access.in_region(region),
            self._creds,
            policy=self.policy,
            cancel_event=self.cancel_event,
            calls=self.calls,
            req_timeout=self._req_timeout,
            sleep=self._sleep,
        )

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def credentials(self) -> Credentials:
        """The credentials calls are signed with (for a child process that calls the API too)."""
        return self._creds

    # -- calls ----------------------------------------------------------------------------
    def cvm(self, action: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.call("cvm", action, params or {}, **kw)

    def vpc(self, action: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.call("vpc", action, params or {}, **kw)

    def call(
        self,
        service: str,
        action: str,
        params: dict[str, Any],
        *,
        cancellable: bool = True,
        retry: bool = True,
    ) -> Any:
        """Send one action with retries; returns the SDK's typed response model.

        Raises TencentApiError when the code is not retryable or the retries are exhausted,
        CallCancelled (a BuildCancelled) when the build is cancelled before an attempt or while
        waiting to retry (only if ``cancellable``).
        """
        sdk = self._client(service)
        models = _sdk_module(service, "models")
        request = getattr(models, f"{action}Request")()
        request._deserialize(params)
        started = time.monotonic()
        attempt = 0
        waited = 0.0
        uncertain = False
        while True:
            if cancellable and self.cancel_event is not None and self.cancel_event.is_set():
                raise CallCancelled(uncertain)
            pause = PACER.reserve((self._endpoint(service), self._creds.secret_id, action))
            if pause > 0:
                try:
                    self.wait(pause, cancellable)
                except BuildCancelled:
                    raise CallCancelled(uncertain) from None
            attempt += 1
            self.calls[action] += 1
            try:
                response = getattr(sdk, action)(request)
            except TencentCloudSDKException as exc:
                code = exc.get_code() or "Unknown"
                uncertain = uncertain or code in NETWORK_CODES
                rid = exc.get_request_id()
                message = str(exc.get_message())[:500]
                delay = self.policy.delay(attempt, self._rng)
                elapsed = max(time.monotonic() - started, waited)
                limit = self.policy.max_attempts
                if code in ("ClientNetworkError", "ServerNetworkError"):
                    limit = min(limit, NETWORK_ATTEMPTS)
                if (
                    retry
                    and is_retryable(code, message)
                    and attempt < limit
                    and elapsed + delay <= self.policy.max_elapsed
                ):
                    log.debug(
                        "%s %s: %s (RequestId %s); retry %d in %.1fs",
                        service, action, code, rid, attempt, delay,
                    )  # fmt: skip
                    try:
                        self.wait(delay, cancellable)
                    except BuildCancelled:
                        raise CallCancelled(uncertain) from None
                    waited += delay
                    continue
                log.debug("%s %s failed: %s (RequestId %s)", service, action, code, rid)
                raise TencentApiError(action, code, message, rid, attempt, uncertain) from None
            log.debug("%s %s [%s] RequestId %s", service, action, self.region, response.RequestId)
            return response

    def catalog(self, action: str, params: dict[str, Any] | None = None) -> Any:
        """A cvm lookup of the region's catalog (zones, instance types), asked once per bake
        process, region and account and shared by its builds (``pacing.Catalog``)."""
        assert action in CATALOG_ACTIONS, f"{action} is not a catalog lookup"
        key = ("cvm", action, self._endpoint("cvm"), self.region, self._creds.secret_id)
        return CATALOG.get(key, params or {}, lambda: self.cvm(action, params))

    def wait(self, seconds: float, cancellable: bool = True) -> None:
        """Sleep between calls; with ``cancellable``, wake up and raise when the build stops."""
        if cancellable and self.cancel_event is not None:
            if self.cancel_event.wait(seconds):
                raise BuildCancelled("interrupted")
        else:
            self._sleep(seconds)

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._make(service)
            return self._clients[service]

    def _endpoint(self, service: str) -> str:
        return {"cvm": self.access.cvm_endpoint, "vpc": self.access.vpc_endpoint}.get(
            service, self.access.cvm_endpoint if service == "sts" else ""
        )

    def _make(self, service: str) -> Any:
        package, module, cls = _SERVICES[service]
        endpoint = self._endpoint(service)
        scheme, host = split_endpoint(endpoint) if endpoint else (None, None)
        # keepAlive: one TCP connection per client instead of one per call.
        http = HttpProfile(
            protocol=scheme, endpoint=host, reqTimeout=self._req_timeout, keepAlive=True
        )
        profile = ClientProfile(httpProfile=http, language="en-US")
        cred = credential.Credential(
            self._creds.secret_id, self._creds.secret_key, self._creds.token
        )
        return getattr(_sdk_module(service, module), cls)(cred, self.region, profile)


def assume_role(
    client: TencentClient, role_arn: str, session_name: str, duration: int
) -> Credentials:
    """STS AssumeRole: temporary credentials (uses the custom endpoint too, unlike Packer)."""
    resp = client.call(
        "sts",
        "AssumeRole",
        {"RoleArn": role_arn, "RoleSessionName": session_name, "DurationSeconds": duration or 7200},
    )
    c = resp.Credentials
    return Credentials(c.TmpSecretId, c.TmpSecretKey, c.Token, source="assume_role")


def paginate(
    client: TencentClient,
    service: str,
    action: str,
    params: dict[str, Any],
    set_field: str,
    *,
    limit: int = 100,
    cancellable: bool = True,
) -> list[Any]:
    """Every item of a Describe* action, page by page (vpc wants Offset/Limit as strings)."""
    items: list[Any] = []
    offset = 0
    as_str = service == "vpc"
    while True:
        page = {**params, "Offset": str(offset) if as_str else offset}
        page["Limit"] = str(limit) if as_str else limit
        resp = client.call(service, action, page, cancellable=cancellable)
        batch = list(getattr(resp, set_field) or [])
        items.extend(batch)
        total = resp.TotalCount or 0
        offset += len(batch)
        if not batch or offset >= total:
            return items
