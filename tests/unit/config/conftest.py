"""Shared fixtures: the real template files and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "templates"
NOW = datetime(2024, 3, 5, 14, 7, 9, 123456, tzinfo=UTC)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
