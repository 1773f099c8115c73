"""ISA-18.2 alarm states: every transition of the state diagram, operator actions with
who and why, shelving with expiry, suppression by design, and the flood guard. A
hypothesis state machine checks that no sequence of calls reaches a state the diagram
does not have or loses track of the condition."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from plantos.analytics.alarms import (
    AlarmDefinition,
    AlarmError,
    AlarmFlood,
    AlarmManager,
    AlarmRaised,
    AlarmState,
    AlarmStateChanged,
    Priority,
)

NS = 1_000_000_000
CNC = "plant-a/machining/line-1/cnc-07"
A = f"{CNC}/spindle-anomaly"


def manager(**kw: object) -> AlarmManager:
    m = AlarmManager(**kw)  # type: ignore[arg-type]
    m.define(AlarmDefinition(A, CNC, Priority.HIGH, "spindle vibration anomaly"))
    return m


def states(events: list[object]) -> list[tuple[str, str, str]]:
    return [(e.previous, e.state, e.by) for e in events if isinstance(e, AlarmStateChanged)]


def test_the_four_annunciation_states_follow_the_diagram() -> None:
    m = manager()
    raised = m.condition(A, True, 1 * NS)
    assert states(raised) == [("normal", "active_unacknowledged", "process")]
    assert [type(e) for e in raised] == [AlarmStateChanged, AlarmRaised]
    assert m.condition(A, True, 2 * NS) == []  # still active: nothing new
    assert states(m.acknowledge(A, "anna", 3 * NS)) == [
        ("active_unacknowledged", "active_acknowledged", "anna")
    ]
    assert states(m.condition(A, False, 4 * NS)) == [("active_acknowledged", "normal", "process")]
    # returned to normal before anyone acknowledged: stays visible until acknowledged
    m.condition(A, True, 5 * NS)
    assert states(m.condition(A, False, 6 * NS)) == [
        ("active_unacknowledged", "cleared_unacknowledged", "process")
    ]
    again = m.condition(A, True, 7 * NS)  # re-activation while cleared-unacknowledged
    assert states(again) == [("cleared_unacknowledged", "active_unacknowledged", "process")]
    assert any(isinstance(e, AlarmRaised) for e in again)
    m.condition(A, False, 8 * NS)
    assert states(m.acknowledge(A, "anna", 9 * NS)) == [
        ("cleared_unacknowledged", "normal", "anna")
    ]
    with pytest.raises(AlarmError, match="already acknowledged"):
        m.acknowledge(A, "anna", 10 * NS)


def test_shelving_needs_a_reason_hides_the_alarm_and_expires() -> None:
    m = manager()
    m.condition(A, True, 1 * NS)
    with pytest.raises(AlarmError, match="reason"):
        m.shelve(A, "ben", 100 * NS, " ", 2 * NS)
    with pytest.raises(AlarmError, match="future"):
        m.shelve(A, "ben", 2 * NS, "sensor being replaced", 2 * NS)
    shelved = m.shelve(A, "ben", 100 * NS, "sensor being replaced", 2 * NS)
    assert [(e.state, e.by, e.note) for e in shelved if isinstance(e, AlarmStateChanged)] == [
        ("shelved", "ben", "sensor being replaced")
    ]
    assert m.alarms(annunciated_only=True) == []
    assert m.condition(A, False, 3 * NS) == [] and m.condition(A, True, 4 * NS) == []
    assert m.tick(99 * NS) == []
    expired = m.tick(100 * NS)  # condition still active: annunciates as new
    assert states(expired) == [("shelved", "active_unacknowledged", "system")]
    assert any(isinstance(e, AlarmRaised) for e in expired)


def test_unshelving_a_clear_alarm_returns_it_to_normal() -> None:
    m = manager()
    m.condition(A, True, 1 * NS)
    m.shelve(A, "ben", 100 * NS, "known issue", 2 * NS)
    m.condition(A, False, 3 * NS)
    assert states(m.unshelve(A, "ben", 4 * NS)) == [("shelved", "normal", "ben")]
    with pytest.raises(AlarmError, match="not shelved"):
        m.unshelve(A, "ben", 5 * NS)


def test_suppression_by_design_tracks_the_condition_meanwhile() -> None:
    m = manager()
    assert states(m.suppress(A, "planned downtime", 1 * NS)) == [("normal", "suppressed", "system")]
    assert m.condition(A, True, 2 * NS) == []  # no annunciation while suppressed
    with pytest.raises(AlarmError):
        m.acknowledge(A, "anna", 3 * NS)
    back = m.unsuppress(A, "planned downtime", 4 * NS)
    assert states(back) == [("suppressed", "active_unacknowledged", "system")]
    assert m.status(A).activated_ns == 2 * NS


def test_the_flood_guard_holds_low_priority_alarms_and_releases_them() -> None:
    m = AlarmManager(flood_limit=4, flood_window_ns=600 * NS, flood_keep=Priority.HIGH)
    low = [f"low-{i}" for i in range(8)]
    for alarm_id in low:
        m.define(AlarmDefinition(alarm_id, CNC, Priority.LOW, "low"))
    m.define(AlarmDefinition("critical", CNC, Priority.CRITICAL, "fire"))
    events = []
    for i, alarm_id in enumerate(low):
        events += m.condition(alarm_id, True, (i + 1) * NS)
    raised = [e.alarm_id for e in events if isinstance(e, AlarmRaised)]
    assert raised == low[:4]  # the fifth activation finds a flood
    assert m.flooding and m.held_by_flood() == low[4:]
    assert [e.flooding for e in events if isinstance(e, AlarmFlood)] == [True]
    assert any(e.note == "held: alarm flood" for e in events if isinstance(e, AlarmStateChanged))
    urgent = m.condition("critical", True, 9 * NS)
    assert any(isinstance(e, AlarmRaised) for e in urgent)  # critical always annunciates
    m.condition(low[5], False, 10 * NS)  # one held alarm's condition clears meanwhile

    ended = m.tick(700 * NS)  # the window has passed
    flood = [e for e in ended if isinstance(e, AlarmFlood)]
    assert [(f.flooding, f.held) for f in flood] == [(False, 4)]
    released = {e.alarm_id for e in ended if isinstance(e, AlarmRaised)}
    assert released == {low[4], low[6], low[7]}
    assert m.status(low[5]).state is AlarmState.NORMAL
    assert m.metrics()["floods"] == 1 and m.held_by_flood() == []


def test_definitions_and_unknown_alarms() -> None:
    m = manager()
    with pytest.raises(ValueError, match="twice"):
        m.define(AlarmDefinition(A, CNC, Priority.LOW, "again"))
    with pytest.raises(KeyError, match="no alarm"):
        m.condition("nope", True, 1)
    with pytest.raises(ValueError):
        AlarmManager(flood_limit=1)


def test_the_list_puts_the_most_urgent_and_newest_first() -> None:
    m = AlarmManager()
    for alarm_id, priority in (("a", Priority.LOW), ("b", Priority.CRITICAL), ("c", Priority.LOW)):
        m.define(AlarmDefinition(alarm_id, CNC, priority, alarm_id))
    for i, alarm_id in enumerate("abc"):
        m.condition(alarm_id, True, (i + 1) * NS)
    assert [d.alarm_id for d, _ in m.alarms(annunciated_only=True)] == ["b", "c", "a"]


ALLOWED = set(AlarmState)


class AlarmMachine(RuleBasedStateMachine):
    """Random process and operator actions: the state is always one of the diagram's and
    always agrees with the condition the process last reported."""

    def __init__(self) -> None:
        super().__init__()
        self.m = AlarmManager(flood_limit=3, flood_window_ns=50 * NS, flood_keep=Priority.HIGH)
        self.ids = ["x", "y", "z"]
        for i, alarm_id in enumerate(self.ids):
            self.m.define(AlarmDefinition(alarm_id, CNC, Priority(1 + i), alarm_id))
        self.now = 0
        self.condition = dict.fromkeys(self.ids, False)

    def _step(self) -> int:
        self.now += NS
        return self.now

    @rule(i=st.integers(0, 2), active=st.booleans())
    def process(self, i: int, active: bool) -> None:
        self.m.condition(self.ids[i], active, self._step())
        self.condition[self.ids[i]] = active

    @rule(
        i=st.integers(0, 2),
        kind=st.sampled_from(["ack", "shelve", "unshelve", "suppress", "unsuppress"]),
    )
    def operator(self, i: int, kind: str) -> None:
        alarm_id, now = self.ids[i], self._step()
        try:
            if kind == "ack":
                self.m.acknowledge(alarm_id, "op", now)
            elif kind == "shelve":
                self.m.shelve(alarm_id, "op", now + 20 * NS, "test", now)
            elif kind == "unshelve":
                self.m.unshelve(alarm_id, "op", now)
            elif kind == "suppress":
                self.m.suppress(alarm_id, "test", now)
            else:
                self.m.unsuppress(alarm_id, "test", now)
        except AlarmError:
            pass  # refused actions change nothing

    @rule(seconds=st.integers(1, 100))
    def time_passes(self, seconds: int) -> None:
        self.now += seconds * NS
        self.m.tick(self.now)

    @invariant()
    def consistent(self) -> None:
        for alarm_id in self.ids:
            status = self.m.status(alarm_id)
            assert status.state in ALLOWED
            assert status.active == self.condition[alarm_id]
            if status.state in (AlarmState.ACTIVE_ACKNOWLEDGED, AlarmState.ACTIVE_UNACKNOWLEDGED):
                assert status.active
            if status.state in (AlarmState.NORMAL, AlarmState.CLEARED_UNACKNOWLEDGED):
                assert not status.active


TestAlarmMachine = AlarmMachine.TestCase
TestAlarmMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
