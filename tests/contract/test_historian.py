"""The historian contract: every backend stores every sample and answers aggregates exactly
as a plain numpy computation over the same samples would, via rollups or raw."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.errors import QueryError
from plantos.historian.protocol import Tier
from plantos.model.plant import TagDef
from tests.contract.conftest import HOUR, MINUTE, NS, HistorianFactory

T0 = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z, aligned to every tier


def tag(path: str) -> TagDef:
    return TagDef(
        path=path,
        asset="a",
        signal=path.rsplit("/", 1)[-1],
        dtype="float",
        unit="m",
        range=None,
        sampling_ns=NS,
    )


def reference(
    ts: np.ndarray, values: np.ndarray, q: np.ndarray, start: int, end: int, bucket: int
) -> dict[int, dict[str, float]]:
    """Aggregates per bucket the slow, obvious way."""
    usable = (q < 0x8000_0000) & np.isfinite(values) & (ts >= start) & (ts < end)
    out: dict[int, dict[str, float]] = {}
    for b in np.unique((ts[usable] // bucket) * bucket):
        sel = usable & ((ts // bucket) * bucket == b)
        order = np.argsort(ts[sel], kind="stable")
        v = values[sel][order]
        out[int(b)] = {
            "avg": float(v.mean()),
            "min": float(v.min()),
            "max": float(v.max()),
            "count": float(len(v)),
            "first": float(v[0]),
            "last": float(v[-1]),
        }
    return out


def check_against_reference(store, tag_id, ts, values, q, start, end, bucket) -> str:
    aggs = ["avg", "min", "max", "count", "first", "last"]
    result = store.query_buckets(tag_id, start, end, bucket_ns=bucket, aggs=aggs)
    expected = reference(ts, values, q, start, end, bucket)
    assert result.bucket_ns.tolist() == sorted(expected)
    for i, b in enumerate(result.bucket_ns.tolist()):
        for agg in aggs:
            assert result.values[agg][i] == pytest.approx(expected[b][agg], rel=1e-9, abs=1e-9), (
                agg,
                b,
            )
    return result.source


def test_tag_ids_are_stable_across_restarts_and_new_tags(open_store: HistorianFactory) -> None:
    store = open_store()
    first = store.register_tags([tag("s/a/l/x/one"), tag("s/a/l/x/two")])
    store.close()
    again = open_store().register_tags(
        [tag("s/a/l/x/zero"), tag("s/a/l/x/two"), tag("s/a/l/x/one")]
    )
    assert again["s/a/l/x/one"] == first["s/a/l/x/one"]
    assert again["s/a/l/x/two"] == first["s/a/l/x/two"]
    assert again["s/a/l/x/zero"] not in first.values()


def test_raw_samples_come_back_in_time_order_with_quality(open_store: HistorianFactory) -> None:
    store = open_store()
    ts = T0 + np.array([5, 1, 3, 2, 4]) * NS
    q = [
        quality.GOOD,
        quality.BAD_COMMUNICATION_ERROR,
        quality.GOOD,
        quality.UNCERTAIN,
        quality.GOOD,
    ]
    store.write(SampleBatch.of([7] * 5, ts, [5.0, 1.0, 3.0, 2.0, 4.0], q))
    store.write(SampleBatch.of([8], [T0 + 2 * NS], [99.0]))
    raw = store.query_raw(7, T0, T0 + 10 * NS, limit=100)
    assert raw.ts.tolist() == [T0 + i * NS for i in range(1, 6)]
    assert raw.value.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert raw.quality.tolist() == [
        quality.BAD_COMMUNICATION_ERROR,
        quality.UNCERTAIN,
        quality.GOOD,
        quality.GOOD,
        quality.GOOD,
    ]
    assert not raw.truncated
    limited = store.query_raw(7, T0, T0 + 10 * NS, limit=2)
    assert limited.truncated and len(limited.ts) == 2


def test_data_survives_close_and_reopen(open_store: HistorianFactory) -> None:
    store = open_store()
    store.write(SampleBatch.of([1] * 100, T0 + np.arange(100) * NS, np.arange(100.0)))
    store.close()
    reopened = open_store()
    assert len(reopened.query_raw(1, T0, T0 + 100 * NS, limit=1000).ts) == 100


def test_bad_and_nonfinite_samples_are_stored_but_never_aggregated(
    open_store: HistorianFactory,
) -> None:
    store = open_store()
    ts = T0 + np.arange(4) * NS
    store.write(
        SampleBatch.of(
            [1] * 4,
            ts,
            [1.0, np.nan, 1000.0, 3.0],
            [quality.GOOD, quality.BAD, quality.BAD_SENSOR_FAILURE, quality.UNCERTAIN],
        )
    )
    assert len(store.query_raw(1, T0, T0 + MINUTE, limit=10).ts) == 4
    r = store.query_buckets(1, T0, T0 + MINUTE, bucket_ns=MINUTE, aggs=["avg", "count", "max"])
    assert r.values["count"].tolist() == [2]
    assert r.values["avg"].tolist() == [2.0]
    assert r.values["max"].tolist() == [3.0]


def test_rollup_tier_answers_equal_the_raw_answers(open_store: HistorianFactory) -> None:
    rng = np.random.default_rng(3)
    n = 4 * 3600
    ts = T0 + np.arange(n) * NS + rng.integers(0, NS // 2, n)
    values = rng.normal(50, 5, n)
    store = open_store()
    store.write(SampleBatch.of(np.full(n, 1), ts, values))
    store.maintain(T0 + n * NS)
    stats = store.stats()
    assert stats["tiers"]["rollup_1m"]["rows"] == 239  # every closed minute but the open one
    assert stats["tiers"]["rollup_1h"]["rows"] == 3
    q = np.zeros(n, dtype=np.uint32)
    start, end = T0 + 1234 * NS, T0 + n * NS - 77 * NS  # edges not aligned to any tier
    # unaligned start from raw, then the widest tier, a finer one towards the end, raw last
    hourly = check_against_reference(store, 1, ts, values, q, start, end, HOUR)
    assert hourly == "raw+rollup_1h+rollup_1m+raw"
    ten_min = check_against_reference(store, 1, ts, values, q, start, end, 10 * MINUTE)
    assert ten_min == "raw+rollup_1m+raw"
    assert check_against_reference(store, 1, ts, values, q, start, end, 7 * NS) == "raw"


def test_late_samples_mark_rollups_dirty_until_recomputed(open_store: HistorianFactory) -> None:
    store = open_store()
    n = 3 * 3600
    ts = T0 + np.arange(n) * NS
    values = np.ones(n)
    store.write(SampleBatch.of(np.full(n, 1), ts, values))
    store.maintain(T0 + n * NS)
    late_ts, late_v = T0 + 10 * NS + NS // 2, 3601.0
    store.write(SampleBatch.of([1], [late_ts], [late_v]))
    dirty = store.query_buckets(1, T0, T0 + n * NS, bucket_ns=HOUR, aggs=["avg", "count"])
    assert dirty.source == "raw"  # the tier is not trusted while dirty
    assert dirty.values["count"].tolist() == [3601, 3600, 3600]
    assert store.maintain(T0 + n * NS)["recomputed"] >= 1
    fixed = store.query_buckets(1, T0, T0 + n * NS, bucket_ns=HOUR, aggs=["avg", "count"])
    assert fixed.source.startswith("rollup_1h")
    assert fixed.values["count"].tolist() == [3601, 3600, 3600]
    assert fixed.values["avg"][0] == pytest.approx((3600 + late_v) / 3601)


def test_time_weighted_average_weighs_by_how_long_a_value_held(
    open_store: HistorianFactory,
) -> None:
    store = open_store()
    # 0 holds for 50 s, then 10 holds for 10 s; then a new bucket starts at 60 s with 4.
    store.write(
        SampleBatch.of(
            [1, 1, 1, 1], [T0, T0 + 50 * NS, T0 + 60 * NS, T0 + 90 * NS], [0.0, 10.0, 4.0, 4.0]
        )
    )
    r = store.query_buckets(1, T0, T0 + 120 * NS, bucket_ns=MINUTE, aggs=["avg", "twa"])
    assert r.values["avg"].tolist() == [5.0, 4.0]
    assert r.values["twa"][0] == pytest.approx((0 * 50 + 10 * 10) / 60)
    assert r.values["twa"][1] == pytest.approx(4.0)


def test_time_weighted_average_is_the_same_through_rollups(open_store: HistorianFactory) -> None:
    rng = np.random.default_rng(9)
    n = 2 * 3600
    ts = T0 + np.sort(rng.choice(np.arange(n * 10), n, replace=False)) * (NS // 10)
    values = rng.normal(0, 1, n)
    store = open_store()
    store.write(SampleBatch.of(np.full(n, 1), ts, values))
    via_raw = store.query_buckets(1, T0, T0 + 2 * HOUR, bucket_ns=HOUR, aggs=["twa"])
    store.maintain(T0 + 3 * HOUR)
    via_tier = store.query_buckets(1, T0, T0 + 2 * HOUR, bucket_ns=HOUR, aggs=["twa"])
    assert via_raw.source == "raw" and via_tier.source.startswith("rollup_1h")
    assert via_tier.values["twa"] == pytest.approx(via_raw.values["twa"], rel=1e-9)


def test_retention_drops_old_data_but_never_what_is_not_rolled_up(
    open_store: HistorianFactory,
) -> None:
    store = open_store(tiers=[Tier(MINUTE, 2 * HOUR), Tier(HOUR, None)], raw_retention_ns=HOUR)
    n = 4 * 3600
    store.write(SampleBatch.of(np.full(n, 1), T0 + np.arange(n) * NS, np.ones(n)))
    done = store.maintain(T0 + n * NS)
    assert done["deleted"]["samples"] == 3 * 3600
    assert done["deleted"]["rollup_1m"] == 120
    raw = store.query_raw(1, T0, T0 + n * NS, limit=10**6)
    assert int(raw.ts.min()) == T0 + 3 * HOUR
    hours = store.query_buckets(1, T0, T0 + n * NS, bucket_ns=HOUR, aggs=["count"])
    assert hours.values["count"].tolist() == [3600, 3600, 3600, 3600]


@pytest.mark.parametrize(
    ("start", "end", "bucket", "aggs", "message"),
    [
        (T0 + NS, T0, MINUTE, ["avg"], "'from' must be before 'to'"),
        (T0, T0 + NS, 0, ["avg"], "bucket must be positive"),
        (T0, T0 + NS, MINUTE, ["median"], "unknown aggregate"),
        (T0, T0 + 10**7 * NS, NS, ["avg"], "more than 1,000,000 buckets"),
    ],
)
def test_malformed_queries_are_refused_with_a_reason(
    open_store: HistorianFactory, start: int, end: int, bucket: int, aggs: list[str], message: str
) -> None:
    with pytest.raises(QueryError, match=message):
        open_store().query_buckets(1, start, end, bucket_ns=bucket, aggs=aggs)


samples = st.lists(
    st.tuples(
        st.integers(0, 3 * 3600 * 1000),  # ms after T0, any order, duplicates allowed
        st.floats(-1e6, 1e6, allow_nan=False),
        st.sampled_from([quality.GOOD, quality.UNCERTAIN, quality.BAD]),
    ),
    min_size=1,
    max_size=300,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=samples, late=samples, bucket_s=st.sampled_from([1, 7, 60, 600, 3600]))
def test_any_arrival_order_gives_the_reference_aggregates(
    open_store: HistorianFactory, first: list, late: list, bucket_s: int
) -> None:
    store = open_store(name=f"example-{uuid.uuid4().hex}")
    tag_id = 1
    all_ts, all_v, all_q = [], [], []
    for chunk in (first, late):
        ts = T0 + np.array([c[0] for c in chunk], dtype=np.int64) * 1_000_000
        v = np.array([c[1] for c in chunk])
        q = np.array([c[2] for c in chunk], dtype=np.uint32)
        store.write(SampleBatch.of(np.full(len(ts), tag_id), ts, v, q))
        store.maintain(T0 + 4 * HOUR)
        all_ts.append(ts), all_v.append(v), all_q.append(q)
    ts, v, q = np.concatenate(all_ts), np.concatenate(all_v), np.concatenate(all_q)
    check_against_reference(store, tag_id, ts, v, q, T0, T0 + 4 * HOUR, bucket_s * NS)
    store.close()


def test_tiers_ordered_by_tag_answer_exactly_as_before(open_store: HistorianFactory) -> None:
    """Rewriting a tier in tag order (and writing late data after it) changes no answer."""
    rng = np.random.default_rng(5)
    store = open_store(compact_min_rows=500)
    hours, tags = 6, 20
    n = hours * 3600
    ts = T0 + np.arange(n) * NS
    all_tags, all_ts, all_v = [], [], []
    for h in range(hours):
        sl = slice(h * 3600, (h + 1) * 3600)
        tag = np.repeat(np.arange(1, tags + 1), 3600)
        t = np.tile(ts[sl], tags)
        v = rng.normal(size=len(t))
        store.write(SampleBatch.of(tag, t, v))
        done = store.maintain(int(t.max()))
        all_tags.append(tag), all_ts.append(t), all_v.append(v)
    assert (
        "rollup_1m" in done.get("compacted", [])
        or store.stats()["tiers"]["rollup_1m"]["ordered_rows"] > 0
    )
    late_t = T0 + np.array([30, 7200 + 5]) * NS
    store.write(SampleBatch.of([3, 3], late_t, [50.0, -50.0]))
    store.maintain(int(ts[-1]))
    tag_ids, times, values = map(np.concatenate, (all_tags, all_ts, all_v))
    for tag in (1, 3, tags):
        sel = tag_ids == tag
        t, v = times[sel], values[sel]
        if tag == 3:
            t, v = np.r_[t, late_t], np.r_[v, [50.0, -50.0]]
        q = np.zeros(len(t), dtype=np.uint32)
        source = check_against_reference(store, tag, t, v, q, T0, T0 + n * NS, MINUTE)
        assert source.startswith("rollup_1m")
        check_against_reference(store, tag, t, v, q, T0, T0 + n * NS, HOUR)


def test_late_data_for_many_tags_is_recomputed_in_one_pass(open_store: HistorianFactory) -> None:
    store = open_store()
    tags, n = 500, 600
    ts = T0 + np.arange(n) * NS
    store.write(
        SampleBatch.of(np.repeat(np.arange(1, tags + 1), n), np.tile(ts, tags), np.ones(tags * n))
    )
    store.write(SampleBatch.of([1], [T0 + 2 * HOUR], [1.0]))  # closes the first two hours
    store.maintain(T0 + 2 * HOUR)
    late = SampleBatch.of(np.arange(1, tags + 1), np.full(tags, T0 + 90 * NS), np.full(tags, 61.0))
    store.write(late)
    assert store.maintain(T0 + 2 * HOUR)["recomputed"] >= tags
    r = store.query_buckets(77, T0, T0 + HOUR, bucket_ns=MINUTE, aggs=["count", "max"])
    assert r.source.startswith("rollup_1m")
    assert r.values["count"][1] == 61 and r.values["max"][1] == 61.0


def test_the_store_checkpoints_after_writes_and_maintenance(open_store: HistorianFactory) -> None:
    """No statement leaves a transaction open: a checkpoint must always be possible."""
    store = open_store()
    for i in range(2):
        store.write(
            SampleBatch.of(np.full(3600, 1), T0 + (i * 3600 + np.arange(3600)) * NS, np.ones(3600))
        )
        store.maintain(T0 + (i + 1) * HOUR)
    store.write(SampleBatch.of([1], [T0 + 5 * NS], [2.0]))  # late: marks dirty in a transaction
    store.maintain(T0 + 2 * HOUR)
    store.checkpoint()


def test_a_reopened_store_answers_the_open_bucket_from_what_it_stored(
    open_store: HistorianFactory,
) -> None:
    store = open_store()
    n = 2 * 3600 + 1800
    ts = T0 + np.arange(n) * NS
    values = np.sin(np.arange(n) / 50.0)
    store.write(SampleBatch.of(np.full(n, 4), ts, values))
    store.maintain(int(ts[-1]))
    before = store.query_buckets(4, T0, T0 + 3 * HOUR, bucket_ns=MINUTE, aggs=["avg", "count"])
    store.close()
    reopened = open_store()
    after = reopened.query_buckets(4, T0, T0 + 3 * HOUR, bucket_ns=MINUTE, aggs=["avg", "count"])
    assert after.source == before.source == "rollup_1m+recent"
    assert after.values["count"].tolist() == before.values["count"].tolist()
    assert after.values["count"].sum() == n
    check_against_reference(
        reopened, 4, ts, values, np.zeros(n, np.uint32), T0, T0 + 3 * HOUR, MINUTE
    )


def test_a_long_gap_in_the_data_is_skipped_not_walked(open_store: HistorianFactory) -> None:
    """A device silent for two years: rolling up must not visit every empty span between."""
    store = open_store()
    two_years = 2 * 365 * 86_400 * NS
    early = T0 + np.arange(120) * NS
    late = early + two_years
    store.write(
        SampleBatch.of(np.full(240, 1), np.r_[early, late], np.r_[np.ones(120), 2 * np.ones(120)])
    )
    store.maintain(int(late[-1]))
    assert store.roll_statements < 20
    for start in (T0, T0 + two_years):
        r = store.query_buckets(1, start, start + HOUR, bucket_ns=MINUTE, aggs=["avg", "count"])
        assert r.values["count"].tolist() == [60, 60]
        assert r.source.startswith("rollup_1m")
