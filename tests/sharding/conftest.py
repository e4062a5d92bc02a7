"""Every sharding test runs without developer credentials or secret files, since
several drive cloud-volume and tensorstore as oracles."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_env: Path) -> Path:
    return isolated_env
