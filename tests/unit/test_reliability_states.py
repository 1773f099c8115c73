"""Machine states for reliability come from the OEE replay of the historian, for one
asset only: a failure that began long before the range keeps its real start (so it is
not counted as a new failure), and another asset's states never leak in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from plantos.analytics.oee import OeeSpec
from plantos.analytics.reliability import asset_reliability, asset_states
from plantos.core.batch import SampleBatch
from plantos.core.errors import QueryError, UnknownTagError
from plantos.core.timeparse import parse_time_ns
from plantos.historian.duckdb_store import DuckDBHistorian
from plantos.historian.protocol import Tier
from plantos.model import Plant, load_plant
from tests.support.server import SMALL_PLANT

S = 1_000_000_000
H = 3600 * S
T0 = parse_time_ns("2026-01-05T00:00:00Z", now_ns=0)
LINE = "site-1/mixing/line-1"
M1, M2 = f"{LINE}/mixer-1", f"{LINE}/mixer-2"
RUNNING, DOWN, IDLE = 2.0, 3.0, 1.0
END = T0 + 10 * H
CONFIG = OeeSpec.model_validate({"asset_types": {"mixer": {"from_enum": "state"}}})


@pytest.fixture
def plant(tmp_path: Path) -> Plant:
    (tmp_path / "plantos.yaml").write_text(SMALL_PLANT)
    return load_plant(tmp_path / "plantos.yaml")


@pytest.fixture
def historian(tmp_path: Path, plant: Plant) -> Iterator[DuckDBHistorian]:
    """mixer-1 runs 2 h, is down 4 h, idles 1 h, runs 3 h; mixer-2 fails every hour."""
    h = DuckDBHistorian(tmp_path / "h.duckdb", tiers=[Tier(60 * S, None)])
    ids = h.register_tags(plant.tags.values())
    ts = np.arange(T0, END, 30 * S)
    m1 = np.select(
        [ts < T0 + 2 * H, ts < T0 + 6 * H, ts < T0 + 7 * H], [RUNNING, DOWN, IDLE], RUNNING
    )
    m2 = np.where((ts - T0) % H < 600 * S, DOWN, RUNNING)
    h.write(
        SampleBatch.concat(
            [
                SampleBatch.of(np.full(len(ts), ids[f"{M1}/state"]), ts, m1),
                SampleBatch.of(np.full(len(ts), ids[f"{M2}/state"]), ts, m2),
            ]
        )
    )
    try:
        yield h
    finally:
        h.close()


def test_a_failure_begun_before_the_range_keeps_its_start(
    plant: Plant, historian: DuckDBHistorian
) -> None:
    spans = asset_states(historian, plant, CONFIG, M1, T0 + 5 * H, END)
    down = [s for s in spans if s.category == "unplanned_downtime"]
    assert [(s.start_ns, s.end_ns) for s in down] == [(T0 + 2 * H, T0 + 6 * H)]
    r = asset_reliability(historian, plant, CONFIG, M1, T0 + 5 * H, END, orders=())
    assert r.total.failures == 0  # it began 3 h before the range: not a new failure
    assert r.total.down_s == 3600 and r.up_s == 4 * 3600


def test_the_whole_day_of_each_asset(plant: Plant, historian: DuckDBHistorian) -> None:
    one = asset_reliability(historian, plant, CONFIG, M1, T0, END, orders=())
    assert one.total.failures == 1 and one.total.mttr_s == 4 * 3600
    assert one.total.mtbf_s == 6 * 3600  # running and idle are up time
    two = asset_reliability(historian, plant, CONFIG, M2, T0, END, orders=())
    assert two.total.failures == 10 and two.total.mttr_s == pytest.approx(600)
    assert two.uptime_share == pytest.approx(50 / 60)


def test_unknown_assets_and_empty_ranges_are_refused(
    plant: Plant, historian: DuckDBHistorian
) -> None:
    with pytest.raises(UnknownTagError, match="no asset"):
        asset_states(historian, plant, CONFIG, f"{LINE}/nowhere", T0, END)
    with pytest.raises(QueryError, match="empty range"):
        asset_states(historian, plant, CONFIG, M1, END, T0)
    no_spec = OeeSpec.model_validate({"assets": {M2: {"from_enum": "state"}}})
    with pytest.raises(QueryError, match="no machine states"):
        asset_states(historian, plant, no_spec, M1, T0, END)
