"""Alarm events on the bus: what operators' screens, notifications and the audit trail
follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from plantos.core.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmRaised(Event):
    """An alarm began to annunciate (a new activation an operator must acknowledge)."""

    kind: ClassVar[str] = "AlarmRaised"
    alarm_id: str
    priority: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmStateChanged(Event):
    """Any ISA-18.2 state transition, with who caused it: ``process`` (the condition),
    ``system`` (shelving expiry, suppression by design, flood guard) or a user name."""

    kind: ClassVar[str] = "AlarmStateChanged"
    alarm_id: str
    previous: str
    state: str
    priority: str
    by: str
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmFlood(Event):
    """A flood began (``flooding``) or ended; ``held`` alarms were kept from annunciating."""

    kind: ClassVar[str] = "AlarmFlood"
    flooding: bool
    rate: int
    """Annunciations in the flood window when the flood began or ended."""
    held: int
