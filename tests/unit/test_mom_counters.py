"""Machine counts from counter tags: per part, per asset, through resets and bad samples."""

from __future__ import annotations

import numpy as np
import pytest

from plantos.analytics.config import analytics_spec
from plantos.analytics.oee.config import OeeSpec
from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.model import Plant, load_plant
from plantos.mom.counters import CounterReader
from tests.conftest import DEMO_PLANT

NS = 1_000_000_000
CNC = "plant-a/machining/line-1/cnc-01"
ST = "plant-a/assembly/line-3/st-30"
WELD = "plant-a/welding/weld-line/weld-cell-1"


Setup = tuple[Plant, dict[str, int], OeeSpec]


@pytest.fixture(scope="module")
def setup() -> Setup:
    plant = load_plant(DEMO_PLANT)
    ids = {p: i for i, p in enumerate(plant.tags)}
    _, oee = analytics_spec(plant)
    return plant, ids, oee


def reader(setup: Setup, *assets: str) -> CounterReader:
    plant, ids, oee = setup
    return CounterReader(plant, oee, ids, assets=assets)


def batch(
    ids: dict[str, int], tag: str, values: list[float], codes: list[int] | None = None
) -> SampleBatch:
    ts = np.arange(len(values)) * NS + 1000 * NS
    return SampleBatch.of(np.full(len(values), ids[tag]), ts, np.array(values), codes)


def test_total_counter_gives_one_count_per_increment_across_a_reset(setup: Setup) -> None:
    r = reader(setup, CNC)
    ids = setup[1]
    counts = r.read(batch(ids, f"{CNC}/part_counter", [100, 101, 101, 103, 0, 1]))
    assert [(c.ts_ns // NS - 1000, c.good, c.scrap) for c in counts] == [
        (1, 1, 0),
        (3, 2, 0),
        (5, 1, 0),
    ]
    assert all(c.source == "machine" and c.asset == CNC for c in counts)
    # the baseline carries over: the next batch continues from 1
    assert [c.good for c in r.read(batch(ids, f"{CNC}/part_counter", [3]))] == [2]


def test_bad_quality_samples_count_nothing_and_lose_nothing(setup: Setup) -> None:
    r = reader(setup, CNC)
    ids = setup[1]
    codes = [quality.GOOD, quality.BAD_COMMUNICATION_ERROR, quality.GOOD]
    counts = r.read(batch(ids, f"{CNC}/part_counter", [10, 99, 12], codes))
    assert [c.good for c in counts] == [2]


def test_good_and_scrap_counters(setup: Setup) -> None:
    r = reader(setup, ST)
    ids = setup[1]
    good = batch(ids, f"{ST}/good_count", [5, 6, 7])
    scrap = batch(ids, f"{ST}/scrap_count", [1, 1, 2])
    counts = r.read(SampleBatch.concat([good, scrap]))
    assert sorted((c.good, c.scrap) for c in counts) == [(0, 1), (1, 0), (1, 0)]


def test_failed_inspection_moves_a_counted_part_to_scrap(setup: Setup) -> None:
    r = reader(setup, WELD)
    ids = setup[1]
    welds = batch(ids, f"{WELD}/weld_count", [1, 2, 3])
    checks = batch(ids, f"{WELD}/inspection_passed", [1, 0, 1])
    counts = r.read(SampleBatch.concat([welds, checks]))
    failed = [c for c in counts if c.from_good]
    assert len(failed) == 1 and failed[0].scrap == 1 and failed[0].good == 0


def test_assets_without_counters_are_not_read(setup: Setup) -> None:
    r = reader(setup, "plant-a/heat-treat/furnace-line/furnace-1")
    assert r.assets == set() and r.read(batch(setup[1], f"{CNC}/part_counter", [1, 2])) == []
