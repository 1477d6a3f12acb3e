"""The retry policy and the client's retry loop, with a scripted stand-in for the SDK client."""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from bakeansible.builders.tencentcloud.client import (
    CallCancelled,
    RetryPolicy,
    TencentApiError,
    TencentClient,
    is_not_found,
    is_retryable,
    paginate,
    split_endpoint,
)
from bakeansible.builders.tencentcloud.credentials import AccessSettings, Credentials
from bakeansible.errors import BuildCancelled


class Reply:
    def __init__(self, **fields: Any) -> None:
        self.RequestId = "req-ok"
        self.__dict__.update(fields)


class ScriptedSdk:
    """Answers each call with the next item: an exception code (str) or a Reply."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.requests: list[Any] = []

    def __getattr__(self, action: str) -> Any:
        def call(request: Any) -> Any:
            self.requests.append(request)
            item = self.script.pop(0)
            if isinstance(item, str):
                raise TencentCloudSDKException(item, f"{item} happened", "req-err")
            return item

        return call


def client_with(script: list[Any], **kw: Any) -> tuple[TencentClient, ScriptedSdk, list[float]]:
    slept: list[float] = []
    client = TencentClient(
        AccessSettings("ap-guangzhou", "http://127.0.0.1:1", "http://127.0.0.1:1"),
        Credentials("AKIDtest", "very-secret-key"),
        policy=kw.pop("policy", RetryPolicy(base_delay=0.01, max_delay=0.02)),
        sleep=slept.append,
        **kw,
    )
    sdk = ScriptedSdk(script)
    client._clients["cvm"] = sdk
    client._clients["vpc"] = sdk
    return client, sdk, slept


@pytest.mark.parametrize(
    "code",
    [
        "RequestLimitExceeded",
        "RequestLimitExceeded.UinLimitExceeded",
        "InternalError",
        "InternalError.TradeUnknownError",
        "ResourceInUse",
        "ResourceInUse.SecurityGroup",
        "ResourceBusy",
        "ClientNetworkError",
        "ServerNetworkError",
        "InvalidKeyPair.NotSupported",
        "OperationDenied.InstanceOperationInProgress",
    ],
)
def test_retryable_codes(code: str) -> None:
    assert is_retryable(code)


@pytest.mark.parametrize(
    "code", ["InvalidParameter", "AuthFailure.SignatureFailure", "InvalidImageId.NotFound"]
)
def test_not_retryable_codes(code: str) -> None:
    assert not is_retryable(code)


def test_not_found_codes() -> None:
    assert is_not_found("InvalidInstanceId.NotFound")
    assert is_not_found("ResourceNotFound")
    assert not is_not_found("ResourceInUse")


def test_backoff_grows_bounded_with_jitter() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(1)
    delays = [policy.delay(n, rng) for n in range(1, 9)]
    for n, d in enumerate(delays, start=1):
        ceiling = min(8.0, 2 ** (n - 1))
        assert ceiling / 2 <= d <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered


def test_retries_then_succeeds_and_counts_calls(caplog: pytest.LogCaptureFixture) -> None:
    client, sdk, slept = client_with(["RequestLimitExceeded", "InternalError", Reply(X=1)])
    with caplog.at_level(logging.DEBUG, logger="bakeansible"):
        resp = client.cvm("DescribeZones")
    assert resp.X == 1
    assert len(slept) == 2 and slept[0] <= slept[1] * 2
    assert client.calls["DescribeZones"] == 3 and client.total_calls == 3
    assert "req-err" in caplog.text and "req-ok" in caplog.text
    assert "very-secret-key" not in caplog.text and "AKIDtest" not in caplog.text


def test_non_retryable_fails_at_once_with_request_id() -> None:
    client, _, slept = client_with(["InvalidParameterValue"])
    with pytest.raises(TencentApiError) as err:
        client.cvm("DescribeZones")
    assert err.value.code == "InvalidParameterValue" and err.value.request_id == "req-err"
    assert "req-err" in str(err.value) and not slept


def test_retries_are_bounded_by_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01)
    client, _, slept = client_with(["ResourceInUse"] * 5, policy=policy)
    with pytest.raises(TencentApiError) as err:
        client.vpc("DeleteVpc", {"VpcId": "vpc-1"})
    assert "after 3 attempts" in str(err.value) and len(slept) == 2


def test_retries_are_bounded_by_time() -> None:
    policy = RetryPolicy(max_attempts=100, base_delay=10, max_delay=10, max_elapsed=12)
    client, _, slept = client_with(["InternalError"] * 5, policy=policy)
    with pytest.raises(TencentApiError):
        client.cvm("DescribeZones")
    # Jittered delays of 5..10 s: one or two sleeps fit, never more than the 12 s budget.
    assert 1 <= len(slept) <= 2 and sum(slept) <= 12


def test_cancel_stops_retrying_but_not_in_cleanup() -> None:
    cancel = threading.Event()
    cancel.set()
    client, _, _ = client_with(["InternalError", Reply()], cancel_event=cancel)
    with pytest.raises(BuildCancelled):
        client.cvm("DescribeZones")
    client, _, slept = client_with(["ResourceInUse", Reply()], cancel_event=cancel)
    client.vpc("DeleteVpc", {"VpcId": "vpc-1"}, cancellable=False)
    assert len(slept) == 1


def test_cancel_says_whether_the_call_may_have_taken_effect() -> None:
    """Cancelled before sending: the cloud never saw the call, so its intent can be closed.
    Cancelled while retrying after an unanswered attempt: it may have taken effect."""
    cancel = threading.Event()
    cancel.set()
    client, sdk, _ = client_with([Reply()], cancel_event=cancel)
    with pytest.raises(CallCancelled) as err:
        client.vpc("CreateVpc", {"VpcName": "v", "CidrBlock": "10.0.0.0/16"})
    assert not err.value.uncertain and not sdk.requests

    cancel.clear()
    client, sdk, _ = client_with(["ClientNetworkError", Reply()], cancel_event=cancel)
    answer = sdk.CreateVpc

    def then_cancel(request: Any) -> Any:
        try:
            return answer(request)
        finally:
            cancel.set()

    client._clients["vpc"] = type("Sdk", (), {"CreateVpc": staticmethod(then_cancel)})()
    with pytest.raises(CallCancelled) as err:
        client.vpc("CreateVpc", {"VpcName": "v", "CidrBlock": "10.0.0.0/16"})
    assert err.value.uncertain and len(sdk.requests) == 1


def test_request_is_the_sdk_model() -> None:
    client, sdk, _ = client_with([Reply()])
    client.cvm("DescribeImages", {"ImageIds": ["img-12345678"]})
    assert type(sdk.requests[0]).__name__ == "DescribeImagesRequest"
    assert sdk.requests[0].ImageIds == ["img-12345678"]


def test_paginate_reads_every_page_with_string_offsets_for_vpc() -> None:
    pages = [Reply(VpcSet=[1, 2], TotalCount=5), Reply(VpcSet=[3, 4], TotalCount=5),
             Reply(VpcSet=[5], TotalCount=5)]  # fmt: skip
    client, sdk, _ = client_with(pages)
    assert paginate(client, "vpc", "DescribeVpcs", {}, "VpcSet", limit=2) == [1, 2, 3, 4, 5]
    assert [r.Offset for r in sdk.requests] == ["0", "2", "4"]


def test_split_endpoint() -> None:
    assert split_endpoint("http://127.0.0.1:8080") == ("http", "127.0.0.1:8080")
    assert split_endpoint("cvm.tencentcloudapi.com") == (None, "cvm.tencentcloudapi.com")


def test_assume_role_step_swaps_credentials_and_masks_them() -> None:
    from types import SimpleNamespace as NS

    from bakeansible.builders.tencentcloud.context import TencentContext
    from bakeansible.builders.tencentcloud.steps.assume_role import StepAssumeRole

    creds = NS(TmpSecretId="tmp-id", TmpSecretKey="tmp-secret-key", Token="tmp-token-value")
    client, sdk, _ = client_with([Reply(Credentials=creds)])
    client._clients["sts"] = sdk
    ctx = TencentContext(build_id="b", build_name="n", builder_type="t", client=client)
    StepAssumeRole("qcs::cam::uin/1:roleName/r", "bake", 3600).run(ctx)
    assert sdk.requests[0].RoleSessionName == "bake" and sdk.requests[0].DurationSeconds == 3600
    assert ctx.api is not client and ctx.api.credentials.secret_key == "tmp-secret-key"
    assert ctx.api.calls is client.calls
    assert ctx.masker.mask("x tmp-secret-key tmp-token-value") == "x <sensitive> <sensitive>"
