"""The last sample the Sparkplug host handed over for each tag: what a rebirth is
compared with, and what a rebirth request restates as ``UncertainLastUsableValue``.

A birth repeats the current value of every metric, often with the timestamp it was first
sent with. When the tag's last sample is that very observation (same timestamp, value,
exact value and quality), the repeat says nothing new and is not handed over again, so
it is not stored twice. After a mark (a rebirth request's Uncertain sample, a death's
Bad one) the repeat is handed over: it is what brings the tag back to Good.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from plantos.core.batch import Exact


class LastSamples:
    """Per tag id: timestamp, value, exact value, quality, and whether it was a mark.

    Samples are recorded as they are handed over, but written into the per-tag arrays
    only when they are read (a birth, a mark) or ``SETTLE_SAMPLES`` wait: then newest
    first, and a chunk whose tags all have a newer sample is skipped whole. A host fed
    the same tags message after message so writes each tag about once per settle, not
    once per sample, which made this bookkeeping a tenth of the host's handling time.
    """

    SETTLE_SAMPLES = 1 << 18
    """Samples recorded and not yet written at most (the chunks are the hand-over's own
    arrays, so this bounds the memory they keep alive)."""

    def __init__(self, size: int) -> None:
        self.ts = np.full(size, -1, dtype=np.int64)
        self.value = np.full(size, np.nan)
        self.exact: Exact = np.full(size, None, dtype=object)
        self.quality = np.zeros(size, dtype=np.uint32)
        self.mark = np.ones(size, dtype=bool)
        """True where the last sample was a mark or there is none: nothing to compare with."""
        self._pending: list[_Chunk] = []
        self._pending_samples = 0

    def observed(
        self,
        tag: npt.NDArray[np.int32],
        ts: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        code: npt.NDArray[np.uint32],
        exact: Exact | None,
        *,
        mark: bool = False,
    ) -> None:
        """Record samples handed over, in order (the arrays must not change afterwards)."""
        if not len(tag):
            return
        self._pending.append((tag, ts, value, code, exact, mark))
        self._pending_samples += len(tag)
        if self._pending_samples >= self.SETTLE_SAMPLES:
            self._settle()

    def repeated(
        self,
        tag: npt.NDArray[np.int32],
        ts: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        code: npt.NDArray[np.uint32],
        exact: Exact | None,
    ) -> npt.NDArray[np.bool_]:
        """Which samples equal their tag's last observation handed over."""
        self._settle()
        same_value = (self.value[tag] == value) | (np.isnan(self.value[tag]) & np.isnan(value))
        held = self.exact[tag]
        if exact is None:
            same_exact = np.array([e is None for e in held], dtype=bool)
        else:
            same_exact = np.array(
                [type(a) is type(b) and a == b for a, b in zip(held, exact, strict=True)],
                dtype=bool,
            )
        same: npt.NDArray[np.bool_] = (
            ~self.mark[tag]
            & (self.ts[tag] == ts)
            & (self.quality[tag] == code)
            & same_value
            & same_exact
        )
        return same

    def usable(self, tag: npt.NDArray[np.int32]) -> npt.NDArray[np.bool_]:
        """Tags with a last value to restate: a number or an exact value."""
        self._settle()
        held = self.exact[tag]
        has_exact = np.array([e is not None for e in held], dtype=bool)
        out: npt.NDArray[np.bool_] = ~np.isnan(self.value[tag]) | has_exact
        return out

    def held(self, tag: npt.NDArray[np.int32]) -> tuple[npt.NDArray[np.float64], Exact]:
        """The last value and exact value of each tag."""
        self._settle()
        return self.value[tag], self.exact[tag]

    def _settle(self) -> None:
        """Write the recorded samples into the arrays, newest first (see the class doc):
        of each chunk only the newest sample of each tag not written yet, found with one
        scatter of positions (a chunk holds a tag once per message)."""
        pending, self._pending = self._pending, []
        self._pending_samples = 0
        unseen = np.ones(len(self.ts), dtype=bool)
        newest = np.empty(len(self.ts), dtype=np.intp)
        for tag, ts, value, code, exact, mark in reversed(pending):
            newest.fill(-1)
            newest[tag] = np.arange(len(tag))  # a 1-D index assigns in order: the last stays
            fresh = unseen & (newest >= 0)
            if not fresh.any():
                continue
            pick = newest[fresh]
            self._write(
                tag[pick], ts[pick], value[pick], code[pick],
                None if exact is None else exact[pick], mark,
            )  # fmt: skip
            unseen &= ~fresh

    def _write(
        self,
        tag: npt.NDArray[np.int32],
        ts: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        code: npt.NDArray[np.uint32],
        exact: Exact | None,
        mark: bool,
    ) -> None:
        """One chunk into the arrays (a 1-D index assigns in order: the last stays)."""
        self.ts[tag] = ts
        self.value[tag] = value
        self.exact[tag] = None if exact is None else exact
        self.quality[tag] = code
        self.mark[tag] = mark


_Chunk = tuple[
    npt.NDArray[np.int32],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.uint32],
    "Exact | None",
    bool,
]
