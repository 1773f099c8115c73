"""The ingest gate keeps each tag's type promise: what does not fit becomes a Bad sample
with a counted, logged reason, and nothing that fits is touched."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.edge.normalise import Normaliser
from plantos.model.plant import TagDef

NOW = 1_767_225_600 * 1_000_000_000
KINDS = {1: "float", 2: "int", 3: "uint", 4: "bool", 5: "enum", 6: "text"}


def tag(tag_id: int) -> TagDef:
    kind = KINDS[tag_id]
    return TagDef(
        f"s/a/l/m/{kind}",
        "s/a/l/m",
        kind,
        kind,
        None,
        None,
        10**9,
        states={0: "off", 1: "on"} if kind == "enum" else None,
        max_length=8 if kind == "text" else None,
    )


def gate() -> Normaliser:
    return Normaliser(
        np.array(list(KINDS), dtype=np.int32),
        clock=ManualClock(NOW),
        tags={i: tag(i) for i in KINDS},
    )


def one(tag_id: int, value: object, code: int = quality.GOOD) -> SampleBatch:
    return SampleBatch.from_values([tag_id], [NOW], [value], [code])


@pytest.mark.parametrize(
    ("tag_id", "value"),
    [
        (1, 2.5),
        (1, 2**60 + 1),
        (2, -(2**63)),
        (2, 2**63 - 1),
        (2, 2**53 + 1),
        (3, 2**64 - 1),
        (3, 0),
        (4, True),
        (4, 0),
        (5, 7),
        (6, "P-100"),
        (6, ""),
    ],
)
def test_values_that_fit_pass_unchanged(tag_id: int, value: object) -> None:
    normalise = gate()
    out = normalise(one(tag_id, value))
    assert out.quality.tolist() == [quality.GOOD]
    kept = out.exact[0] if out.exact is not None and out.exact[0] is not None else out.value[0]
    assert kept == value
    assert not normalise.rejected


@pytest.mark.parametrize(
    ("tag_id", "value", "reason", "code"),
    [
        (1, "P-100", "type_mismatch", quality.BAD_TYPE_MISMATCH),
        (2, 2.5, "not_integer", quality.BAD_TYPE_MISMATCH),
        (2, 2**63, "out_of_type_range", quality.BAD_OUT_OF_RANGE),
        (2, float(2**63), "out_of_type_range", quality.BAD_OUT_OF_RANGE),
        (3, -1, "out_of_type_range", quality.BAD_OUT_OF_RANGE),
        (3, 2**64, "out_of_type_range", quality.BAD_OUT_OF_RANGE),
        (4, 2, "out_of_type_range", quality.BAD_OUT_OF_RANGE),
        (5, 2**31, "out_of_type_range", quality.BAD_OUT_OF_RANGE),
        (5, "running", "type_mismatch", quality.BAD_TYPE_MISMATCH),
        (6, 12.0, "type_mismatch", quality.BAD_TYPE_MISMATCH),
        (6, "ABCDEFGHIJ", "text_too_long", quality.BAD_OUT_OF_RANGE),
    ],
)
def test_values_that_do_not_fit_are_kept_bad_counted_and_logged(
    tag_id: int, value: object, reason: str, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    normalise = gate()
    with caplog.at_level(logging.WARNING):
        out = normalise(one(tag_id, value), source="plc-4")
    assert len(out) == 1, "a value that does not fit is kept as evidence, never dropped"
    assert out.quality.tolist() == [code]
    assert normalise.rejected == {reason: 1}
    assert reason in caplog.text and "plc-4" in caplog.text
    assert f"s/a/l/m/{KINDS[tag_id]}" in caplog.text, "the log line names the tag"


def test_a_text_too_long_is_cut_to_the_tag_length() -> None:
    out = gate()(one(6, "ABCDEFGHIJ"))
    assert out.exact is not None and out.exact[0] == "ABCDEFGH"


def test_samples_already_bad_are_not_judged_again() -> None:
    normalise = gate()
    out = normalise(one(2, np.nan, quality.BAD_COMMUNICATION_ERROR))
    assert out.quality.tolist() == [quality.BAD_COMMUNICATION_ERROR]
    assert not normalise.rejected


def test_a_restated_text_is_dropped_but_a_changed_text_at_the_same_time_is_kept() -> None:
    normalise = gate()
    assert len(normalise(one(6, "P-100"))) == 1
    assert len(normalise(one(6, "P-100"))) == 0
    assert len(normalise(one(6, "P-200"))) == 1
    assert normalise.restated == 1


def test_a_restated_exact_integer_is_dropped_but_its_neighbour_is_kept() -> None:
    """2**53 + 1 and 2**53 + 2 share a float; only the exact column tells them apart."""
    normalise = gate()
    assert len(normalise(one(2, 2**53 + 1))) == 1
    assert len(normalise(one(2, 2**53 + 1))) == 0
    assert len(normalise(one(2, 2**53 + 2))) == 1


def test_a_plain_float_after_an_exact_integer_is_no_restatement() -> None:
    normalise = gate()
    normalise(one(2, 2**60 + 1))
    assert len(normalise(one(2, float(2**60)))) == 1


@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(KINDS)),
            st.one_of(
                st.floats(allow_nan=True, allow_infinity=True),
                st.integers(min_value=-(2**70), max_value=2**70),
                st.booleans(),
                st.text(max_size=20),
            ),
        ),
        max_size=30,
    )
)
def test_every_sample_either_fits_its_tag_or_is_marked_bad(
    rows: list[tuple[int, object]],
) -> None:
    normalise = gate()
    batch = SampleBatch.from_values(
        [r[0] for r in rows], [NOW + i for i in range(len(rows))], [r[1] for r in rows]
    )
    out = normalise(batch)
    assert len(out) == len(rows), "nothing is dropped"
    exact = out.exact_column()
    for i, (tag_id, _) in enumerate(rows):
        if quality.severity(int(out.quality[i])) == "bad":
            continue
        value = exact[i] if exact[i] is not None else out.value[i]
        kind = KINDS[tag_id]
        if kind == "text":
            assert isinstance(value, str) and len(value) <= 8
        else:
            assert not isinstance(value, str) and np.isfinite(float(value))
        if kind in ("int", "uint", "bool", "enum"):
            assert float(value).is_integer()
        if kind == "uint":
            assert 0 <= int(value) < 2**64
        if kind == "bool":
            assert int(value) in (0, 1)
    assert sum(normalise.rejected.values()) == int(
        np.sum([quality.severity(int(c)) == "bad" for c in out.quality])
    )
