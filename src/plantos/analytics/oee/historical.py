"""OEE recomputed from the historian for any range, equal to the live figures.

The raw samples of the tags OEE reads are replayed, window by window, through
the same trackers and formulas as live. Replay starts ``lookback_ns`` before
the range, so the state, counters and start-up windows at its start are known
exactly as live knew them; keep ``lookback_ns`` above ``micro_stop``,
``stale_after`` and ``startup_window``.
"""

from __future__ import annotations

import numpy as np

from plantos.analytics.oee.config import OeeSpec
from plantos.analytics.oee.records import ReasonBook
from plantos.analytics.oee.rollup import OeeReport, plant_report
from plantos.analytics.oee.tracking import PlantTracker
from plantos.core.batch import SampleBatch
from plantos.core.errors import PlantOSError
from plantos.historian.protocol import Historian
from plantos.model.plant import Plant

NS = 1_000_000_000
HOUR_NS = 3600 * NS
_ROWS_PER_QUERY = 2_000_000


def historical_report(
    historian: Historian,
    plant: Plant,
    config: OeeSpec,
    start_ns: int,
    end_ns: int,
    *,
    reasons: ReasonBook | None = None,
    lookback_ns: int = HOUR_NS,
    window_ns: int = HOUR_NS,
) -> OeeReport:
    """OEE of ``[start_ns, end_ns)`` per asset and node, from the historian's raw samples."""
    if end_ns <= start_ns:
        raise ValueError(f"empty range: end {end_ns} is not after start {start_ns}")
    if lookback_ns < 0 or window_ns <= 0:
        raise ValueError(f"bad lookback {lookback_ns} or window {window_ns} (ns)")
    tag_ids = historian.tag_ids()
    tracker = PlantTracker(plant, config, tag_ids)
    wanted = [
        tag_ids[f"{path}/{signal}"]
        for path, t in tracker.trackers.items()
        for signal in t.inputs
        if f"{path}/{signal}" in tag_ids
    ]
    t = start_ns - lookback_ns
    while t < end_ns:
        until = min(t + window_ns, end_ns)
        tracker.feed(_window(historian, wanted, t, until))
        t = until
    histories = {p: tr.history(end_ns) for p, tr in tracker.trackers.items()}
    return plant_report(plant, histories, start_ns, end_ns, reasons=reasons)


def _window(historian: Historian, tag_ids: list[int], start_ns: int, end_ns: int) -> SampleBatch:
    """Raw samples of the tags in ``[start_ns, end_ns)`` as one batch in time order."""
    parts = []
    for tag_id in tag_ids:
        raw = historian.query_raw(tag_id, start_ns, end_ns, limit=_ROWS_PER_QUERY)
        if raw.truncated:
            raise PlantOSError(
                f"tag {tag_id} has more than {_ROWS_PER_QUERY} samples in one window: "
                "recompute with a smaller window_ns"
            )
        ids = np.full(len(raw.ts), tag_id, dtype=np.int32)
        parts.append(SampleBatch(ids, raw.ts, raw.value, raw.quality))
    batch = SampleBatch.concat(parts)
    return batch.select(np.argsort(batch.ts, kind="stable"))
