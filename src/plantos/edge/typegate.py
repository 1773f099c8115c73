"""Keeping each tag's type promise at the ingest gate: a value that does not fit becomes
a Bad sample with a named reason, never a silent drop and never a wrong value downstream.

Checks are vectorised over the float column; only samples that carry text or an integer
beyond 2**53 (the ``exact`` column) are looked at one by one, so a batch of plain numbers
for float tags costs two array lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.core import quality
from plantos.core.batch import EXACT_INT, EXACT_TEXT, SampleBatch, exact_kinds
from plantos.model.plant import TagDef
from plantos.model.valuetypes import INT_BOUNDS

KINDS = ("float", "int", "uint", "bool", "enum", "text")
_FLOAT, _TEXT = KINDS.index("float"), KINDS.index("text")
_INTEGRAL = {KINDS.index(k): k for k in ("int", "uint", "bool", "enum")}

REASON_CODES = {
    "type_mismatch": quality.BAD_TYPE_MISMATCH,
    "not_integer": quality.BAD_TYPE_MISMATCH,
    "out_of_type_range": quality.BAD_OUT_OF_RANGE,
    "text_too_long": quality.BAD_OUT_OF_RANGE,
}
"""Why a sample was marked Bad, and the status code it is marked with."""

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Samples of a batch that did not fit their tag, for one reason."""

    reason: str
    mask: Mask


class TypeGate:
    """The type of every known tag id, and the check of a batch against them."""

    def __init__(self, tags: Mapping[int, TagDef]) -> None:
        size = max(tags, default=0) + 1
        self._kind = np.full(size, _FLOAT, dtype=np.uint8)
        self._max_length = np.zeros(size, dtype=np.int64)
        for tag_id, tag in tags.items():
            self._kind[tag_id] = KINDS.index(tag.dtype)
            self._max_length[tag_id] = tag.max_length or 0
        self._all_float = bool((self._kind == _FLOAT).all())

    def check(self, batch: SampleBatch) -> tuple[SampleBatch, list[Refusal]]:
        """``batch`` with every sample that claims a usable quality but does not fit its
        tag marked Bad (a too long text is also cut to the tag's length), and why."""
        if self._all_float and batch.exact is None:
            return batch, []
        ids = np.minimum(batch.tag_id, len(self._kind) - 1)
        kind = self._kind[ids]
        usable = (batch.quality & np.uint32(quality.BAD)) == 0
        text, big = text_and_big(batch)
        refusals = [
            Refusal("type_mismatch", usable & (text != (kind == _TEXT))),
        ]
        for code, name in _INTEGRAL.items():
            rows = usable & (kind == code) & ~text
            if rows.any():
                refusals += self._integral(batch, rows, big, name)
        exact = batch.exact
        if exact is not None:
            too_long = usable & text & (kind == _TEXT)
            if too_long.any():
                exact, cut = self._cut(exact, too_long, self._max_length[ids])
                refusals.append(Refusal("text_too_long", cut))
        refusals = [r for r in refusals if r.mask.any()]
        if not refusals:
            return batch, []
        codes = batch.quality.copy()
        for refusal in refusals:
            codes[refusal.mask] = REASON_CODES[refusal.reason]
        return SampleBatch(batch.tag_id, batch.ts, batch.value, codes, exact), refusals

    @staticmethod
    def _integral(batch: SampleBatch, rows: Mask, big: Mask, kind: str) -> list[Refusal]:
        """Whole numbers within the type's bounds; exact integers are checked exactly."""
        low, high = INT_BOUNDS[kind]
        value = batch.value
        plain = rows & ~big
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(value) & (value == np.floor(value))
            # float(high) rounds up to 2**63 or 2**64: a float equal to it is outside.
            inside = (value >= float(low)) & (value < float(high) + (1 if high < 2**53 else 0))
        outside = plain & whole & ~inside
        exact_rows = rows & big
        if exact_rows.any() and batch.exact is not None:
            # Between 2**53 and 2**62 the float is close enough to decide against any
            # bound (they are 0, 1, 2**31 or beyond 2**63); only the rest is looked at.
            with np.errstate(invalid="ignore"):
                outside |= exact_rows & ((value < low) | (value > high))
            near = exact_rows & (np.abs(value) >= 2.0**62)
            for i in np.flatnonzero(near).tolist():
                outside[i] = not low <= batch.exact[i] <= high
        # A NaN or infinity is no number at all: the gate's non-finite check marks it.
        fraction = plain & np.isfinite(value) & ~whole
        return [Refusal("not_integer", fraction), Refusal("out_of_type_range", outside)]

    @staticmethod
    def _cut(
        exact: npt.NDArray[np.object_], candidates: Mask, max_length: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.object_], Mask]:
        """Texts longer than their tag allows, cut to length (the cut text is evidence)."""
        rows = np.flatnonzero(candidates)
        lengths = np.fromiter(map(len, exact[rows]), dtype=np.int64, count=len(rows))
        limits = max_length[rows]
        long_rows = rows[(limits > 0) & (lengths > limits)]
        cut = np.zeros(len(exact), dtype=bool)
        if not len(long_rows):
            return exact, cut
        out = exact.copy()
        for i in long_rows.tolist():
            out[i] = exact[i][: int(max_length[i])]
        cut[long_rows] = True
        return out, cut


def text_and_big(batch: SampleBatch) -> tuple[Mask, Mask]:
    """Which samples carry text, and which an integer beyond 2**53."""
    if batch.exact is None:
        none = np.zeros(len(batch), dtype=bool)
        return none, none
    kinds = exact_kinds(batch.exact)
    text: Mask = kinds == EXACT_TEXT
    big: Mask = kinds == EXACT_INT
    return text, big
