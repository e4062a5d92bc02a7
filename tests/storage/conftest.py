"""Storage unit tests run with no cloud credentials from the developer's machine."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_env: Path) -> Path:
    return isolated_env
