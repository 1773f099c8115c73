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
    """Per tag id: timestamp, value, exact value, quality, and whether it was a mark."""

    def __init__(self, size: int) -> None:
        self.ts = np.full(size, -1, dtype=np.int64)
        self.value = np.full(size, np.nan)
        self.exact: Exact = np.full(size, None, dtype=object)
        self.quality = np.zeros(size, dtype=np.uint32)
        self.mark = np.ones(size, dtype=bool)
        """True where the last sample was a mark or there is none: nothing to compare with."""

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
        """Record samples handed over, in order (a 1-D index assigns in order: last stays)."""
        self.ts[tag] = ts
        self.value[tag] = value
        self.exact[tag] = None if exact is None else exact
        self.quality[tag] = code
        self.mark[tag] = mark

    def repeated(
        self,
        tag: npt.NDArray[np.int32],
        ts: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        code: npt.NDArray[np.uint32],
        exact: Exact | None,
    ) -> npt.NDArray[np.bool_]:
        """Which samples equal their tag's last observation handed over."""
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
        held = self.exact[tag]
        has_exact = np.array([e is not None for e in held], dtype=bool)
        out: npt.NDArray[np.bool_] = ~np.isnan(self.value[tag]) | has_exact
        return out
