"""The alarm list: every defined alarm's status, the operator actions on it with who and
when, and a flood guard.

The manager is pure: each call returns the events it caused (``AlarmRaised``,
``AlarmStateChanged``, ``AlarmFlood``) and the caller publishes them, so the same code
serves the streaming stage, the API and tests.

**Flood guard.** ISA-18.2 calls more than 10 annunciated alarms in 10 minutes per
operator a flood: nobody can act on them. While the rate is above ``flood_limit`` per
``flood_window``, new activations below ``flood_keep`` priority are suppressed with the
reason ``flood`` (their condition is still tracked, and they are listed as held); alarms at
or above ``flood_keep`` always annunciate. When the rate falls to half the limit, the
flood ends: held alarms whose condition is still active annunciate as new.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from plantos.analytics.alarms.events import AlarmFlood, AlarmRaised, AlarmStateChanged
from plantos.analytics.alarms.model import AlarmError, AlarmState, AlarmStatus, Priority
from plantos.core.events import Event
from plantos.core.timeunits import NS_PER_S as NS

FLOOD = "flood"


@dataclass(frozen=True, slots=True)
class AlarmDefinition:
    alarm_id: str
    """Unique, e.g. ``plant-a/machining/line-1/cnc-07/spindle-anomaly``."""
    subject: str
    """The asset or tag the alarm is about."""
    priority: Priority
    message: str


@dataclass
class _Alarm:
    definition: AlarmDefinition
    status: AlarmStatus = field(default_factory=AlarmStatus)
    suppressed_for: set[str] = field(default_factory=set)
    shelve_reason: str | None = None


class AlarmManager:
    def __init__(
        self,
        *,
        flood_limit: int = 10,
        flood_window_ns: int = 600 * NS,
        flood_keep: Priority = Priority.HIGH,
    ) -> None:
        if flood_limit < 2:
            raise ValueError(f"flood_limit must be at least 2, got {flood_limit}")
        self.flood_limit = flood_limit
        self.flood_window_ns = flood_window_ns
        self.flood_keep = flood_keep
        self._alarms: dict[str, _Alarm] = {}
        self._annunciations: deque[int] = deque()
        self.flooding = False
        self.floods = 0

    # ------------------------------------------------------------------ definitions

    def define(self, definition: AlarmDefinition) -> None:
        if definition.alarm_id in self._alarms:
            raise ValueError(f"alarm {definition.alarm_id!r} is defined twice")
        self._alarms[definition.alarm_id] = _Alarm(definition)

    def status(self, alarm_id: str) -> AlarmStatus:
        return self._get(alarm_id).status

    def alarms(
        self, *, annunciated_only: bool = False
    ) -> list[tuple[AlarmDefinition, AlarmStatus]]:
        """Every alarm (or those an operator sees), most urgent and newest first."""
        found = [
            (a.definition, a.status)
            for a in self._alarms.values()
            if a.status.annunciated or not annunciated_only
        ]
        found.sort(key=lambda ds: (-ds[0].priority, -(ds[1].activated_ns or 0)))
        return found

    def held_by_flood(self) -> list[str]:
        return sorted(i for i, a in self._alarms.items() if FLOOD in a.suppressed_for)

    # ------------------------------------------------------------------ process side

    def condition(self, alarm_id: str, active: bool, ts_ns: int) -> list[Event]:
        """The process says the alarm's condition is (still) active or clear."""
        alarm = self._get(alarm_id)
        original = alarm.status
        events: list[Event] = []
        held = False
        if active and not original.active:
            events += self._flood_check(ts_ns)
            if (
                self.flooding
                and alarm.definition.priority < self.flood_keep
                and not original.suppressed
            ):
                alarm.suppressed_for.add(FLOOD)
                alarm.status = original.suppress()
                held = True
        alarm.status = alarm.status.activate(ts_ns) if active else alarm.status.clear()
        note = "held: alarm flood" if held else None
        events += self._changed(alarm, original, ts_ns, by="process", note=note)
        if original.state is not AlarmState.ACTIVE_UNACKNOWLEDGED:
            events += self._raised(alarm, ts_ns)
        return events

    # ------------------------------------------------------------------ operator side

    def acknowledge(self, alarm_id: str, user: str, ts_ns: int) -> list[Event]:
        alarm = self._get(alarm_id)
        before = alarm.status
        alarm.status = before.acknowledge()
        return self._changed(alarm, before, ts_ns, by=user)

    def shelve(
        self, alarm_id: str, user: str, until_ns: int, reason: str, ts_ns: int
    ) -> list[Event]:
        if not reason.strip():
            raise AlarmError("shelving needs a reason")
        alarm = self._get(alarm_id)
        before = alarm.status
        alarm.status = before.shelve(until_ns, ts_ns)
        alarm.shelve_reason = reason
        return self._changed(alarm, before, ts_ns, by=user, note=reason)

    def unshelve(self, alarm_id: str, user: str, ts_ns: int) -> list[Event]:
        alarm = self._get(alarm_id)
        before = alarm.status
        alarm.status = before.unshelve()
        alarm.shelve_reason = None
        return self._changed(alarm, before, ts_ns, by=user) + self._raised(alarm, ts_ns)

    def suppress(self, alarm_id: str, reason: str, ts_ns: int) -> list[Event]:
        """Suppression by design (e.g. the machine is in planned downtime)."""
        alarm = self._get(alarm_id)
        before = alarm.status
        alarm.suppressed_for.add(f"design: {reason}")
        alarm.status = before.suppress()
        return self._changed(alarm, before, ts_ns, by="system", note=reason)

    def unsuppress(self, alarm_id: str, reason: str, ts_ns: int) -> list[Event]:
        alarm = self._get(alarm_id)
        alarm.suppressed_for.discard(f"design: {reason}")
        return self._release(alarm, ts_ns, note=reason)

    # ------------------------------------------------------------------ time

    def tick(self, now_ns: int) -> list[Event]:
        """Expire shelving and end a flood; call regularly (the stage does, every batch)."""
        events: list[Event] = []
        for alarm in self._alarms.values():
            until = alarm.status.shelved_until_ns
            if until is not None and until <= now_ns:
                before = alarm.status
                alarm.status = before.unshelve()
                alarm.shelve_reason = None
                events += self._changed(alarm, before, now_ns, by="system", note="shelving expired")
                events += self._raised(alarm, now_ns)
        events += self._flood_check(now_ns)
        return events

    def metrics(self) -> dict[str, int | bool]:
        counts = {state.value: 0 for state in AlarmState}
        for alarm in self._alarms.values():
            counts[alarm.status.state.value] += 1
        return {
            **counts,
            "flooding": self.flooding,
            "floods": self.floods,
            "held_by_flood": len(self.held_by_flood()),
        }

    # ------------------------------------------------------------------ internals

    def _get(self, alarm_id: str) -> _Alarm:
        try:
            return self._alarms[alarm_id]
        except KeyError:
            raise KeyError(f"no alarm {alarm_id!r}") from None

    def _flood_check(self, now_ns: int) -> list[Event]:
        window = self._annunciations
        while window and window[0] <= now_ns - self.flood_window_ns:
            window.popleft()
        rate = len(window)
        if not self.flooding and rate >= self.flood_limit:
            self.flooding = True
            self.floods += 1
            return [AlarmFlood(ts_ns=now_ns, subject="alarms", flooding=True, rate=rate, held=0)]
        if self.flooding and rate <= self.flood_limit // 2:
            self.flooding = False
            held = [a for a in self._alarms.values() if FLOOD in a.suppressed_for]
            events: list[Event] = [
                AlarmFlood(
                    ts_ns=now_ns, subject="alarms", flooding=False, rate=rate, held=len(held)
                )
            ]
            for alarm in held:
                alarm.suppressed_for.discard(FLOOD)
                events += self._release(alarm, now_ns, note="flood ended")
            return events
        return []

    def _release(self, alarm: _Alarm, ts_ns: int, *, note: str) -> list[Event]:
        if alarm.suppressed_for:
            return []
        before = alarm.status
        alarm.status = before.unsuppress()
        return self._changed(alarm, before, ts_ns, by="system", note=note) + self._raised(
            alarm, ts_ns
        )

    def _raised(self, alarm: _Alarm, ts_ns: int) -> list[Event]:
        """AlarmRaised when the alarm now annunciates a new activation; counted for the
        flood guard."""
        if alarm.status.state is not AlarmState.ACTIVE_UNACKNOWLEDGED:
            return []
        self._annunciations.append(ts_ns)
        d = alarm.definition
        return [
            AlarmRaised(
                ts_ns=ts_ns,
                subject=d.subject,
                alarm_id=d.alarm_id,
                priority=d.priority.name.lower(),
                message=d.message,
            )
        ]

    def _changed(
        self,
        alarm: _Alarm,
        before: AlarmStatus,
        ts_ns: int,
        *,
        by: str,
        note: str | None = None,
    ) -> list[Event]:
        if before.state == alarm.status.state:
            return []
        d = alarm.definition
        return [
            AlarmStateChanged(
                ts_ns=ts_ns,
                subject=d.subject,
                alarm_id=d.alarm_id,
                previous=before.state.value,
                state=alarm.status.state.value,
                priority=d.priority.name.lower(),
                by=by,
                note=note,
            )
        ]
