"""OEE recomputed from the historian for any range, equal to the live figures.

The raw samples of the tags OEE reads are replayed, window by window, through
the same trackers and formulas as live (:mod:`plantos.analytics.oee.replay`).
Replay starts ``lookback_ns`` before the range, so the state, counters and
start-up windows at its start are known exactly as live knew them; keep
``lookback_ns`` above ``micro_stop``, ``stale_after`` and ``startup_window``. An
asset whose state at the start of the range began earlier is replayed from
further back (at most ``max_lookback_ns``), so its stop keeps the start, and the
reason, it had live.
"""

from __future__ import annotations

from plantos.analytics.oee.config import OeeSpec
from plantos.analytics.oee.records import ReasonBook
from plantos.analytics.oee.replay import MAX_LOOKBACK_NS, replay
from plantos.analytics.oee.rollup import OeeReport, plant_report
from plantos.analytics.oee.tracking import PlantTracker
from plantos.core.timeunits import HOUR_NS
from plantos.historian.protocol import Historian
from plantos.model.plant import Plant


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
    max_lookback_ns: int = MAX_LOOKBACK_NS,
) -> OeeReport:
    """OEE of ``[start_ns, end_ns)`` per asset and node, from the historian's raw samples."""
    if end_ns <= start_ns:
        raise ValueError(f"empty range: end {end_ns} is not after start {start_ns}")
    tracker = PlantTracker(plant, config, historian.tag_ids())
    replay(
        historian,
        tracker,
        start_ns,
        end_ns,
        lookback_ns=lookback_ns,
        window_ns=window_ns,
        max_lookback_ns=max_lookback_ns,
    )
    histories = {p: tr.history(end_ns) for p, tr in tracker.trackers.items()}
    return plant_report(plant, histories, start_ns, end_ns, reasons=reasons)
