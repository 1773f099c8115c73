"""Events OEE adds to the bus beside :class:`~plantos.core.events.MachineStateChanged`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from plantos.core.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class OeeUpdated(Event):
    """The current shift's OEE of an asset or a hierarchy node (``subject``) so far.

    Ratios are ``None`` while their denominator is zero (no planned time yet,
    no run time, no parts), never a made-up 0 or 100%.
    """

    kind: ClassVar[str] = "OeeUpdated"
    shift: str
    shift_start_ns: int
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    planned_s: float
    run_s: float
    total: int
    good: int
    micro_stops: int
