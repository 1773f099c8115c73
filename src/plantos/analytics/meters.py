"""Meters of preventive plans read from the historian over a range ``[start, end)``.

Operating hours and part counts come from the asset's machine states and OEE counter,
recomputed by the same replay the OEE and reliability figures use, so a meter agrees
with them. A tag's integral and sum come from the historian's own buckets (``twa`` with
step-hold, ``sum``), so rollup tiers answer long ranges. Readings add up: the meter of
``[a, c)`` is that of ``[a, b)`` plus that of ``[b, c)``, so a plan reads only what is
new since its last reading.

Blocking (historian queries): callers on the event loop run it in a thread.
"""

from __future__ import annotations

import numpy as np

from plantos.analytics.oee.config import OeeSpec
from plantos.analytics.oee.replay import replay
from plantos.analytics.oee.tracking import PlantTracker
from plantos.core.timeunits import HOUR_NS
from plantos.historian.protocol import Historian
from plantos.model.plant import Plant
from plantos.mom.maintenance.plans import Meter

BUCKET_NS = 60 * 1_000_000_000
"""Integral buckets: a minute, so the step-hold value between samples is kept exactly
where samples come more often, and a year stays well under the historian's limit."""


def machine_states(plant: Plant, config: OeeSpec, asset: str) -> tuple[str, ...] | None:
    """The state names of ``asset`` (None without an OEE spec: no hours or parts)."""
    spec = config.for_asset(asset, plant.assets[asset].type) if asset in plant.assets else None
    if spec is None:
        return None
    tracker = PlantTracker(plant, config, {})
    return tracker.trackers[asset].spec.states if asset in tracker.trackers else None


def meter_reading(
    historian: Historian,
    plant: Plant,
    config: OeeSpec,
    asset: str,
    meter: Meter,
    start_ns: int,
    end_ns: int,
) -> float:
    """How much ``meter`` counted over ``[start_ns, end_ns)`` (0 for an empty range)."""
    if end_ns <= start_ns:
        return 0.0
    if meter.source in ("hours", "parts"):
        return _from_states(historian, plant, config, asset, meter, start_ns, end_ns)
    tag_id = historian.tag_ids().get(meter.tag or "")
    if tag_id is None:
        return 0.0
    if meter.source == "sum":
        found = historian.query_buckets(
            tag_id, start_ns, end_ns, bucket_ns=end_ns - start_ns, aggs=["sum"]
        )
        return float(np.nansum(found.values["sum"]))
    return _integral(historian, tag_id, start_ns, end_ns) / (meter.per_ns / 1e9)


def _from_states(
    historian: Historian,
    plant: Plant,
    config: OeeSpec,
    asset: str,
    meter: Meter,
    start_ns: int,
    end_ns: int,
) -> float:
    tracker = PlantTracker(plant, config, historian.tag_ids())
    if asset not in tracker.trackers:
        return 0.0
    tracker.trackers = {asset: tracker.trackers[asset]}  # replay this asset's tags only
    replay(historian, tracker, start_ns, end_ns)
    history = tracker.trackers[asset].history(end_ns)
    if meter.source == "parts":
        counts = history.counts
        inside = (counts.ts_ns >= start_ns) & (counts.ts_ns < end_ns)
        return float(counts.total[inside].sum())
    iv = history.intervals
    wanted = np.isin(np.asarray(history.states)[iv.state], list(meter.states))
    lo = np.maximum(iv.start_ns, start_ns)
    hi = np.minimum(iv.end_ns, end_ns)
    return float(np.clip(hi - lo, 0, None)[wanted].sum()) / HOUR_NS


def _integral(historian: Historian, tag_id: int, start_ns: int, end_ns: int) -> float:
    """Value x seconds over the range, step-hold: a minute without a sample keeps the
    last value of the minute before (the time before the first sample counts nothing)."""
    first = start_ns - start_ns % BUCKET_NS
    found = historian.query_buckets(
        tag_id, first, end_ns, bucket_ns=BUCKET_NS, aggs=["twa", "last"]
    )
    horizon = min(end_ns, (historian.newest_ts or end_ns) + 1)
    area, held, held_from = 0.0, None, start_ns
    for bucket, twa, last in zip(
        found.bucket_ns.tolist(),
        found.values["twa"].tolist(),
        found.values["last"].tolist(),
        strict=True,
    ):
        lo, hi = max(bucket, start_ns), min(bucket + BUCKET_NS, end_ns)
        if held is not None and lo > held_from:
            area += held * (lo - held_from) / 1e9
        if hi > lo and np.isfinite(twa):
            area += twa * (hi - lo) / 1e9
        held, held_from = last, hi
    if held is not None and horizon > held_from:
        area += held * (horizon - held_from) / 1e9
    return area
