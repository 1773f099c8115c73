"""The Sparkplug host's last samples, written late and newest first, against writing each
chunk as it comes: the same per-tag state whatever the chunks and whenever it is read."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from plantos.edge.sparkplug.last import LastSamples

SIZE = 12

chunk = st.tuples(
    st.lists(
        st.tuples(
            st.integers(0, SIZE - 1),
            st.integers(-1, 3),
            st.sampled_from([0.0, 1.5, float("nan")]),
            st.sampled_from([0, 0x80000000]),
            st.sampled_from([None, "a", 7]),
        ),
        max_size=15,
    ),
    st.booleans(),  # a mark
    st.booleans(),  # read after it
)


def columns(rows: list[tuple[int, int, float, int, object]]) -> tuple[np.ndarray, ...]:
    tag, ts, value, code, exact = zip(*rows, strict=True) if rows else ([], [], [], [], [])
    ex = np.empty(len(rows), dtype=object)
    ex[:] = list(exact)
    return (
        np.array(tag, np.int32),
        np.array(ts, np.int64),
        np.array(value, np.float64),
        np.array(code, np.uint32),
        None if all(e is None for e in exact) else ex,
    )


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(chunk, max_size=12), settle=st.integers(1, 40))
def test_late_newest_first_writes_equal_writes_in_order(
    chunks: list[tuple[list[tuple[int, int, float, int, object]], bool, bool]], settle: int
) -> None:
    late = LastSamples(SIZE)
    late.SETTLE_SAMPLES = settle  # type: ignore[misc]
    eager = LastSamples(SIZE)
    eager.SETTLE_SAMPLES = 1  # type: ignore[misc]
    everything = np.arange(SIZE, dtype=np.int32)
    for rows, mark, read in chunks:
        tag, ts, value, code, exact = columns(rows)
        for held in (late, eager):
            held.observed(tag, ts, value, code, exact, mark=mark)
        if read:
            probe = columns([(t, 0, 1.5, 0, None) for t in range(SIZE)])
            assert late.repeated(*probe).tolist() == eager.repeated(*probe).tolist()
    assert late.usable(everything).tolist() == eager.usable(everything).tolist()
    values, exact = late.held(everything)
    want_values, want_exact = eager.held(everything)
    assert np.array_equal(values, want_values, equal_nan=True)
    assert exact.tolist() == want_exact.tolist()
    for name in ("ts", "quality", "mark"):
        assert getattr(late, name).tolist() == getattr(eager, name).tolist()
