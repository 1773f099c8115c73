"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI explores the same examples every run, so a landing never hinges on a lucky draw;
# local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main
    thread for as long as the browser lives, which would break ``asyncio.run`` elsewhere."""
    items.sort(
        key=lambda item: item.path.parent.name == "e2e" and item.path.name.startswith("test_ui")
    )
