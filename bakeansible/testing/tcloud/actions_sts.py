"""sts 2018-08-13 AssumeRole: temporary credentials the emulator then accepts (with the token)."""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from tencentcloud.sts.v20180813 import models as s

from bakeansible.testing.tcloud.cloud import Call
from bakeansible.testing.tcloud.errors import ApiError
from bakeansible.testing.tcloud.params import Required
from bakeansible.testing.tcloud.router import action
from bakeansible.testing.tcloud.signing import KeyPair

_ROLE_ARN = re.compile(r"^qcs::cam::uin/\d+:role(Name)?/[\w+=,.@-]+$")


@action(
    "sts",
    s,
    needs_region=False,
    RoleArn=Required(str),
    RoleSessionName=Required(str),
    DurationSeconds=int,
    Policy=str,
)
def assume_role(call: Call) -> dict[str, Any]:
    p = call.params
    if not _ROLE_ARN.match(p["RoleArn"]):
        raise ApiError(
            "InvalidParameter.ParamError",
            "RoleArn must look like qcs::cam::uin/<account>:roleName/<role>.",
        )
    if not re.match(r"^[\w+=,.@-]{2,128}$", p["RoleSessionName"]):
        raise ApiError("InvalidParameter.ParamError", "RoleSessionName is invalid.")
    duration = p.get("DurationSeconds", 7200)
    if not 0 < duration <= 43200:
        raise ApiError("InvalidParameter.OverTimeError", "DurationSeconds must be 1..43200.")
    key = KeyPair(
        secret_id="AKID" + secrets.token_hex(16),
        secret_key=secrets.token_urlsafe(24),
        token=secrets.token_urlsafe(48),
    )
    call.cloud.keys[key.secret_id] = key
    expires = int(time.time()) + duration
    return {
        "Credentials": {
            "Token": key.token,
            "TmpSecretId": key.secret_id,
            "TmpSecretKey": key.secret_key,
        },
        "ExpiredTime": expires,
        "Expiration": datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
