"""The demo's nominal cycle time is the ideal one: no simulated cycle is faster, so a line's
OEE performance stays at or below 100 % (above it would mean a wrong ideal cycle time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plantos.analytics.oee import LiveOee, default_oee_config
from plantos.core.timeparse import parse_time_ns
from plantos.demo.simulator import Simulator
from plantos.model import load_plant

S = 1_000_000_000
START = parse_time_ns("2026-01-05T05:00:00Z", now_ns=0)
PLANT = Path(__file__).resolve().parents[2] / "examples" / "demo-plant" / "plantos.yaml"
LINE = "plant-a/assembly/line-3"


def test_cycles_are_never_faster_than_nominal_and_line_performance_stays_below_one() -> None:
    plant = load_plant(PLANT)
    ids = {path: i for i, path in enumerate(plant.tags)}
    sim = Simulator(plant, ids, seed=3, start_ns=START)
    oee = LiveOee(plant, default_oee_config(plant), ids)
    end = START + 8 * 3600 * S
    cycles: list[np.ndarray] = []
    station = f"{LINE}/st-10"
    while sim.now_ns < end:
        batch, _ = sim.step(min(end, sim.now_ns + 600 * S))
        oee.feed(batch)
        part = batch.select(batch.tag_id == ids[f"{station}/cycle_time"])
        cycles.append(part.value)
    nominal_s = 45.0
    seen = np.concatenate(cycles)
    assert seen.min() >= nominal_s - 0.05  # the tag is rounded to 0.1 s
    totals = oee.report(START, end).nodes[LINE]
    assert totals.performance is not None and 0.8 < totals.performance <= 1.0
