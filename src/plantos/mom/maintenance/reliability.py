"""Reliability figures of one asset from its machine states: MTBF, MTTR and availability,
over the whole asset and per failure mode.

Terms after IEC 60050-192 and ISO 14224, over a range ``[start, end)``:

* **up time**: time the asset was able to produce (OEE categories ``producing``,
  ``setup`` and ``delay``); **down time**: time in ``unplanned_downtime`` (a failure).
  Planned downtime and ``unknown`` (no trustworthy signal) are neither: they are
  reported, never guessed into either side. The four add up to the range.
* **failure**: a run of touching ``unplanned_downtime`` intervals (``down`` then
  ``alarm`` is one failure) that *starts* inside the range; a run already going at
  the range start adds down time but is not counted again.
* **MTBF** (mean operating time between failures) = up time / failures; with no
  failure it is undefined (``None``), never infinite.
* **MTTR** (mean time to restoration) = mean duration of the failures that ended
  inside the range; a failure still open at the range end counts as a failure and
  as down time, but its repair is not finished, so it is left out of MTTR.
* **availability** = MTBF / (MTBF + MTTR) (inherent, from the means; ``None`` while
  either is undefined) and **uptime share** = up / (up + down) (measured).

Per failure mode, each failure is attributed to the corrective or predictive work order
on the asset whose active span (its window, or from starting the job to closing it)
overlaps the failure the longest, or whose completion falls inside it; a failure no
such work order covers is ``unattributed``. A mode's MTBF divides the asset's whole up
time by that mode's failures (ISO 14224 failure rate per mode).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from plantos.core.timeunits import NS_PER_S as NS
from plantos.mom.maintenance.workorder import WorkOrder

UP_CATEGORIES = frozenset({"producing", "setup", "delay"})
DOWN = "unplanned_downtime"
UNATTRIBUTED = "unattributed"
FAILURE_KINDS = frozenset({"corrective", "predictive"})


@dataclass(frozen=True, slots=True)
class StateSpan:
    """One machine-state interval ``[start_ns, end_ns)`` with its OEE category."""

    start_ns: int
    end_ns: int
    category: str


@dataclass(frozen=True, slots=True)
class Failure:
    """A failure run clipped to the range; ``open`` when still down at the range end."""

    start_ns: int
    end_ns: int
    open: bool
    mode: str = UNATTRIBUTED
    work_order: str | None = None

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / NS


@dataclass(frozen=True, slots=True)
class Figures:
    """MTBF, MTTR and availability of a set of failures against the asset's up time."""

    failures: int
    down_s: float
    mtbf_s: float | None
    mttr_s: float | None
    availability: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "failures": self.failures,
            "down_s": self.down_s,
            "mtbf_s": self.mtbf_s,
            "mttr_s": self.mttr_s,
            "availability": self.availability,
        }


@dataclass(frozen=True, slots=True)
class Reliability:
    """An asset's figures over a range, with the time split and each failure."""

    start_ns: int
    end_ns: int
    up_s: float
    planned_s: float
    unknown_s: float
    uptime_share: float | None
    total: Figures
    modes: dict[str, Figures]
    failures: tuple[Failure, ...]


def reliability(
    spans: Iterable[StateSpan], start_ns: int, end_ns: int, *, orders: Sequence[WorkOrder] = ()
) -> Reliability:
    """The figures of ``[start_ns, end_ns)`` from state ``spans`` (any order, may reach
    outside the range; time no span covers counts as unknown) and the asset's work orders."""
    if end_ns <= start_ns:
        raise ValueError(f"empty range: end {end_ns} is not after start {start_ns}")
    spans = sorted(spans, key=lambda s: s.start_ns)
    clipped = _clip(spans, start_ns, end_ns)
    seconds = {"up": 0, "down": 0, "planned": 0}
    for span in clipped:
        side = "up" if span.category in UP_CATEGORIES else span.category
        side = {DOWN: "down", "planned_downtime": "planned"}.get(side, side)
        if side in seconds:
            seconds[side] += span.end_ns - span.start_ns
    up_ns, down_ns = seconds["up"], seconds["down"]
    known = up_ns + down_ns + seconds["planned"]
    runs = [_attribute(f, orders) for f in _failures(spans, start_ns, end_ns)]
    modes = sorted({f.mode for f in runs})
    return Reliability(
        start_ns=start_ns,
        end_ns=end_ns,
        up_s=up_ns / NS,
        planned_s=seconds["planned"] / NS,
        unknown_s=(end_ns - start_ns - known) / NS,
        uptime_share=up_ns / (up_ns + down_ns) if up_ns + down_ns else None,
        total=_figures(runs, up_ns, down_ns),
        modes={m: _figures([f for f in runs if f.mode == m], up_ns, None) for m in modes},
        failures=tuple(runs),
    )


def _clip(spans: Iterable[StateSpan], start_ns: int, end_ns: int) -> list[StateSpan]:
    """Spans cut to the range, without empty ones."""
    return [
        StateSpan(max(s.start_ns, start_ns), min(s.end_ns, end_ns), s.category)
        for s in spans
        if s.end_ns > start_ns and s.start_ns < end_ns and s.end_ns > s.start_ns
    ]


def _failures(spans: list[StateSpan], start_ns: int, end_ns: int) -> list[Failure]:
    """Touching down spans (time order) merged into runs; the runs starting in the range,
    cut at its end (open when still down there)."""
    runs: list[tuple[int, int]] = []
    for span in spans:
        if span.category != DOWN:
            continue
        if runs and runs[-1][1] == span.start_ns:
            runs[-1] = (runs[-1][0], span.end_ns)
        else:
            runs.append((span.start_ns, span.end_ns))
    return [Failure(a, min(b, end_ns), open=b >= end_ns) for a, b in runs if start_ns <= a < end_ns]


def _span_of(order: WorkOrder) -> tuple[int, int] | None:
    """When a work order held the asset: its window, else from starting the job to closing it."""
    if order.window is not None:
        return order.window.start_ns, order.window.end_ns
    started = next((int(t["at_ns"]) for t in order.transitions if t["to"] == "in_progress"), None)
    if started is None or order.closed_ns is None:
        return None
    return started, order.closed_ns


def _attribute(failure: Failure, orders: Sequence[WorkOrder]) -> Failure:
    """The failure with the mode of the work order that covers it best, if any."""
    best: tuple[int, WorkOrder] | None = None
    for order in orders:
        if order.kind not in FAILURE_KINDS or order.state == "cancelled":
            continue
        span = _span_of(order)
        overlap = 0
        if span is not None:
            overlap = min(span[1], failure.end_ns) - max(span[0], failure.start_ns)
        closed_inside = (
            order.closed_ns is not None and failure.start_ns <= order.closed_ns <= failure.end_ns
        )
        if overlap <= 0 and not closed_inside:
            continue
        if best is None or max(overlap, 0) > best[0]:
            best = (max(overlap, 0), order)
    if best is None:
        return failure
    order = best[1]
    return Failure(
        failure.start_ns,
        failure.end_ns,
        failure.open,
        mode=order.failure_mode or UNATTRIBUTED,
        work_order=order.id,
    )


def _figures(runs: list[Failure], up_ns: int, down_ns: int | None) -> Figures:
    """Figures of ``runs``; ``down_ns`` of the asset for the whole, else the runs' own."""
    repaired = [f.duration_s for f in runs if not f.open]
    mtbf = up_ns / NS / len(runs) if runs else None
    mttr = sum(repaired) / len(repaired) if repaired else None
    down = down_ns / NS if down_ns is not None else sum(f.duration_s for f in runs)
    availability = None
    if mtbf is not None and mttr is not None and mtbf + mttr > 0:
        availability = mtbf / (mtbf + mttr)
    return Figures(len(runs), down, mtbf, mttr, availability)
