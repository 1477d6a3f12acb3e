"""Signatures as real clients produce them: TC3 over POST and GET, legacy HmacSHA1/256."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
import requests
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client, models

from bakeansible.testing.tcloud import KeyPair, TencentEmulator
from bakeansible.testing.tcloud.signing import tc3_signature, tc3_string_to_sign
from tests.unit.tcloud.conftest import api_error, call


def test_tc3_post_with_typed_models(emu: TencentEmulator) -> None:
    client = emu.cvm_client("ap-guangzhou")
    resp = client.DescribeZones(models.DescribeZonesRequest())
    assert resp.TotalCount == len(resp.ZoneSet) > 0
    assert resp.ZoneSet[0].Zone.startswith("ap-guangzhou-")
    assert resp.RequestId


def test_tc3_get_flattens_nested_parameters(emu: TencentEmulator) -> None:
    client = emu.cvm_client("ap-guangzhou", req_method="GET")
    resp = call(
        client,
        "DescribeImages",
        Filters=[{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}],
        Limit=2,
    )
    assert resp["TotalCount"] >= 2
    assert len(resp["ImageSet"]) == 2


@pytest.mark.parametrize("method", ["HmacSHA1", "HmacSHA256"])
@pytest.mark.parametrize("verb", ["POST", "GET"])
def test_legacy_signatures(emu: TencentEmulator, method: str, verb: str) -> None:
    client = emu.cvm_client("ap-guangzhou", sign_method=method, req_method=verb)
    resp = call(client, "DescribeImages", ImageIds=["img-eb30mz89"])
    assert resp["ImageSet"][0]["ImageName"] == "Debian Server 12.0 64bit"


def test_legacy_signature_with_wrong_key(emu: TencentEmulator) -> None:
    profile = emu.client_profile(sign_method="HmacSHA256")
    client = cvm_client.CvmClient(Credential(emu.secret_id, "wrong"), "ap-guangzhou", profile)
    assert api_error(client, "DescribeZones").code == "AuthFailure.SignatureFailure"


def test_endpoint_with_scheme_works_like_tccli(emu: TencentEmulator) -> None:
    # tccli never sets protocol; an endpoint carrying http:// is used as-is (Host included).
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=emu.endpoint))
    client = cvm_client.CvmClient(emu.credential(), "ap-guangzhou", profile)
    assert call(client, "DescribeRegions")["TotalCount"] > 10


def test_wrong_secret_key(emu: TencentEmulator) -> None:
    client = cvm_client.CvmClient(
        Credential(emu.secret_id, "not-the-key"), "ap-guangzhou", emu.client_profile()
    )
    exc = api_error(client, "DescribeZones")
    assert exc.code == "AuthFailure.SignatureFailure"


def test_unknown_secret_id(emu: TencentEmulator) -> None:
    client = cvm_client.CvmClient(
        Credential("AKIDnobody", emu.secret_key), "ap-guangzhou", emu.client_profile()
    )
    assert api_error(client, "DescribeZones").code == "AuthFailure.SecretIdNotFound"


def test_expired_timestamp(emu: TencentEmulator) -> None:
    client = emu.cvm_client()
    emu.cloud.clock = lambda: time.time() + 301  # the client's clock is 5 minutes late
    assert api_error(client, "DescribeZones").code == "AuthFailure.SignatureExpire"
    emu.cloud.clock = lambda: time.time() - 290
    assert call(client, "DescribeZones")["TotalCount"]


def test_session_token_is_checked() -> None:
    key = KeyPair("AKIDsts", "sts-secret", token="the-token")
    with TencentEmulator(extra_keys=[key]) as emu:
        good = cvm_client.CvmClient(
            Credential("AKIDsts", "sts-secret", "the-token"), "ap-guangzhou", emu.client_profile()
        )
        assert call(good, "DescribeZones")["TotalCount"]
        bad = cvm_client.CvmClient(
            Credential("AKIDsts", "sts-secret", "other"), "ap-guangzhou", emu.client_profile()
        )
        assert api_error(bad, "DescribeZones").code == "AuthFailure.TokenFailure"


def _raw_post(
    emu: TencentEmulator, body: bytes, authorization: str, **headers: str
) -> requests.Response:
    base = {
        "Content-Type": "application/json",
        "Host": emu.host,
        "X-TC-Action": "DescribeZones",
        "X-TC-Version": "2017-03-12",
        "X-TC-Region": "ap-guangzhou",
        "X-TC-Timestamp": str(int(time.time())),
        "Authorization": authorization,
    }
    base.update(headers)
    return requests.post(emu.endpoint + "/", data=body, headers=base, timeout=5)


def _sign(emu: TencentEmulator, body: bytes, timestamp: int, service: str = "cvm") -> str:
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    scope = f"{date}/{service}/tc3_request"
    sts = tc3_string_to_sign(
        method="POST",
        query="",
        headers={"content-type": "application/json", "host": emu.host},
        signed_headers=["content-type", "host"],
        payload_hash=hashlib.sha256(body).hexdigest(),
        timestamp=str(timestamp),
        scope=scope,
    )
    sig = tc3_signature(emu.secret_key, date, service, sts)
    return (
        f"TC3-HMAC-SHA256 Credential={emu.secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={sig}"
    )


def test_malformed_authorization_envelope(emu: TencentEmulator) -> None:
    resp = _raw_post(emu, b"{}", "Bearer nonsense")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()["Response"]
    assert body["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
    assert body["RequestId"]


def test_raw_signature_covers_the_exact_body(emu: TencentEmulator) -> None:
    now = int(time.time())
    body = json.dumps({}, separators=(",", ":")).encode()  # compact, as the Go SDK sends
    ok = _raw_post(emu, body, _sign(emu, body, now), **{"X-TC-Timestamp": str(now)})
    assert "ZoneSet" in ok.json()["Response"]
    tampered = _raw_post(emu, b"{ }", _sign(emu, body, now), **{"X-TC-Timestamp": str(now)})
    assert tampered.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_service_of_the_scope_routes_the_action(emu: TencentEmulator) -> None:
    # A vpc action signed for cvm does not exist in cvm.
    exc = api_error(emu.cvm_client(), "DescribeVpcs")
    assert exc.code == "InvalidAction"
    now = int(time.time())
    resp = _raw_post(
        emu,
        b"{}",
        _sign(emu, b"{}", now, service="vpc"),
        **{"X-TC-Timestamp": str(now), "X-TC-Action": "DescribeVpcs"},
    )
    assert resp.json()["Response"]["TotalCount"] == 0


def test_wrong_version(emu: TencentEmulator) -> None:
    client = emu.cvm_client()
    client._apiVersion = "2099-01-01"
    assert api_error(client, "DescribeZones").code == "NoSuchVersion"


def test_assume_role_credentials_are_accepted(emu: TencentEmulator) -> None:
    from tencentcloud.sts.v20180813.sts_client import StsClient

    sts = StsClient(emu.credential(), "ap-guangzhou", emu.client_profile())
    creds = call(
        sts,
        "AssumeRole",
        RoleArn="qcs::cam::uin/100000000001:roleName/packer",
        RoleSessionName="bake",
        DurationSeconds=900,
    )["Credentials"]
    temp = Credential(creds["TmpSecretId"], creds["TmpSecretKey"], creds["Token"])
    client = cvm_client.CvmClient(temp, "ap-guangzhou", emu.client_profile())
    assert call(client, "DescribeZones")["TotalCount"]
    without_token = Credential(creds["TmpSecretId"], creds["TmpSecretKey"])
    client = cvm_client.CvmClient(without_token, "ap-guangzhou", emu.client_profile())
    assert api_error(client, "DescribeZones").code == "AuthFailure.TokenFailure"
    assert api_error(sts, "AssumeRole", RoleArn="nope", RoleSessionName="bake").code == (
        "InvalidParameter.ParamError"
    )
