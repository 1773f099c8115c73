"""Part counts from counter tags: deltas that survive resets, rollovers and bad samples.

PLC part counters only ever go up, until someone resets them (back to zero at
a shift change or a new order) or they wrap at their register's maximum. A
counter that goes down is therefore read as a reset (the new value is what was
counted since) or, close to ``rollover``, as a wrap. NaN, infinite and
bad-quality samples carry no count: they are skipped, and the next good sample
is compared with the last good one, so a gap loses nothing.

>>> deltas, last = counter_deltas(np.array([10.0, 12.0, np.nan, 15.0, 2.0]), last=9.0)
>>> deltas.tolist(), last
([1, 2, 0, 3, 2], 2.0)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def counter_deltas(
    values: FloatArray,
    *,
    last: float,
    valid: BoolArray | None = None,
    rollover: int | None = None,
) -> tuple[IntArray, float]:
    """Parts counted at each sample, and the last good value to carry to the next batch.

    ``last`` is the previous good value (NaN when there is none yet: the first
    good sample then only sets the baseline). ``valid`` marks samples whose
    quality is good; non-finite values are never valid.
    """
    ok = np.isfinite(values)
    if valid is not None:
        ok &= valid
    clean = np.where(ok, np.round(values), np.nan)
    if not ok.any():
        return np.zeros(len(values), dtype=np.int64), last
    seq = np.concatenate(([last], clean))
    index = np.where(np.isfinite(seq), np.arange(len(seq)), 0)
    np.maximum.accumulate(index, out=index)
    previous = seq[index][:-1]
    delta = clean - previous
    reset = delta < 0
    if reset.any():
        wrapped = clean + (rollover + 1 if rollover else 0) - previous
        near_top = previous > rollover / 2 if rollover else np.zeros(len(delta), dtype=np.bool_)
        delta = np.where(reset, np.where(near_top, wrapped, clean), delta)
    counted = np.where(np.isfinite(delta) & ok, delta, 0.0).astype(np.int64)
    new_last = float(clean[np.flatnonzero(ok)[-1]])
    return counted, new_last
