"""Fault scenarios: what degrades, from when, how fast, and when it counts as a failure.

A scenario is parsed from short text (``bearing-wear:cnc-07:4h:12h``) so the
CLI, the demo and tests can all ask for one. Times in a :class:`Scenario` are
offsets from the simulation start; :meth:`Scenario.resolve` pins them to a
start time, giving a :class:`Degradation` whose ``level`` the asset model
reads and whose ground truth the evaluation of detectors compares against.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from plantos.core.timeparse import iso, parse_duration_ns
from plantos.core.timeunits import HOUR_NS
from plantos.demo.simulator.schedule import PlannedSchedule
from plantos.demo.simulator.signals import FloatArray, IntArray
from plantos.demo.simulator.vibration import BPFO_ORDER, DEFECT_RMS_MM_S, RESONANCE_HZ
from plantos.demo.simulator.wearclock import ShiftClock, shift_clock
from plantos.model.plant import Plant

BEARING_K = 2.0
FURNACE_LIMIT_C = 10.0
FURNACE_ZONE = 2
WELD_P0, WELD_P1, WELD_LIMIT = 0.01, 0.30, 0.10


@dataclass(frozen=True, slots=True)
class _Kind:
    model: str
    onset_ns: int
    ramp_ns: int
    takes_ramp: bool


KINDS = {
    "bearing-wear": _Kind("cnc-mill", 4 * HOUR_NS, 12 * HOUR_NS, True),
    "furnace-drift": _Kind("furnace", 2 * HOUR_NS, 6 * HOUR_NS, False),
    "weld-defect-trend": _Kind("weld-cell", 2 * HOUR_NS, 8 * HOUR_NS, False),
    # breakdown:<asset>:<onset>:<duration>: the machine stops at onset and is back after
    "breakdown": _Kind("cnc-mill", 6 * HOUR_NS, 3 * HOUR_NS, True),
}


def _bearing(u: FloatArray) -> FloatArray:
    """Severity 0..1, exponential in time: slow at first, accelerating towards failure."""
    return np.asarray(np.expm1(BEARING_K * np.minimum(u, 1.0)) / math.expm1(BEARING_K))


def _furnace(u: FloatArray) -> FloatArray:
    """Zone deviation in degC: reaches the 10 degC limit at the end of the ramp, then runs on."""
    return np.asarray(FURNACE_LIMIT_C * np.minimum(u, 3.0) ** 1.5)


def _weld(u: FloatArray) -> FloatArray:
    """Expected defect probability per weld, rising from 1% to 30% over the ramp."""
    return np.asarray(WELD_P0 + (WELD_P1 - WELD_P0) * np.minimum(u, 1.0) ** 2)


_CURVES: dict[str, Callable[[FloatArray], FloatArray]] = {
    "bearing-wear": _bearing,
    "furnace-drift": _furnace,
    "weld-defect-trend": _weld,
    "breakdown": np.zeros_like,
}


@dataclass(frozen=True, slots=True)
class Degradation:
    """A scenario pinned to absolute time, as the asset model and the ground truth see it."""

    kind: str
    asset: str
    onset_ns: int
    ramp_ns: int
    failure_ns: int
    clock: ShiftClock | None = None
    """Shift time since onset, for wear that stands still outside the asset's shifts;
    None: the wall clock."""

    def level(self, ts: IntArray) -> FloatArray:
        """The kind's degradation level at each timestamp (0 or its start value before onset)."""
        if self.clock is None:
            u = np.maximum(ts - self.onset_ns, 0) / self.ramp_ns
        else:
            u = self.clock.elapsed_ns(ts) / self.ramp_ns
        return _CURVES[self.kind](u)

    def ground_truth(self) -> dict[str, Any]:
        params: dict[str, Any] = {"ramp_s": self.ramp_ns / 1e9}
        if self.kind == "breakdown":
            params = {"down_s": self.ramp_ns / 1e9, "back": iso(self.failure_ns)}
        elif self.kind == "bearing-wear":
            params |= {
                "time_to_failure_s": self.ramp_ns / 1e9,
                "curve": "exponential",
                "bpfo_order": BPFO_ORDER,
                "resonance_hz": RESONANCE_HZ,
                "vibration_at_failure_mm_s": DEFECT_RMS_MM_S,
                "clock": "wall" if self.clock is None else "shift time",
            }
        elif self.kind == "furnace-drift":
            params |= {"zone": FURNACE_ZONE, "limit_c": FURNACE_LIMIT_C, "curve": "power 1.5"}
        else:
            params |= {
                "defect_rate_start": WELD_P0,
                "defect_rate_end": WELD_P1,
                "defect_rate_limit": WELD_LIMIT,
                "curve": "quadratic",
            }
        return {
            "kind": self.kind,
            "asset": self.asset,
            "onset": iso(self.onset_ns),
            "onset_ns": self.onset_ns,
            "functional_failure": iso(self.failure_ns),
            "functional_failure_ns": self.failure_ns,
            "params": params,
        }


@dataclass(frozen=True, slots=True)
class Scenario:
    """A fault to inject: kind, asset path, onset after the start, and its time scale."""

    kind: str
    asset: str
    onset_after_ns: int
    ramp_ns: int

    def resolve(self, start_ns: int, schedule: PlannedSchedule | None = None) -> Degradation:
        """Pin the scenario to ``start_ns``.

        Bearing wear counts its onset and time to failure in the asset's shift time when
        ``schedule`` is given: a wear onset outside the shifts starts when the next shift
        does, and hours off shift do not bring the failure closer.
        """
        onset = start_ns + self.onset_after_ns
        if self.kind == "bearing-wear" and schedule is not None:
            clock = shift_clock(schedule, onset, self.ramp_ns)
            if clock.start_ns != onset or clock.end_ns != onset + self.ramp_ns:
                return Degradation(
                    self.kind, self.asset, clock.start_ns, self.ramp_ns, clock.end_ns, clock
                )
        if self.kind == "weld-defect-trend":
            u_limit = math.sqrt((WELD_LIMIT - WELD_P0) / (WELD_P1 - WELD_P0))
            failure = onset + round(self.ramp_ns * u_limit)
        else:
            failure = onset + self.ramp_ns
        return Degradation(self.kind, self.asset, onset, self.ramp_ns, failure)


def parse_scenario(text: str, plant: Plant) -> Scenario:
    """Parse ``kind:asset[:onset[:time-to-failure]]`` against ``plant``.

    Raises ``ValueError`` with a plain sentence for an unknown kind, an unknown
    or ambiguous asset, an asset of the wrong kind, or a bad duration.
    """
    parts = text.strip().split(":")
    kind = KINDS.get(parts[0])
    if kind is None:
        known = ", ".join(KINDS)
        raise ValueError(f"unknown scenario kind {parts[0]!r} in {text!r} (known: {known})")
    fields = "asset[:onset[:time-to-failure]]" if kind.takes_ramp else "asset[:onset]"
    if len(parts) < 2 or not parts[1] or len(parts) > (4 if kind.takes_ramp else 3):
        raise ValueError(f"scenario {text!r} must be written {parts[0]}:{fields}")
    asset = _find_asset(parts[1], plant)
    model = plant.assets[asset].simulator.get("model")
    if model != kind.model:
        raise ValueError(
            f"{parts[0]} needs a {kind.model} asset, but {asset!r} is simulated as {model!r}"
        )
    onset = _duration(parts, 2, kind.onset_ns, "onset", allow_zero=True)
    ramp = _duration(parts, 3, kind.ramp_ns, "time to failure", allow_zero=False)
    return Scenario(parts[0], asset, onset, ramp)


def _find_asset(name: str, plant: Plant) -> str:
    if name in plant.assets:
        return name
    matches = [path for path, a in plant.assets.items() if a.id == name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ValueError(f"unknown asset {name!r}: give a full asset path or a unique asset id")
    raise ValueError(f"asset id {name!r} is ambiguous ({', '.join(matches)}): give the full path")


def _duration(parts: list[str], i: int, default: int, what: str, *, allow_zero: bool) -> int:
    if len(parts) <= i:
        return default
    try:
        value = parse_duration_ns(parts[i])
    except ValueError:
        raise ValueError(f"bad {what} {parts[i]!r}: write a duration such as 90m or 4h") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"the {what} must be positive, got {parts[i]!r}")
    return value
