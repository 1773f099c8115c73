"""Alarm states and transitions after ANSI/ISA-18.2 (IEC 62682), "Management of Alarm
Systems for the Process Industries", section 5.3 (the alarm state transition diagram).

An alarm has two independent facts: whether its **condition** is active (the process
says so) and whether an operator has **acknowledged** the last activation. The state an
operator sees combines them, unless the alarm is taken out of annunciation:

==========================  ===========  ============  ==========================
state                       condition    acknowledged  annunciated
==========================  ===========  ============  ==========================
``normal``                  clear        yes           no
``active_unacknowledged``   active       no            yes (audible, flashing)
``active_acknowledged``     active       yes           yes (steady)
``cleared_unacknowledged``  clear        no            yes (returned to normal)
``shelved``                 either       either        no (operator, for a time)
``suppressed``              either       either        no (by design, e.g. stopped)
==========================  ===========  ============  ==========================

Shelving is an operator's temporary choice with a reason and an expiry; suppression by
design follows the plant (a machine in planned downtime). Neither hides the condition
itself: both keep tracking it, so unshelving an alarm whose condition is still active
brings it back as ``active_unacknowledged``. Acknowledging needs no condition change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum


class AlarmState(StrEnum):
    NORMAL = "normal"
    ACTIVE_UNACKNOWLEDGED = "active_unacknowledged"
    ACTIVE_ACKNOWLEDGED = "active_acknowledged"
    CLEARED_UNACKNOWLEDGED = "cleared_unacknowledged"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"


class Priority(IntEnum):
    """Higher is more urgent; ISA-18.2 recommends three or four priorities."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


class AlarmError(ValueError):
    """An operator action that the alarm's state does not allow (e.g. acknowledging an
    alarm that is already acknowledged, shelving without a reason)."""


@dataclass(frozen=True, slots=True)
class AlarmStatus:
    """What is known about one alarm at one moment; transitions return a new status."""

    active: bool = False
    acknowledged: bool = True
    shelved_until_ns: int | None = None
    suppressed: bool = False
    activated_ns: int | None = None
    """When the current (or last) activation began."""

    @property
    def state(self) -> AlarmState:
        if self.suppressed:
            return AlarmState.SUPPRESSED
        if self.shelved_until_ns is not None:
            return AlarmState.SHELVED
        if self.active:
            return (
                AlarmState.ACTIVE_ACKNOWLEDGED
                if self.acknowledged
                else AlarmState.ACTIVE_UNACKNOWLEDGED
            )
        return AlarmState.NORMAL if self.acknowledged else AlarmState.CLEARED_UNACKNOWLEDGED

    @property
    def annunciated(self) -> bool:
        return self.state not in (AlarmState.NORMAL, AlarmState.SHELVED, AlarmState.SUPPRESSED)

    # ------------------------------------------------------------------ process side

    def activate(self, ts_ns: int) -> AlarmStatus:
        """The condition became active: a new activation needs a new acknowledgement."""
        if self.active:
            return self
        return replace(self, active=True, acknowledged=False, activated_ns=ts_ns)

    def clear(self) -> AlarmStatus:
        """The condition returned to normal; an unacknowledged activation stays so."""
        return replace(self, active=False) if self.active else self

    # ------------------------------------------------------------------ operator side

    def acknowledge(self) -> AlarmStatus:
        if self.acknowledged:
            raise AlarmError("the alarm is already acknowledged")
        if self.shelved_until_ns is not None or self.suppressed:
            raise AlarmError(
                "a shelved or suppressed alarm is not annunciated: nothing to acknowledge"
            )
        return replace(self, acknowledged=True)

    def shelve(self, until_ns: int, now_ns: int) -> AlarmStatus:
        if until_ns <= now_ns:
            raise AlarmError("shelving must end in the future")
        if self.suppressed:
            raise AlarmError("a suppressed alarm cannot be shelved")
        # shelving takes the alarm out of annunciation; what was pending is acknowledged
        return replace(self, shelved_until_ns=until_ns, acknowledged=True)

    def unshelve(self) -> AlarmStatus:
        """Back in service: a still-active condition annunciates again as new."""
        if self.shelved_until_ns is None:
            raise AlarmError("the alarm is not shelved")
        return replace(self, shelved_until_ns=None, acknowledged=not self.active)

    def suppress(self) -> AlarmStatus:
        return replace(self, suppressed=True, acknowledged=True) if not self.suppressed else self

    def unsuppress(self) -> AlarmStatus:
        if not self.suppressed:
            return self
        return replace(self, suppressed=False, acknowledged=not self.active)
