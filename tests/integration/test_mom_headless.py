"""The headless demo with its order stream: every completed order's good count equals the
simulator's own count of the parts made for it, for several seeds; with a breakdown, the
plan made after the plant saw the machine down has nothing on it and the report lists what
moved, no later than the dispatching heuristic would finish."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest

from plantos.core.timeparse import parse_time_ns
from plantos.demo.headless import run_headless
from tests.conftest import DEMO_PLANT
from tests.support.mom_db import fresh_postgres

NS = 1_000_000_000
START = parse_time_ns("2026-01-05T05:00:00Z", now_ns=0)
CNC2 = "plant-a/machining/line-1/cnc-02"


def run(
    tmp_path: Path, *, seed: int, hours: int, scenarios: list[str], config: Path = DEMO_PLANT
) -> dict[str, Any]:
    result = run_headless(
        config=config,
        data_dir=tmp_path,
        duration_ns=hours * 3600 * NS,
        start_ns=START,
        seed=seed,
        scenarios=scenarios,
    )
    return result.report


@pytest.mark.parametrize("seed", [1, 7])
def test_completed_orders_match_the_simulators_ground_truth(tmp_path: Path, seed: int) -> None:
    report = run(tmp_path, seed=seed, hours=4, scenarios=[])
    completed = [o for o in report["orders"] if o["state"] == "completed"]
    assert len(completed) >= 3
    for order in completed:
        assert order["good"] == order["ground_truth"]["good"] >= order["quantity"], order
        assert order["completed"].endswith("Z") and order["due"].endswith("Z")
    assert {"id", "product", "quantity", "good", "scrap", "state", "due", "completed"} <= set(
        report["orders"][0]
    )
    assert isinstance(report["schedule_changes"], list)
    assert report["mom"]["parts_booked"] == sum(o["good"] + o["scrap"] for o in report["orders"])


def test_ground_truth_holds_on_postgresql(tmp_path: Path) -> None:
    shutil.copy(DEMO_PLANT.parent / "mom.yaml", tmp_path / "mom.yaml")
    with fresh_postgres() as url:
        config = tmp_path / "plantos.yaml"
        config.write_text(DEMO_PLANT.read_text() + f"\nmom:\n  database: {url}\n")
        report = run(tmp_path / "data", seed=2, hours=3, scenarios=[], config=config)
    completed = [o for o in report["orders"] if o["state"] == "completed"]
    assert completed
    assert all(o["good"] == o["ground_truth"]["good"] for o in completed)


def test_same_seed_releases_the_same_orders(tmp_path: Path) -> None:
    from plantos.demo.orders import order_stream

    spec = {
        "initial": 2,
        "every": "1h",
        "products": {"a": {"quantity": [1, 9], "due_after": ["2h", "4h"]}},
    }
    one = order_stream(spec, seed=3, start_ns=START, end_ns=START + 5 * 3600 * NS)
    assert one == order_stream(spec, seed=3, start_ns=START, end_ns=START + 5 * 3600 * NS)
    assert one != order_stream(spec, seed=4, start_ns=START, end_ns=START + 5 * 3600 * NS)
    assert len(one) == 6 and one[0].release_ns == one[1].release_ns == START


@pytest.mark.skipif(
    importlib.util.find_spec("plantos.mom.scheduling") is None,
    reason="the scheduler package is not part of this installation",
)
def test_breakdown_is_planned_around(tmp_path: Path) -> None:
    report = run(tmp_path, seed=1, hours=8, scenarios=[f"breakdown:{CNC2}:6h:1h"])
    changes = report["schedule_changes"]
    down = [c for c in changes if c["trigger"] == "asset down" and c["asset"] == CNC2]
    back = [c for c in changes if c["trigger"] == "asset back" and c["asset"] == CNC2]
    assert down and down[0]["at"] == "2026-01-05T11:00:00.000Z", changes
    assert CNC2 in down[0]["assets_down"]
    assert back and back[0]["at"] == "2026-01-05T12:00:00.000Z"
    for change in changes:
        assert change["planned_on_down_assets"] == 0
        assert change["weighted_tardiness_s"] <= change["dispatch_weighted_tardiness_s"]
    floor = [c for c in changes if c["trigger"] in ("asset down", "asset back")]
    assert any(c["moved"] for c in floor), "a breakdown in 8 h moves some work"
    for change in floor:
        if change["trigger"] == "asset down":
            assert all(m["new"]["asset"] != change["asset"] for m in change["moved"])
    for order in report["orders"]:
        if order["state"] == "completed":
            assert order["good"] == order["ground_truth"]["good"], order
