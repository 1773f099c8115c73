"""The headless report lists each anomaly with its own escalations, not another asset's or
a later anomaly's."""

from __future__ import annotations

from plantos.analytics.anomaly.events import (
    AnomalyCleared,
    AnomalyEscalated,
    AnomalyRaised,
    episodes,
)
from plantos.core.events import Event

A, B = "plant-a/cnc-01", "plant-a/cnc-02"


def raised(t: int, subject: str) -> AnomalyRaised:
    return AnomalyRaised(ts_ns=t, subject=subject, score=30.0, severity="warning", detector="d")


def escalated(t: int, subject: str, severity: str) -> AnomalyEscalated:
    return AnomalyEscalated(
        ts_ns=t, subject=subject, score=90.0, severity=severity, previous="warning", detector="d"
    )


def test_each_anomaly_keeps_its_own_escalations_until_it_clears() -> None:
    events: list[Event] = [
        raised(1, A),
        raised(2, B),
        escalated(3, A, "alarm"),
        escalated(4, B, "critical"),
        escalated(5, A, "critical"),
        AnomalyCleared(ts_ns=6, subject=A, score=1.0, detector="d", duration_s=5.0),
        escalated(7, A, "alarm"),  # no anomaly of A is open: belongs to none
        raised(8, A),
    ]
    pairs = [(ep.raised.ts_ns, [e.ts_ns for e in ep.escalations]) for ep in episodes(events)]
    assert pairs == [(1, [3, 5]), (2, [4]), (8, [])]
    assert [ep.cleared.ts_ns if ep.cleared else None for ep in episodes(events)] == [6, None, None]
