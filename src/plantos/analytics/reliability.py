"""An asset's reliability over a historian range: its machine states recomputed exactly
as the OEE figures recompute them (:func:`~plantos.analytics.oee.replay.replay`, with the
same lookback, so a failure going at the range start keeps its real start), then MTBF,
MTTR and availability from :mod:`plantos.mom.maintenance.reliability`.

Reading is blocking (thousands of historian queries over a month): callers on the event
loop run it in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plantos.analytics.oee.binding import CATEGORIES
from plantos.analytics.oee.config import OeeSpec
from plantos.analytics.oee.replay import replay
from plantos.analytics.oee.tracking import PlantTracker
from plantos.core.errors import QueryError, UnknownTagError
from plantos.core.timeparse import iso
from plantos.historian.protocol import Historian
from plantos.model.plant import Plant
from plantos.mom.maintenance.reliability import Reliability, StateSpan, reliability
from plantos.mom.maintenance.workorder import WorkOrder


def asset_states(
    historian: Historian, plant: Plant, config: OeeSpec, asset: str, start_ns: int, end_ns: int
) -> list[StateSpan]:
    """The asset's state intervals up to ``end_ns`` (from before ``start_ns`` where a state
    began earlier), each with its ISO 22400 category."""
    if asset not in plant.assets:
        raise UnknownTagError(f"no asset {asset!r} in the plant model")
    if end_ns <= start_ns:
        raise QueryError(f"empty range: end {iso(end_ns)} is not after start {iso(start_ns)}")
    tracker = PlantTracker(plant, config, historian.tag_ids())
    if asset not in tracker.trackers:
        raise QueryError(f"asset {asset!r} has no machine states: give its type an OEE spec")
    # Only this asset is replayed: ``replay`` reads the tags of the trackers listed, so a
    # year of one machine costs that machine's samples, not the whole plant's.
    tracker.trackers = {asset: tracker.trackers[asset]}
    replay(historian, tracker, start_ns, end_ns)
    history = tracker.trackers[asset].history(end_ns)
    iv = history.intervals
    return [
        StateSpan(int(a), int(b), CATEGORIES[int(history.category[int(s)])])
        for a, b, s in zip(iv.start_ns, iv.end_ns, iv.state, strict=True)
    ]


def asset_reliability(
    historian: Historian,
    plant: Plant,
    config: OeeSpec,
    asset: str,
    start_ns: int,
    end_ns: int,
    *,
    orders: Sequence[WorkOrder],
) -> Reliability:
    """The figures of ``asset`` over ``[start_ns, end_ns)``, failures attributed to its
    work orders (``orders`` of other assets are ignored)."""
    spans = asset_states(historian, plant, config, asset, start_ns, end_ns)
    return reliability(spans, start_ns, end_ns, orders=[o for o in orders if o.asset == asset])


def reliability_answer(asset: str, figures: Reliability) -> dict[str, Any]:
    """The figures as the API and the CLI give them: seconds, ratios, ``null`` where undefined."""
    return {
        "asset": asset,
        "from": iso(figures.start_ns),
        "to": iso(figures.end_ns),
        "up_s": figures.up_s,
        "planned_s": figures.planned_s,
        "unknown_s": figures.unknown_s,
        "uptime_share": figures.uptime_share,
        **figures.total.to_dict(),
        "failure_modes": {m: f.to_dict() for m, f in figures.modes.items()},
        "failure_intervals": [
            {
                "start": iso(f.start_ns),
                "end": iso(f.end_ns),
                "duration_s": f.duration_s,
                "open": f.open,
                "failure_mode": f.mode,
                "work_order": f.work_order,
            }
            for f in figures.failures
        ],
    }
