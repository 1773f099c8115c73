"""Events of anomaly detection: an anomaly raised or cleared, a sensor that cannot be trusted.

The subject is the asset path: maintenance opens work orders on assets, not on
tags. The evidence travels with the event so that a work order can say *why*
without querying the detector again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from plantos.core.events import Event


@dataclass(frozen=True, slots=True)
class Evidence:
    """One contributing feature: its value now, its expected value, its share of the score.

    ``share``: the feature's part of the event's score (the detector's raw
    contributions scaled so that all features' shares sum to the score; the
    evidence lists the largest few, so theirs sum to at most about the score).
    ``relation``: what broke, when the detector can say: ``off its relation with a, b``
    (the feature left what its healthy partners predict: ``expected`` is that
    prediction) or ``beyond its healthy range`` (``expected`` is the healthy level).
    """

    feature: str
    value: float
    expected: float | None
    share: float
    relation: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnomalyRaised(Event):
    """An asset's behaviour left its healthy baseline for longer than the minimum duration.

    ``time_to_threshold_s`` is the central estimate of the time to the top severity;
    ``time_to_threshold_low_s`` / ``_high_s`` its interval (90%: earliest and latest
    plausible; high None: it may never come). ``severity_rank`` is the severity's
    position among the scale's levels (0 = lowest); ``priority`` orders anomalies
    across assets: the rank plus an urgency in [0, 1) (:func:`priority`).
    """

    kind: ClassVar[str] = "AnomalyRaised"
    score: float
    severity: str
    evidence: tuple[Evidence, ...] = ()
    time_to_threshold_s: float | None = None
    detector: str
    time_to_threshold_low_s: float | None = None
    time_to_threshold_high_s: float | None = None
    severity_rank: int = 0
    priority: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AnomalyEscalated(Event):
    """An active anomaly's severity rose (e.g. ``warning`` to ``alarm``): it is getting worse.

    Its own event because a work order opened on a warning may need to be
    brought forward; a falling severity is not reported (hysteresis, no chatter).
    """

    kind: ClassVar[str] = "AnomalyEscalated"
    score: float
    severity: str
    previous: str
    evidence: tuple[Evidence, ...] = ()
    time_to_threshold_s: float | None = None
    detector: str
    time_to_threshold_low_s: float | None = None
    time_to_threshold_high_s: float | None = None
    severity_rank: int = 0
    priority: float = 0.0


def priority(severity_rank: int, earliest_s: float | None) -> float:
    """Severity rank plus urgency: 1 / (1 + days until the earliest plausible top severity),
    0 without an estimate. A higher severity always outranks a lower one; within one,
    the anomaly that may reach the top first comes first.

    >>> priority(1, 3 * 86400.0), priority(1, 86400.0), priority(2, None)
    (1.25, 1.5, 2.0)
    """
    urgency = 0.0 if earliest_s is None else 1.0 / (1.0 + max(earliest_s, 0.0) / 86400.0)
    return severity_rank + min(urgency, 0.999999)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnomalyCleared(Event):
    """The score fell below the clear threshold: the anomaly raised earlier is over."""

    kind: ClassVar[str] = "AnomalyCleared"
    score: float
    detector: str
    duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorFinding(Event):
    """A signal that cannot be judged: ``stuck`` (flat line), ``missing`` (gap) or ``bad``.

    Its own finding because a flat or silent sensor looks perfectly healthy to a
    detector; the subject here is the tag path (from :class:`AnomalyMonitor`:
    the asset path, plus ``/<feature>`` for a stuck feature). ``since_ns`` is
    when the flat line or the gap began, ``samples`` how many rows it spans.
    """

    kind: ClassVar[str] = "SensorFinding"
    finding: str
    since_ns: int
    samples: int


@dataclass(frozen=True, slots=True)
class AnomalyEpisode:
    """One anomaly of one asset from its raise: the escalations while it was open, its clear."""

    raised: AnomalyRaised
    escalations: list[AnomalyEscalated]
    cleared: AnomalyCleared | None = None


def episodes(events: Iterable[Event]) -> list[AnomalyEpisode]:
    """Every anomaly raised, in order, with its own escalations and clear: an escalation or
    clear belongs to the asset's open anomaly, and to none when it has none open."""
    out: list[AnomalyEpisode] = []
    open_: dict[str, int] = {}
    for e in events:
        if isinstance(e, AnomalyRaised):
            open_[e.subject] = len(out)
            out.append(AnomalyEpisode(e, []))
        elif isinstance(e, AnomalyEscalated) and e.subject in open_:
            out[open_[e.subject]].escalations.append(e)
        elif isinstance(e, AnomalyCleared) and e.subject in open_:
            i = open_.pop(e.subject)
            out[i] = AnomalyEpisode(out[i].raised, out[i].escalations, e)
    return out
