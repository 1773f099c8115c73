"""The flagship scenario as a user runs it: ``plantos demo --headless --duration 12h
--scenario bearing-wear:<cnc>`` gives exactly one predictive work order for that CNC,
opened at least 2 h before the simulated failure, with its evidence, last service and
affected orders; a station notification and maintenance alerts by e-mail and webhook;
a schedule change that leaves no operation on the machine during the window; and
nothing for the healthy machines."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import DEMO_PLANT, REPO

pytestmark = pytest.mark.timeout(900)

CASES = [("plant-a/machining/line-1/cnc-03", 2), ("plant-b/machining/line-1/cnc-01", 3)]
"""(CNC, seed) pairs checked in the suite, one per plant (each run takes about half a
minute); bench/bearing_wear_matrix.py checks every CNC over six seeds (docs/maintenance.md).
Plant B's mills run two shifts from 06:00 Chicago, seven hours into the run: their case
shows that a mill off at the start learns its baseline in its first shift and is still
caught in time."""


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize(("asset", "seed"), CASES)
def test_bearing_wear_becomes_one_work_order_alerts_and_a_blocked_window(
    tmp_path: Path, asset: str, seed: int
) -> None:
    line = asset.rsplit("/", 1)[0]
    report_file = tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable, "-m", "plantos.cli.main", "demo", "--headless",
            "--duration", "12h", "--seed", str(seed), "--config", str(DEMO_PLANT),
            "--data-dir", str(tmp_path / "data"), "--report", str(report_file),
            "--scenario", f"bearing-wear:{asset}",
        ],
        cwd=REPO, capture_output=True, text=True, timeout=840,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(report_file.read_text())
    failure_s = report["ground_truth"][0]["functional_failure_ns"] / 1e9

    summary = json.dumps(
        {k: report[k] for k in ("work_orders", "notifications", "loop_reactions")}, default=str
    )[:4000]
    (order,) = report["work_orders"]
    assert (order["asset"], order["kind"], order["failure_mode"]) == (asset, "predictive", "VIB")
    assert _ts(order["opened"]) <= failure_s - 2 * 3600
    assert order["evidence"] and order["evidence"][0]["features"]
    assert "last_service" in order and isinstance(order["affected_orders"], list)
    assert order["state"] == "scheduled" and order["window"] is not None, summary
    assert _ts(order["window"]["end"]) <= failure_s

    kinds = {(n["channel"], n["station"]) for n in report["notifications"]}
    assert ("station", line) in kinds
    assert {"maintenance-mail", "maintenance-hook"} <= {c for c, _ in kinds}, summary
    assert {n["asset"] for n in report["notifications"]} == {asset}

    (reaction, *escalations) = report["loop_reactions"]
    assert reaction["opened"] and not any(r["opened"] for r in escalations), summary
    assert reaction["operations_in_window"] == 0, summary
    assert reaction["work_order_stored_ms"] > 0
    # the plan published for the window: seen by the loop while the run lasted, or made
    # when the run ended (the demo's orders come in waves; with none open, none to move)
    published = reaction["schedule_published_ms"]
    assert published is None or published > 0
    change = [c for c in report["schedule_changes"] if c["trigger"] == "maintenance window"]
    assert change and change[0]["asset"] == asset, report["schedule_changes"]
