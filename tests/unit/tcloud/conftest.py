"""SDK helpers for the emulator's tests (the ``emu`` fixture is in tests/unit/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException


def call(client: Any, action: str, **params: Any) -> dict[str, Any]:
    """One action through the SDK's generic JSON entry point; returns ``Response``."""
    return client.call_json(action, params)["Response"]


def api_error(client: Any, action: str, **params: Any) -> TencentCloudSDKException:
    """The SDK exception raised by the call (fails the test if it succeeds)."""
    with pytest.raises(TencentCloudSDKException) as info:
        call(client, action, **params)
    exc = info.value
    assert exc.get_request_id(), "every error carries a RequestId"
    return exc
