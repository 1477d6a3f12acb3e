"""The API errors the emulator answers with, as ``{"Response": {"Error": {...}}}`` envelopes."""

from __future__ import annotations


class ApiError(Exception):
    """A Tencent Cloud API error: ``code`` and ``message`` as the real API spells them."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def missing(name: str) -> ApiError:
    return ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")


def unknown_parameter(name: str) -> ApiError:
    return ApiError("UnknownParameter", f"The parameter `{name}` is not recognized.")


def invalid_value(name: str, why: str) -> ApiError:
    return ApiError("InvalidParameterValue", f"The value of parameter `{name}` is invalid: {why}")


def in_progress(instance_id: str) -> ApiError:
    return ApiError(
        "OperationDenied.InstanceOperationInProgress",
        f"An operation is still in progress on instance `{instance_id}`; retry later.",
    )
