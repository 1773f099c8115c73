"""Fixtures shared by every test layer."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_PLANT = REPO / "examples" / "demo-plant" / "plantos.yaml"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def demo_plant_path() -> Path:
    return DEMO_PLANT


@pytest.fixture
def shared_data() -> Path:
    """Reference data from outside PlantOS; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent")
    return SHARED_DATA
