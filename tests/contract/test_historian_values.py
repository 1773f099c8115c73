"""The historian keeps every value type exactly: text and integers beyond 2**53 come back
as they went in, through raw queries, state buckets and restarts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.errors import QueryError
from plantos.historian.duckdb_store import DuckDBHistorian
from plantos.historian.protocol import Tier
from plantos.historian.request import HistoryRequest
from plantos.model.plant import TagDef
from tests.contract.conftest import MINUTE, NS, HistorianFactory

T0 = 1_767_225_600 * NS


def tag(signal: str, dtype: str) -> TagDef:
    return TagDef(f"s/a/l/m/{signal}", "s/a/l/m", signal, dtype, None, None, NS)


TAGS = [tag("program", "text"), tag("parts", "int"), tag("energy", "uint"), tag("temp", "float")]


def stored(open_store: HistorianFactory) -> tuple[object, dict[str, int]]:
    store = open_store()
    return store, store.register_tags(TAGS)


def test_text_and_exact_integers_come_back_exact_after_a_restart(
    open_store: HistorianFactory,
) -> None:
    store, ids = stored(open_store)
    p, n, e = ids["s/a/l/m/program"], ids["s/a/l/m/parts"], ids["s/a/l/m/energy"]
    store.write(
        SampleBatch.from_values(
            [p, n, e, p, n, e],
            [T0, T0, T0, T0 + NS, T0 + NS, T0 + NS],
            ["O1234 ROUGH", 2**53 + 1, 2**64 - 1, "O1235 FINISH", -(2**63), 17],
        )
    )
    store.close()
    store = open_store()
    program = store.query_raw(p, T0, T0 + 10 * NS, limit=10)
    assert program.exact is not None and program.exact.tolist() == ["O1234 ROUGH", "O1235 FINISH"]
    parts = store.query_raw(n, T0, T0 + 10 * NS, limit=10)
    assert parts.exact is not None and parts.exact.tolist() == [2**53 + 1, -(2**63)]
    energy = store.query_raw(e, T0, T0 + 10 * NS, limit=10)
    assert energy.exact is not None and energy.exact.tolist() == [2**64 - 1, None]
    assert energy.value.tolist()[1] == 17.0


def test_a_batch_of_plain_numbers_reads_back_without_an_exact_column(
    open_store: HistorianFactory,
) -> None:
    store, ids = stored(open_store)
    t = ids["s/a/l/m/temp"]
    store.write(SampleBatch.of([t] * 3, T0 + np.arange(3) * NS, [1.0, 2.0, 3.0]))
    assert store.query_raw(t, T0, T0 + 10 * NS, limit=10).exact is None


def test_text_buckets_give_first_last_count_and_changes(open_store: HistorianFactory) -> None:
    store, ids = stored(open_store)
    p = ids["s/a/l/m/program"]
    programs = ["A", "A", "B", "B", "A", "C"]  # one sample every 20 s
    store.write(SampleBatch.from_values([p] * 6, T0 + np.arange(6) * 20 * NS, programs))
    result = store.query_buckets(
        p, T0, T0 + 2 * MINUTE, bucket_ns=MINUTE, aggs=["first", "last", "count", "changes"]
    )
    assert result.bucket_ns.tolist() == [T0, T0 + MINUTE]
    assert result.exact["first"].tolist() == ["A", "B"]
    assert result.exact["last"].tolist() == ["B", "C"]
    assert result.values["count"].tolist() == [3, 3]
    # A -> B in the first minute; B (held from before) -> A -> C in the second.
    assert result.values["changes"].tolist() == [1, 2]
    later = store.query_buckets(p, T0 + MINUTE, T0 + 2 * MINUTE, bucket_ns=MINUTE, aggs=["changes"])
    assert later.values["changes"].tolist() == [2], "the sample before the range counts"


def test_bad_text_samples_are_kept_but_never_aggregated(open_store: HistorianFactory) -> None:
    store, ids = stored(open_store)
    p = ids["s/a/l/m/program"]
    store.write(
        SampleBatch.from_values(
            [p] * 3,
            [T0, T0 + NS, T0 + 2 * NS],
            ["A", "X", "A"],
            [quality.GOOD, quality.BAD_TYPE_MISMATCH, quality.GOOD],
        )
    )
    raw = store.query_raw(p, T0, T0 + MINUTE, limit=10)
    assert raw.exact is not None and raw.exact.tolist() == ["A", "X", "A"]
    result = store.query_buckets(p, T0, T0 + MINUTE, bucket_ns=MINUTE, aggs=["count", "changes"])
    assert result.values["count"].tolist() == [2]
    assert result.values["changes"].tolist() == [0]


def test_numbers_of_a_text_tag_are_refused_with_a_reason(open_store: HistorianFactory) -> None:
    store, ids = stored(open_store)
    with pytest.raises(QueryError, match="a text tag has no avg, twa"):
        store.query_buckets(
            ids["s/a/l/m/program"], T0, T0 + MINUTE, bucket_ns=MINUTE, aggs=["avg", "twa"]
        )


def test_changes_and_sums_of_a_number_tag_beside_its_rollups(open_store: HistorianFactory) -> None:
    store, ids = stored(open_store)
    t = ids["s/a/l/m/temp"]
    values = [1.0, 1.0, 2.0, 2.0, 2.0, 1.0]
    store.write(SampleBatch.of([t] * 6, T0 + np.arange(6) * 20 * NS, values))
    store.maintain(T0 + 10 * MINUTE)
    result = store.query_buckets(
        t, T0, T0 + 2 * MINUTE, bucket_ns=MINUTE, aggs=["sum", "changes", "max"]
    )
    assert result.values["sum"].tolist() == [4.0, 5.0]
    assert result.values["changes"].tolist() == [1, 1]
    assert result.values["max"].tolist() == [2.0, 2.0]


def test_the_request_answers_in_json_types_that_keep_every_digit(
    open_store: HistorianFactory,
) -> None:
    store, ids = stored(open_store)
    p, n = ids["s/a/l/m/program"], ids["s/a/l/m/parts"]
    store.write(SampleBatch.from_values([p, n, n], [T0, T0, T0 + NS], ["O1", 2**63 - 1, 5]))
    raw = HistoryRequest.parse(now_ns=T0 + MINUTE, start="2026-01-01T00:00:00Z")
    assert raw.run(store, n, "int")["value"] == [2**63 - 1, 5]
    assert raw.run(store, p, "text")["value"] == ["O1"]
    bucketed = HistoryRequest.parse(now_ns=T0 + MINUTE, start="2026-01-01T00:00:00Z", bucket="1m")
    answer = bucketed.run(store, p, "text")
    assert answer["last"] == ["O1"], "a text tag's buckets default to its last value"


def test_a_historian_file_from_before_exact_values_takes_them_too(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE samples (tag_id INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE,"
        " quality UINTEGER NOT NULL)"
    )
    con.execute(f"INSERT INTO samples VALUES (1, {T0}, 4.5, 0)")
    con.close()
    store = DuckDBHistorian(path, tiers=[Tier(MINUTE, None)])
    try:
        store.write(SampleBatch.from_values([1], [T0 + NS], ["new"]))
        raw = store.query_raw(1, T0, T0 + MINUTE, limit=10)
        assert raw.value.tolist()[0] == 4.5
        assert raw.exact is not None and raw.exact.tolist() == [None, "new"]
    finally:
        store.close()


exact_values = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(exact_values, min_size=1, max_size=40))
def test_any_mix_of_values_round_trips(open_store: HistorianFactory, values: list[object]) -> None:
    store = open_store(name=f"mix{abs(hash(tuple(map(repr, values))))}")
    store.write(SampleBatch.from_values([1] * len(values), T0 + np.arange(len(values)), values))
    raw = store.query_raw(1, T0, T0 + len(values), limit=100)
    exact = raw.exact if raw.exact is not None else [None] * len(values)
    back = [e if e is not None else v for e, v in zip(exact, raw.value.tolist(), strict=True)]
    assert back == values
