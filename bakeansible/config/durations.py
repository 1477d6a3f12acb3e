"""Durations as Packer writes them: ``"10s"``, ``"1m30s"``, ``"2h"``, ``"500ms"``, or a number."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: object) -> float:
    """Seconds in ``value``; raise ``ValueError`` with a readable message when it is not one."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 10s or 1m30s, got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a duration like 10s or 1m30s, got {type(value).__name__}")
    text = value.strip()
    try:
        return parse_duration(float(text))
    except ValueError:
        pass
    if not text or not re.fullmatch(rf"(?:{_PART.pattern})+", text):
        raise ValueError(f"expected a duration like 10s or 1m30s, got {value!r}")
    return sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(text))
