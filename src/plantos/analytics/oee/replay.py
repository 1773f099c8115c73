"""Feed state trackers the historian's raw samples, so that from some moment on they
know what live tracking knew: for a recomputed range, and to rebuild live OEE after a
restart.

Each asset is replayed from ``lookback_ns`` before that moment (states, counters and
start-up windows are then known at it), or from further back where its state at that
moment began earlier (:func:`~plantos.analytics.oee.state_start.replay_start`), so a
long stop keeps the start it had live, and with it its reason.
"""

from __future__ import annotations

from plantos.analytics.oee.raw import raw_samples
from plantos.analytics.oee.state_start import replay_start
from plantos.analytics.oee.tracking import PlantTracker
from plantos.core.timeunits import HOUR_NS
from plantos.historian.protocol import Historian

MAX_LOOKBACK_NS = 7 * 24 * HOUR_NS
"""How far back a replay looks for the start of a state: a week (a stop longer than that
keeps the bound as its start)."""


def replay(
    historian: Historian,
    tracker: PlantTracker,
    start_ns: int,
    end_ns: int,
    *,
    lookback_ns: int = HOUR_NS,
    window_ns: int = HOUR_NS,
    max_lookback_ns: int = MAX_LOOKBACK_NS,
) -> None:
    """Feed ``tracker`` the raw samples up to ``end_ns`` that its states at ``start_ns``
    and after depend on, window by window."""
    if lookback_ns < 0 or window_ns <= 0 or max_lookback_ns < lookback_ns:
        raise ValueError(
            f"bad lookback {lookback_ns}, window {window_ns} or bound {max_lookback_ns} (ns)"
        )
    names = historian.tag_ids()
    since: dict[int, int] = {}
    for path, state in tracker.trackers.items():
        ids = [names.get(f"{path}/{signal}") for signal in state.inputs]
        begin = replay_start(
            historian,
            state.spec,
            ids,
            start_ns,
            lookback_ns=lookback_ns,
            max_lookback_ns=max_lookback_ns,
            window_ns=window_ns,
        )
        for tag_id in ids:  # a tag two assets read is replayed from the earlier start
            if tag_id is not None:
                since[tag_id] = min(begin, since.get(tag_id, begin))
    t = min(since.values(), default=end_ns)
    while t < end_ns:
        until = min(t + window_ns, end_ns)
        for begin in sorted({b for b in since.values() if b < until}):
            tags = [tag_id for tag_id, b in since.items() if b == begin]
            tracker.feed(raw_samples(historian, tags, max(t, begin), until))
        t = until
