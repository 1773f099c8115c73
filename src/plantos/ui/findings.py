"""The newest anomaly judgement of each asset, as the alarm list shows it beside the alarm.

An anomaly alarm says *that* a spindle left its healthy baseline; the judgement says
*why*: which features moved (a bearing's outer-race defect lifts the bands around the
structural resonance), how severe, and how long until the vibration reaches zone D.
An operator deciding whether to acknowledge or call maintenance needs both on one line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plantos.analytics.anomaly.events import AnomalyEscalated, AnomalyRaised
from plantos.core.events import Event

EVIDENCE_SHOWN = 3


def feature_label(name: str) -> str:
    """A feature name for people: ``band_2500_3500hz`` becomes ``band 2500-3500 Hz``
    (with an en dash).

    >>> feature_label("velocity_rms")
    'velocity rms'
    """
    parts = name.split("_")
    if len(parts) == 3 and parts[0] == "band" and parts[2].endswith("hz"):
        return f"band {parts[1]}\u2013{parts[2][:-2]} Hz"
    return name.replace("_", " ")


def latest_findings(events: Iterable[Event]) -> dict[str, dict[str, Any]]:
    """Per subject, its newest raise or escalation: severity, score, time to zone D and the
    features that explain most of the score (value against healthy)."""
    out: dict[str, dict[str, Any]] = {}
    for e in events:
        if isinstance(e, AnomalyRaised | AnomalyEscalated):
            out[e.subject] = {
                "severity": e.severity,
                "score": e.score,
                "ts_ns": e.ts_ns,
                "time_to_threshold_s": e.time_to_threshold_s,
                "evidence": [
                    {
                        "feature": feature_label(ev.feature),
                        "value": ev.value,
                        "healthy": ev.expected,
                    }
                    for ev in e.evidence[:EVIDENCE_SHOWN]
                ],
            }
    return out
