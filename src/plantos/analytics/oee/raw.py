"""The historian's raw samples of some tags over a range, as one batch in time order:
what a replay through the state trackers reads."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from plantos.core.batch import SampleBatch
from plantos.core.errors import PlantOSError
from plantos.historian.protocol import Historian

ROWS_PER_QUERY = 2_000_000


def raw_samples(
    historian: Historian, tag_ids: Iterable[int], start_ns: int, end_ns: int
) -> SampleBatch:
    """Raw samples of the tags in ``[start_ns, end_ns)`` as one batch in time order."""
    parts = []
    for tag_id in tag_ids:
        raw = historian.query_raw(tag_id, start_ns, end_ns, limit=ROWS_PER_QUERY)
        if raw.truncated:
            raise PlantOSError(
                f"tag {tag_id} has more than {ROWS_PER_QUERY} samples in one window: "
                "recompute with a smaller window_ns"
            )
        ids = np.full(len(raw.ts), tag_id, dtype=np.int32)
        parts.append(SampleBatch(ids, raw.ts, raw.value, raw.quality))
    batch = SampleBatch.concat(parts)
    return batch.select(np.argsort(batch.ts, kind="stable"))
