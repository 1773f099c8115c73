"""Typed domain events: small, immutable, timestamped facts about a tag or an asset.

Events travel on the bus beside sample batches. Later layers (analytics, loops,
MOM) add their own kinds by subclassing :class:`Event`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all events. ``subject`` is the asset or tag path the fact is about."""

    kind: ClassVar[str] = "event"
    ts_ns: int
    subject: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineStateChanged(Event):
    """An asset moved from one operating state to another (``running``, ``idle``, ``down``...)."""

    kind: ClassVar[str] = "MachineStateChanged"
    previous: str
    state: str
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PartsCounted(Event):
    """Parts finished at an asset in an interval, good and scrap."""

    kind: ClassVar[str] = "PartsCounted"
    good: int
    scrap: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InspectionRecorded(Event):
    """One inspection result, e.g. a weld checked pass/fail."""

    kind: ClassVar[str] = "InspectionRecorded"
    characteristic: str
    passed: bool
    measurements: dict[str, float] = field(default_factory=dict)
