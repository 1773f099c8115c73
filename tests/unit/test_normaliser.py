"""The gate before the bus: bad input is counted and explained, never passed on silently."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.edge.normalise import LINK_MARKS, Normaliser
from plantos.live.state import LiveState

NOW = 1_767_225_600 * 1_000_000_000


def gate() -> Normaliser:
    return Normaliser(np.array([1, 2, 5], dtype=np.int32), clock=ManualClock(NOW))


def test_unknown_tags_are_rejected_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    normalise = gate()
    with caplog.at_level(logging.WARNING):
        out = normalise(SampleBatch.of([1, 3, -4, 99, 5], [NOW] * 5, [1.0] * 5), source="opcua")
    assert out.tag_id.tolist() == [1, 5]
    assert normalise.rejected == {"unknown_tag": 3}
    assert "unknown_tag: 3 samples from opcua" in caplog.text


def test_impossible_timestamps_are_rejected() -> None:
    normalise = gate()
    far_future = NOW + 10 * 86_400 * 1_000_000_000
    out = normalise(SampleBatch.of([1, 1, 1], [0, NOW, far_future], [1.0, 2.0, 3.0]))
    assert out.value.tolist() == [2.0]
    assert normalise.rejected == {"bad_timestamp": 2}


def test_nonfinite_values_claiming_good_quality_are_kept_but_marked_bad() -> None:
    normalise = gate()
    batch = SampleBatch.of(
        [1, 2, 5],
        [NOW] * 3,
        [np.nan, np.inf, 1.0],
        [quality.GOOD, quality.BAD_SENSOR_FAILURE, quality.GOOD],
    )
    out = normalise(batch)
    assert out.quality.tolist() == [
        quality.BAD_OUT_OF_RANGE,
        quality.BAD_SENSOR_FAILURE,
        quality.GOOD,
    ]
    assert normalise.rejected == {"nonfinite_marked_bad": 1}
    assert normalise.accepted == 3


def test_repeated_rejections_are_logged_at_a_bounded_rate(caplog: pytest.LogCaptureFixture) -> None:
    normalise = gate()
    with caplog.at_level(logging.WARNING):
        for _ in range(50):
            normalise(SampleBatch.of([42], [NOW], [1.0]))
    assert normalise.rejected["unknown_tag"] == 50
    assert caplog.text.count("unknown_tag") == 1


def test_a_restated_newest_sample_is_dropped_and_counted_but_a_new_one_is_kept() -> None:
    g = gate()
    t = NOW - 10_000
    first = g(SampleBatch.of([1, 2, 5], [t, t, t], [1.0, np.nan, 3.0], [0, quality.BAD, 0]))
    assert len(first) == 3
    # a reconnect restates every current value; tag 5 also brings a newer sample
    again = g(
        SampleBatch.of(
            [1, 2, 5, 5], [t, t, t, t + 1], [1.0, np.nan, 3.0, 3.0], [0, quality.BAD, 0, 0]
        )
    )
    assert again.tag_id.tolist() == [5] and again.ts.tolist() == [t + 1]
    # same timestamp with another value or quality is not a restatement
    changed = g(SampleBatch.of([1, 2], [t, t], [1.5, np.nan], [0, quality.BAD_SENSOR_FAILURE]))
    assert len(changed) == 2
    # an older (late, replayed) sample is not a restatement either
    late = g(SampleBatch.of([1], [t - 5], [1.0]))
    assert len(late) == 1
    assert g.metrics()["restated"] == 3 and g.metrics()["rejected"] == {}


def test_a_value_restated_after_a_link_loss_mark_is_still_a_restatement() -> None:
    g = gate()
    t = NOW - 10_000
    g(SampleBatch.of([1], [t], [4.0]))
    g(SampleBatch.of([1], [t + 50], [np.nan], [quality.BAD_COMMUNICATION_ERROR]))
    again = g(SampleBatch.of([1, 1], [t, t + 100], [4.0, 4.5]))  # reconnect: restate, then new
    assert again.ts.tolist() == [t + 100] and g.metrics()["restated"] == 1


@pytest.mark.parametrize(
    "mark", [quality.BAD_COMMUNICATION_ERROR, quality.UNCERTAIN_LAST_USABLE_VALUE]
)
def test_a_value_confirmed_after_a_link_loss_mark_restores_live_state_once(mark: int) -> None:
    """Reconnect without a change: the device restates its value with the old timestamp.
    Stored again it would be a second row of one observation; dropped unseen the tag would
    stay marked for good. It is not stored, and the live state takes it back, once."""
    g = gate()
    live = LiveState(6)
    g.on_confirmed = lambda batch: live.restore(batch, marks=LINK_MARKS)
    t = NOW - 10_000
    big = 2**60 + 1  # exact: the restatement is recognised by the exact column too
    first = g(SampleBatch.from_values([1, 2], [t, t], [4.0, big]))
    live.update(first)
    marks = g(SampleBatch.from_values([1, 2], [t + 50] * 2, [4.0, big], [mark] * 2))
    live.update(marks)
    back = g(SampleBatch.from_values([1, 2], [t, t], [4.0, big]))
    assert len(back) == 0, "nothing is stored twice"
    for tag_id, value in ((1, 4.0), (2, big)):
        held = live.get(tag_id)
        assert held is not None and held.quality == quality.GOOD and held.ts_ns == t
        assert (held.exact if held.exact is not None else held.value) == value
    calls: list[SampleBatch] = []
    g.on_confirmed = calls.append
    assert len(g(SampleBatch.from_values([1, 2], [t, t], [4.0, big]))) == 0
    assert not calls, "a later repeat is a plain restatement"
    assert g.metrics()["restated"] == 4


def test_a_change_older_than_a_link_loss_mark_still_reaches_the_live_state() -> None:
    """A Sparkplug host marks a born node's tags Uncertain when it asks for a rebirth (a
    seq gap), stamped with its own clock; the births then restate a change stamped by
    the device a moment before the mark. It is stored, and the live state shows it
    rather than the old value under the mark. A sample older than the device's newest
    observation stays history only."""
    g = gate()
    live = LiveState(6)
    g.on_confirmed = lambda batch: live.restore(batch, marks=LINK_MARKS)
    t = NOW - 10_000
    for batch in (
        SampleBatch.of([1, 2], [t, t], [0.0, 7.0]),
        SampleBatch.of([1, 2], [t + 50] * 2, [0.0, 7.0], [quality.UNCERTAIN_LAST_USABLE_VALUE] * 2),
    ):
        live.update(g(batch))
    births = g(SampleBatch.of([1, 2], [t + 40, t - 5], [2.0, 6.0]))
    live.update(births)
    assert births.tag_id.tolist() == [1, 2], "both are observations: both are stored"
    held = live.get(1)
    assert held is not None and (held.ts_ns, held.value, held.quality) == (t + 40, 2.0, 0)
    old = live.get(2)
    assert old is not None and old.quality == quality.UNCERTAIN_LAST_USABLE_VALUE
    assert old.value == 7.0, "an observation older than the newest known is no current value"
