"""Where a replay of one asset must begin so its state at a moment carries its true start.

Live tracking keys a stop (and its reason) by the moment the state began. A replay from
the historian that begins inside that state sees it begin at its own first sample, so
the key differs. This looks further back, in doubling steps up to a bound, until a
replay of the asset alone surely sees the state begin.

"Surely" because a replay from ``p`` agrees with live tracking once what it lacks no
longer matters: at every evaluation time from the first replayed sample on (the
evaluation times are the same), a signal's value is the same once the signal has been
sampled since ``p`` or is stale in both (``stale_after`` after ``p``), and a held rule
agrees once its hold looks back to such times. A state change whose previous
evaluation is past that point happened live too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from plantos.analytics.oee.binding import BoundSpec
from plantos.analytics.oee.raw import raw_samples
from plantos.analytics.oee.state import StateTracker
from plantos.historian.protocol import Historian


def replay_start(
    historian: Historian,
    spec: BoundSpec,
    tag_ids: Sequence[int | None],
    at_ns: int,
    *,
    lookback_ns: int,
    max_lookback_ns: int,
    window_ns: int,
) -> int:
    """Where to start replaying the asset of ``spec`` so that its state at ``at_ns`` begins
    where live tracking saw it begin: ``lookback_ns`` before ``at_ns``, or further back
    (doubling) where the state began earlier, at most ``max_lookback_ns`` before.

    ``tag_ids`` are the historian ids of the tracker's inputs, in order (``None``: absent).
    A state older than the bound keeps the bound's start: the search is bounded, and it
    never looks before the tags' oldest sample (a fresh historian costs one query a tag).
    """
    probe = _Probe(historian, spec, tag_ids, window_ns)
    oldest = _oldest_sample_ns(historian, probe.ids, at_ns - max_lookback_ns, at_ns)
    if oldest is None:
        return at_ns - lookback_ns
    # Before the oldest sample there is nothing to replay: the search stops there.
    bound = min(max_lookback_ns, max(lookback_ns, at_ns - oldest))
    step = max(lookback_ns, 1)
    while True:
        start = at_ns - min(step, bound)
        if step >= bound or probe.began_inside(start, at_ns):
            return start
        step *= 2


def _oldest_sample_ns(
    historian: Historian, tag_ids: Sequence[int], start_ns: int, end_ns: int
) -> int | None:
    """The time of the oldest sample of any of the tags in ``[start_ns, end_ns)``."""
    firsts = [historian.query_raw(t, start_ns, end_ns, limit=1).ts for t in tag_ids]
    return min((int(ts[0]) for ts in firsts if len(ts)), default=None)


class _Probe:
    """Replays one asset alone, window by window, to see where its state began."""

    def __init__(
        self,
        historian: Historian,
        spec: BoundSpec,
        tag_ids: Sequence[int | None],
        window_ns: int,
    ) -> None:
        self.historian = historian
        self.spec = spec
        self.window_ns = window_ns
        self.ids = [t for t in tag_ids if t is not None]
        self.slot_of = np.zeros(max(self.ids, default=-1) + 1, dtype=np.intp)
        for slot, tag_id in enumerate(tag_ids):
            if tag_id is not None:
                self.slot_of[tag_id] = slot

    def began_inside(self, start: int, at: int) -> bool:
        """Whether a replay from ``start`` surely sees the state current at ``at`` begin."""
        spec = self.spec
        tracker = StateTracker(spec)
        times: list[npt.NDArray[np.int64]] = []
        first = np.full(len(spec.signals), start + spec.stale_ns, dtype=np.int64)
        t = start
        while t < at:
            until = min(t + self.window_ns, at)
            batch = raw_samples(self.historian, self.ids, t, until)
            t = until
            if not len(batch):
                continue
            slot = self.slot_of[batch.tag_id]
            tracker.feed(batch.ts, slot, batch.value, batch.quality)
            times.append(np.unique(batch.ts))
            for i in range(len(spec.signals)):
                seen = batch.ts[slot == i]
                if len(seen):
                    first[i] = min(first[i], int(seen[0]))
        iv = tracker.intervals(at)
        if len(iv) < 2:
            return False
        ts = np.concatenate(times)
        settled = max(int(ts[0]), int(first.max(initial=start)))
        settled += max((r.hold_ns or 0 for r in spec.rules), default=0)
        return _evaluated_before(ts, int(iv.start_ns[-1]), spec.stale_ns) >= settled


def _evaluated_before(ts: npt.NDArray[np.int64], at: int, stale: int) -> int:
    """The last time a tracker fed the samples at ``ts`` evaluated its state before ``at``:
    the last sample before it, or the moment that sample went stale if that came first."""
    last = int(ts[np.searchsorted(ts, at, side="left") - 1])
    return last + stale if last + stale < at else last
