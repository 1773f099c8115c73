"""A stop that began long before a recomputed range keeps its live start in the historian
replay, and with it the reason an operator gave it: historical equals live for the range,
also after live OEE was rebuilt from the historian (a restart)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from plantos.analytics.oee import LiveOee, OeeSpec, historical_report
from plantos.core.batch import SampleBatch
from plantos.core.timeparse import parse_time_ns
from plantos.historian.duckdb_store import DuckDBHistorian
from plantos.historian.protocol import RawResult, Tier
from plantos.model import Plant, load_plant
from tests.support.server import SMALL_PLANT

S = 1_000_000_000
H = 3600 * S
T0 = parse_time_ns("2026-01-05T00:00:00Z", now_ns=0)
LINE = "site-1/mixing/line-1"
M1, M2 = f"{LINE}/mixer-1", f"{LINE}/mixer-2"
RUNNING, DOWN = 2.0, 3.0
STOP_AT = T0 + 2 * H
RANGE = (T0 + 6 * H, T0 + 7 * H)  # its lookback starts 3 h after the stops began
END = T0 + 10 * H
CONFIG = OeeSpec.model_validate(
    {
        "asset_types": {"mixer": {"from_enum": "state", "stale_after": "5m"}},
        "assets": {  # mixer-2 by a rule: running while hot, held across short cool spells
            M2: {
                "from_enum": None,
                "rules": [{"state": "running", "when": "temperature > 50", "hold": "2m"}],
                "default_state": "down",
            }
        },
    }
)


@pytest.fixture
def plant(tmp_path: Path) -> Plant:
    (tmp_path / "plantos.yaml").write_text(SMALL_PLANT)
    return load_plant(tmp_path / "plantos.yaml")


@pytest.fixture
def historian(tmp_path: Path) -> Iterator[DuckDBHistorian]:
    h = DuckDBHistorian(tmp_path / "h.duckdb", tiers=[Tier(60 * S, None)])
    try:
        yield h
    finally:
        h.close()


Columns = dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]
"""Samples as ``{tag path: (times, values)}``."""


def run(plant: Plant, historian: DuckDBHistorian, config: OeeSpec, columns: Columns) -> LiveOee:
    """Live OEE fed the samples in 5-minute slices, as the stream would; the history kept."""
    ids = historian.register_tags(plant.tags.values())
    parts = [SampleBatch.of(np.full(len(ts), ids[tag]), ts, v) for tag, (ts, v) in columns.items()]
    batch = SampleBatch.concat(parts)
    batch = batch.select(np.argsort(batch.ts, kind="stable"))
    live = LiveOee(plant, config, ids)
    for t in range(T0, END, 300 * S):
        live.feed(batch.select((batch.ts >= t) & (batch.ts < t + 300 * S)))
    historian.write(batch)
    return live


def eight_hour_stops() -> Columns:
    """Both mixers run for two hours, then stand still to the end, sampled every 30 s."""
    ts = np.arange(T0, END, 30 * S)
    return {
        f"{M1}/state": (ts, np.where(ts < STOP_AT, RUNNING, DOWN)),
        f"{M2}/temperature": (ts, np.where(ts < STOP_AT, 60.0, 20.0)),
    }


def test_a_stop_longer_than_the_lookback_keeps_its_reason_in_the_replay(
    plant: Plant, historian: DuckDBHistorian
) -> None:
    live = run(plant, historian, CONFIG, eight_hour_stops())
    for asset, reason in ((M1, "seal leak"), (M2, "no material")):
        [stop] = live.stops(asset, *RANGE)
        assert stop.state == "down" and stop.start_ns < RANGE[0] - H  # before the lookback
        live.assign_reason(asset, stop.start_ns, reason, by="anna")
    assert live.stops(M1, *RANGE)[0].start_ns == STOP_AT
    assert live.stops(M2, *RANGE)[0].start_ns > STOP_AT  # once the hold ran out

    past = historical_report(historian, plant, CONFIG, *RANGE, reasons=live.reasons)
    assert past == live.report(*RANGE)
    assert past.assets[M1].reasons == {"seal leak": H}
    assert past.assets[M2].reasons == {"no material": H}
    assert past.nodes[LINE].reasons == {"seal leak": H, "no material": H}


def test_the_search_for_the_start_is_bounded(plant: Plant, historian: DuckDBHistorian) -> None:
    live = run(plant, historian, CONFIG, eight_hour_stops())
    live.assign_reason(M1, STOP_AT, "seal leak", by="anna")
    near = historical_report(
        historian, plant, CONFIG, *RANGE, reasons=live.reasons, max_lookback_ns=2 * H
    )
    assert near.assets[M1].reasons == {"unassigned": H}  # the stop began 4 h before


def test_a_state_sent_only_when_it_changes_is_found_far_back(
    plant: Plant, historian: DuckDBHistorian
) -> None:
    config = OeeSpec.model_validate({"asset_types": {"mixer": {"from_enum": "state"}}})
    changes = np.array([T0, STOP_AT])
    live = run(
        plant,
        historian,
        config,
        {f"{M1}/state": (changes, np.array([RUNNING, DOWN]))},
    )
    [stop] = live.stops(M1, *RANGE)
    assert stop.start_ns == STOP_AT
    live.assign_reason(M1, STOP_AT, "seal leak", by="anna")
    past = historical_report(historian, plant, config, *RANGE, reasons=live.reasons)
    assert past == live.report(*RANGE)
    assert past.assets[M1].reasons == {"seal leak": H}


def test_live_oee_rebuilt_from_the_historian_equals_what_live_knew(
    plant: Plant, historian: DuckDBHistorian
) -> None:
    live = run(plant, historian, CONFIG, eight_hour_stops())
    live.assign_reason(M1, STOP_AT, "seal leak", by="anna")
    restarted = LiveOee(plant, CONFIG, historian.tag_ids(), reasons=live.reasons)
    restarted.warm_up(historian, END)
    for asset in (M1, M2):
        assert restarted.stops(asset, T0, END) == live.stops(asset, T0, END)
    assert restarted.report(T0, END) == live.report(T0, END)
    assert restarted.current(END) == live.current(END)


class CountingHistorian(DuckDBHistorian):
    """The real historian, counting its raw reads."""

    reads = 0

    def query_raw(self, tag_id: int, start_ns: int, end_ns: int, *, limit: int) -> RawResult:
        self.reads += 1
        return super().query_raw(tag_id, start_ns, end_ns, limit=limit)


def test_the_search_never_looks_before_the_oldest_sample(plant: Plant, tmp_path: Path) -> None:
    """A fresh historian costs a read a tag and the replay of the shift, not a search through
    a week of hourly windows (over 300 reads for these two tags); data that began with the
    stop is searched back to its start, not to the week bound."""
    h = CountingHistorian(tmp_path / "fresh.duckdb", tiers=[Tier(60 * S, None)])
    try:
        ids = h.register_tags(plant.tags.values())
        live = LiveOee(plant, CONFIG, ids)
        live.warm_up(h, END)
        assert h.reads < 50
        ts = np.arange(STOP_AT, END, 30 * S)  # the data begins with the stop
        h.write(SampleBatch.of(np.full(len(ts), ids[f"{M1}/state"]), ts, np.full(len(ts), DOWN)))
        h.reads = 0
        live = LiveOee(plant, CONFIG, ids)
        live.warm_up(h, END)
        assert 0 < h.reads < 200
        [stop] = live.stops(M1, STOP_AT, END)
        assert stop.start_ns == STOP_AT
    finally:
        h.close()
