"""Verify request signatures: TC3-HMAC-SHA256 and the legacy HmacSHA1/HmacSHA256 ones.

TC3 is checked over the ``Host`` and ``Content-Type`` headers exactly as received and over the
raw body bytes (clients serialise JSON differently, so the body is never re-encoded). The
service in the credential scope is whatever the client signed with: tencentcloud-sdk-python
takes it from the client class (``CvmClient._service == "cvm"``), not from the endpoint, so a
single emulator endpoint serves cvm and vpc clients alike.

The legacy signature covers ``<METHOD><Host><path>?<sorted k=v&...>`` over every parameter but
``Signature``, unencoded, base64 of HMAC-SHA1 or HMAC-SHA256 with the SecretKey.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bakeansible.testing.tcloud.errors import ApiError, missing

MAX_SKEW_SECONDS = 300
_BAD_SIGNATURE = (
    "The provided credentials could not be validated. Please check your signature is correct."
)
_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/\s]+)"
    r"/tc3_request, *SignedHeaders=(?P<headers>[a-z0-9;\-]+), *Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class KeyPair:
    """An API key the emulator accepts; with ``token``, requests must carry that X-TC-Token."""

    secret_id: str
    secret_key: str
    token: str | None = None


@dataclass(frozen=True)
class Verified:
    """Who signed the request, and the service of the credential scope (None for legacy)."""

    secret_id: str
    service: str | None


def _hmac256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    k_date = _hmac256(("TC3" + secret_key).encode(), date)
    k_service = _hmac256(k_date, service)
    k_signing = _hmac256(k_service, "tc3_request")
    return hmac.new(k_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_string_to_sign(
    *,
    method: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: list[str],
    payload_hash: str,
    timestamp: str,
    scope: str,
) -> str:
    canonical_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed_headers)
    canonical = "\n".join(
        [method, "/", query, canonical_headers, ";".join(signed_headers), payload_hash]
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{digest}"


def _check_timestamp(raw: str | None, now: float, name: str) -> int:
    if raw is None or raw == "":
        raise missing(name)
    try:
        ts = int(raw)
    except ValueError:
        raise ApiError("InvalidParameterValue", f"`{name}` must be Unix seconds.") from None
    if abs(now - ts) > MAX_SKEW_SECONDS:
        raise ApiError(
            "AuthFailure.SignatureExpire",
            f"Signature expired: timestamp {ts} differs from server time {int(now)} by more "
            f"than {MAX_SKEW_SECONDS} seconds.",
        )
    return ts


def _lookup(keys: Mapping[str, KeyPair], secret_id: str, token: str | None) -> KeyPair:
    key = keys.get(secret_id)
    if key is None:
        raise ApiError("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    if key.token is not None and token != key.token:
        raise ApiError("AuthFailure.TokenFailure", "The X-TC-Token is invalid.")
    return key


def verify_tc3(
    *,
    method: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, KeyPair],
    now: float,
) -> Verified:
    """Check a TC3-HMAC-SHA256 request; ``headers`` must be keyed by lower-case names."""
    match = _AUTH_RE.match(headers.get("authorization", "").strip())
    if not match:
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "The Authorization header is malformed; expected `TC3-HMAC-SHA256 Credential=...`.",
        )
    signed = match["headers"].split(";")
    if "content-type" not in signed or "host" not in signed:
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "SignedHeaders must include content-type and host.",
        )
    raw_ts = headers.get("x-tc-timestamp")
    ts = _check_timestamp(raw_ts, now, "X-TC-Timestamp")
    key = _lookup(keys, match["id"], headers.get("x-tc-token"))
    if datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d") != match["date"]:
        raise ApiError(
            "AuthFailure.SignatureFailure",
            "The date of the credential scope does not match X-TC-Timestamp.",
        )
    if headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD":
        payload_hash = hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest()
    else:
        payload_hash = hashlib.sha256(b"" if method == "GET" else body).hexdigest()
    scope = f"{match['date']}/{match['service']}/tc3_request"
    # Headers as received first (what the SDKs sign), then lower-cased values (what the API
    # documentation prescribes).
    candidates = [dict(headers), {k: v.lower() for k, v in headers.items()}]
    for variant in candidates:
        string_to_sign = tc3_string_to_sign(
            method=method,
            query=query if method == "GET" else "",
            headers=variant,
            signed_headers=signed,
            payload_hash=payload_hash,
            timestamp=str(raw_ts),
            scope=scope,
        )
        expected = tc3_signature(key.secret_key, match["date"], match["service"], string_to_sign)
        if hmac.compare_digest(expected, match["sig"]):
            return Verified(key.secret_id, match["service"])
    raise ApiError(
        "AuthFailure.SignatureFailure",
        _BAD_SIGNATURE,
    )


def legacy_string_to_sign(method: str, host: str, path: str, params: Mapping[str, str]) -> str:
    body = "&".join(f"{k.replace('_', '.')}={params[k]}" for k in sorted(params))
    return f"{method}{host}{path}?{body}"


def legacy_signature(secret_key: str, string_to_sign: str, method: str) -> str:
    digest = hashlib.sha256 if method == "HmacSHA256" else hashlib.sha1
    mac = hmac.new(secret_key.encode(), string_to_sign.encode(), digest).digest()
    return base64.b64encode(mac).decode()


def verify_legacy(
    *,
    method: str,
    host: str,
    path: str,
    params: Mapping[str, str],
    keys: Mapping[str, KeyPair],
    now: float,
) -> Verified:
    """Check a legacy (API 2.0 style) signed request whose parameters are flat strings."""
    for name in ("SecretId", "Nonce", "Signature"):
        if not params.get(name):
            raise missing(name)
    _check_timestamp(params.get("Timestamp"), now, "Timestamp")
    sign_method = params.get("SignatureMethod", "HmacSHA1")
    if sign_method not in ("HmacSHA1", "HmacSHA256"):
        raise ApiError(
            "InvalidParameterValue",
            "`SignatureMethod` must be HmacSHA1 or HmacSHA256.",
        )
    key = _lookup(keys, params["SecretId"], params.get("Token"))
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    expected = legacy_signature(
        key.secret_key, legacy_string_to_sign(method, host, path, unsigned), sign_method
    )
    if not hmac.compare_digest(expected, params["Signature"]):
        raise ApiError(
            "AuthFailure.SignatureFailure",
            _BAD_SIGNATURE,
        )
    return Verified(key.secret_id, None)
