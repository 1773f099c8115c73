"""Last value per tag in flat numpy arrays indexed by tag id: O(1) to read, one
vectorised pass per batch to update.

A sample older than the value already held (a late or replayed sample) does not
overwrite it: the live state always shows the newest known value. Text and integers a
float cannot hold are kept beside the numbers (see :mod:`plantos.core.batch`); a batch of
plain numbers updates them with one vectorised pass too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.core.batch import SampleBatch, exact_held

_NEVER = np.iinfo(np.int64).min


@dataclass(frozen=True, slots=True)
class LiveValue:
    tag_id: int
    ts_ns: int
    value: float
    quality: int
    exact: int | str | None = None


class LiveState:
    """Holds the newest sample of each tag id below ``capacity``."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.ts = np.full(capacity, _NEVER, dtype=np.int64)
        self.value = np.full(capacity, np.nan, dtype=np.float64)
        self.quality = np.zeros(capacity, dtype=np.uint32)
        self.exact = np.full(capacity, None, dtype=object)
        #: Which tags hold an ``exact`` value, so a numeric batch compares without objects.
        self.has_exact = np.zeros(capacity, dtype=bool)
        self.updates = 0

    @property
    def capacity(self) -> int:
        return len(self.ts)

    def update(self, batch: SampleBatch) -> None:
        """Take the newest sample of each tag in ``batch`` where it is newer than what is held."""
        if len(batch) == 0:
            return
        if int(batch.tag_id.max()) >= self.capacity or int(batch.tag_id.min()) < 0:
            raise ValueError("batch holds a tag id outside the live state; normalise it first")
        order = np.lexsort((batch.ts, batch.tag_id))
        tags = batch.tag_id[order]
        last = np.flatnonzero(np.r_[tags[1:] != tags[:-1], True])
        idx = order[last]
        ids = batch.tag_id[idx]
        newer = batch.ts[idx] >= self.ts[ids]
        ids, idx = ids[newer], idx[newer]
        self.ts[ids] = batch.ts[idx]
        self.value[ids] = batch.value[idx]
        self.quality[ids] = batch.quality[idx]
        if batch.exact is None:
            self.exact[ids[self.has_exact[ids]]] = None
            self.has_exact[ids] = False
        else:
            exact = batch.exact[idx]
            self.exact[ids] = exact
            self.has_exact[ids] = exact_held(exact)
        self.updates += 1

    def restore(self, batch: SampleBatch, marks: npt.NDArray[np.uint32]) -> None:
        """Take a device's confirmed values back where a link-loss mark (status codes in
        ``marks``) is what is held, although the values are older than the mark: the
        link is back and the device says its value has not changed since."""
        marked = np.isin(self.quality[batch.tag_id], marks)
        if marked.any():
            held = batch.select(marked)
            self.ts[held.tag_id] = _NEVER  # the mark gives way
            self.update(held)

    def get(self, tag_id: int) -> LiveValue | None:
        """The newest sample of one tag, or ``None`` if none has arrived yet."""
        if not 0 <= tag_id < self.capacity or self.ts[tag_id] == _NEVER:
            return None
        return LiveValue(
            tag_id,
            int(self.ts[tag_id]),
            float(self.value[tag_id]),
            int(self.quality[tag_id]),
            self.exact[tag_id],
        )
