"""OEE on the simulated demo plant: derived states match the simulator's ground truth,
and OEE recomputed from the historian equals the live figures for the same period."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plantos.analytics.oee import LiveOee, OeeUpdated, default_oee_config, historical_report
from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.events import MachineStateChanged
from plantos.core.timeparse import parse_time_ns
from plantos.demo.simulator import Simulator
from plantos.historian.duckdb_store import DuckDBHistorian
from plantos.historian.protocol import Tier
from plantos.model import Plant, load_plant

S = 1_000_000_000
H = 3600 * S
START = parse_time_ns("2026-01-05T05:00:00Z", now_ns=0)  # 06:00 in Berlin: early shift starts
WELD = "plant-a/welding/weld-line/weld-cell-1"


@pytest.fixture(scope="module")
def plant(demo_plant_path: Path) -> Plant:
    return load_plant(demo_plant_path)


@pytest.fixture(scope="module")
def demo_plant_path() -> Path:
    return Path(__file__).resolve().parents[2] / "examples" / "demo-plant" / "plantos.yaml"


def spoil(batch: SampleBatch, rng: np.random.Generator) -> SampleBatch:
    """Bad input as a real plant sends it: some NaN, some inf, some Bad quality samples."""
    value, codes = batch.value.copy(), batch.quality.copy()
    n = len(batch)
    value[rng.integers(0, n, n // 2000)] = np.nan
    value[rng.integers(0, n, n // 5000)] = np.inf
    codes[rng.integers(0, n, n // 2000)] = quality.BAD_COMMUNICATION_ERROR
    return SampleBatch(batch.tag_id, batch.ts, value, codes)


def test_derived_states_agree_with_the_simulators_ground_truth(plant: Plant) -> None:
    ids = {path: i for i, path in enumerate(plant.tags)}
    sim = Simulator(plant, ids, seed=11, start_ns=START)
    live = LiveOee(plant, default_oee_config(plant), ids)
    truth: dict[str, list[MachineStateChanged]] = {}
    derived: list[MachineStateChanged] = []
    end = START + 4 * H
    while sim.now_ns < end:
        batch, events = sim.step(sim.now_ns + 300 * S)
        derived += live.feed(batch)
        for e in events:
            if isinstance(e, MachineStateChanged):
                truth.setdefault(e.subject, []).append(e)
    assert derived and all(e.reason is None for e in derived)
    grid = np.arange(START + 60 * S, end, S)
    agree_s = total_s = 0
    for path, tracker in live.tracker.trackers.items():
        changes = truth[path]
        k = np.searchsorted([e.ts_ns for e in changes], grid, side="right") - 1
        expected = np.array([e.state for e in changes])[k]
        iv = tracker.intervals(end)
        j = np.searchsorted(iv.start_ns, grid, side="right") - 1
        got = np.array(tracker.spec.states)[iv.state[j]]
        if path == WELD:  # no state tag: only running or not can be told from its signals
            expected, got = expected == "running", got == "running"
        agree = expected == got
        assert agree.mean() >= (0.95 if path == WELD else 0.999), (path, agree.mean())
        agree_s += int(agree.sum())
        total_s += len(grid)
    assert agree_s / total_s >= 0.99


def test_historical_oee_equals_live_oee_for_the_same_period(plant: Plant, tmp_path: Path) -> None:
    historian = DuckDBHistorian(tmp_path / "h.duckdb", tiers=[Tier(60 * S, None)])
    try:
        ids = historian.register_tags(plant.tags.values())
        config = default_oee_config(plant)
        sim = Simulator(plant, ids, seed=5, start_ns=START)
        live = LiveOee(plant, config, ids)
        rng = np.random.default_rng(0)
        end = START + 3 * H
        while sim.now_ns < end:
            batch, _ = sim.step(sim.now_ns + 300 * S)
            batch = spoil(batch, rng)
            live.feed(batch)
            historian.write(batch)
        cnc = "plant-a/machining/line-1/cnc-03"
        stop = live.report(START, end).assets[cnc]
        live.assign_reason(cnc, START, "no operator")  # one reason book for live and history
        custom = START + H + 17 * S
        past = historical_report(historian, plant, config, custom, end, reasons=live.reasons)
        assert past == live.report(custom, end)
        shifts, current = live.current(end)
        this_shift = [p for p, shift in shifts.items() if shift.start_ns == START]
        assert len(this_shift) == 15  # plant A; plant B (Chicago) is between shifts
        past = historical_report(historian, plant, config, START, end, reasons=live.reasons)
        for path in this_shift:
            assert past.assets[path] == current.assets[path], path
        assert stop.total > 0 and 0 < (stop.oee or 0) < 1
        tracker = live.tracker.trackers[cnc]
        assert tracker.bad_samples > 0
    finally:
        historian.close()


def test_updates_carry_the_current_shift_per_asset(plant: Plant) -> None:
    ids = {path: i for i, path in enumerate(plant.tags)}
    sim = Simulator(plant, ids, seed=2, start_ns=START)
    live = LiveOee(plant, default_oee_config(plant), ids)
    while sim.now_ns < START + H:
        live.feed(sim.step(sim.now_ns + 300 * S)[0])
    updates = live.updates(START + H)
    assert len(updates) == len(live.tracker.trackers) == 19
    cnc = next(u for u in updates if u.subject.endswith("plant-a/machining/line-1/cnc-01"))
    assert isinstance(cnc, OeeUpdated) and cnc.shift == "early" and cnc.planned_s == 3600
    chicago = next(u for u in updates if u.subject.startswith("plant-b/"))
    assert chicago.planned_s == 0 and chicago.availability is None  # 23:00 in Chicago: no shift
