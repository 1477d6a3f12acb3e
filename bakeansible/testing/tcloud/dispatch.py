"""One API request from bytes to envelope: parse, verify, count, inject faults, route, handle."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

# Importing the action modules registers their handlers.
from bakeansible.testing.tcloud import (  # noqa: F401
    actions_cvm,
    actions_images,
    actions_keypairs,
    actions_sts,
    actions_vpc,
)
from bakeansible.testing.tcloud.cloud import Call, Cloud
from bakeansible.testing.tcloud.errors import ApiError, missing
from bakeansible.testing.tcloud.params import unflatten, validate
from bakeansible.testing.tcloud.router import API_VERSIONS, find
from bakeansible.testing.tcloud.signing import KeyPair, verify_legacy, verify_tc3

log = logging.getLogger(__name__)

# Parameters of legacy-signed requests that are not the action's own.
LEGACY_COMMON = frozenset(
    {
        "Action",
        "Version",
        "Region",
        "Timestamp",
        "Nonce",
        "SecretId",
        "Signature",
        "SignatureMethod",
        "Token",
        "Language",
        "RequestClient",
    }
)


@dataclass
class Outcome:
    """What to send back: a JSON envelope, possibly late, or nothing (drop the connection)."""

    body: dict[str, Any] | None
    delay: float = 0.0


def envelope_error(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}


def handle(
    cloud: Cloud,
    keys: Mapping[str, KeyPair],
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> Outcome:
    """``headers`` keyed by lower-case names, values as received."""
    request_id = str(uuid.uuid4())
    try:
        return _handle(cloud, keys, request_id, method, path, query, headers, body)
    except ApiError as exc:
        return Outcome(envelope_error(exc.code, exc.message, request_id))
    except Exception as exc:  # a bug in the emulator: still answer like the cloud would
        log.exception("emulator failed on a request")
        return Outcome(envelope_error("InternalError", f"Emulator error: {exc}", request_id))


def _handle(
    cloud: Cloud,
    keys: Mapping[str, KeyPair],
    request_id: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> Outcome:
    if method not in ("GET", "POST"):
        raise ApiError("UnsupportedOperation", f"HTTP method {method} is not supported.")
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    now = cloud.clock()
    form = method == "GET" or content_type in ("application/x-www-form-urlencoded", "")
    if form:
        raw = query if method == "GET" else body.decode("utf-8", "replace")
        pairs = parse_qsl(raw, keep_blank_values=True)
    else:
        pairs = []
    if "authorization" in headers or not form:
        verified = verify_tc3(
            method=method, query=query, headers=headers, body=body, keys=keys, now=now
        )
        action_name = headers.get("x-tc-action", "")
        version = headers.get("x-tc-version", "")
        region_name = headers.get("x-tc-region", "")
        if form:
            params: Any = unflatten(pairs)
        else:
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                raise ApiError("InvalidParameter", "The request body is not valid JSON.") from None
    else:
        flat = dict(pairs)
        verified = verify_legacy(
            method=method,
            host=headers.get("host", ""),
            path=path,
            params=flat,
            keys=keys,
            now=now,
        )
        action_name = flat.get("Action", "")
        version = flat.get("Version", "")
        region_name = flat.get("Region", "")
        params = unflatten((k, val) for k, val in pairs if k not in LEGACY_COMMON)
    if not action_name:
        raise missing("Action")
    act = find(verified.service, action_name)
    if act is None:
        raise ApiError("InvalidAction", f"The action `{action_name}` is not supported.")
    if not version:
        raise missing("Version")
    if version != API_VERSIONS[act.service]:
        raise ApiError("NoSuchVersion", f"Version `{version}` of {act.service} does not exist.")
    if act.needs_region and not region_name:
        raise missing("Region")
    with cloud.lock:
        cloud.call_counts[act.name] += 1
    if cloud.throttle(act.name):
        message = f"Requests of {act.name} exceed {cloud.rate_limit:g} per second."
        return Outcome(envelope_error("RequestLimitExceeded", message, request_id), 0.0)
    decision = cloud.faults.decide(act.name, region_name)
    if decision.drop:
        return Outcome(None, decision.delay)
    if decision.error:
        code, message = decision.error
        return Outcome(envelope_error(code, message, request_id), decision.delay)
    region = cloud.region(region_name or "ap-guangzhou")
    checked = validate(params, act.schema, form=form)
    if act.name.startswith("Describe"):
        ids = next((v for k, v in checked.items() if k.endswith("Ids") and isinstance(v, list)), [])
        with cloud.lock:
            cloud.describe_log.append((time.monotonic(), act.name, len(ids)))
    with cloud.lock:
        result = act.handler(Call(cloud, region, request_id, act.name, checked))
    if decision.lose_answer:
        return Outcome(None, decision.delay)
    return Outcome({"Response": {**result, "RequestId": request_id}}, decision.delay)
