"""A detector written outside PlantOS plugs into the monitor through the three-method port
and gets alarms, evidence and events like the built-in one."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from plantos.analytics.anomaly.alarm import AlarmPolicy
from plantos.analytics.anomaly.detector import Detector, FeatureFrame
from plantos.analytics.anomaly.events import AnomalyCleared, AnomalyRaised
from plantos.analytics.anomaly.monitor import AnomalyMonitor

NS = 1_000_000_000
NAMES = ("rms", "kurtosis", "band_3khz")


class MedianDistance:
    """Mean squared robust z-score against the healthy median, one baseline per state:
    the kind of detector a user would bring, written only against the port."""

    name = "median-distance"

    def __init__(self) -> None:
        self.center: dict[int, npt.NDArray[np.float64]] = {}
        self.scale: dict[int, npt.NDArray[np.float64]] = {}

    def fit(self, frame: FeatureFrame) -> None:
        for state in np.unique(frame.state):
            rows = frame.values[frame.state == state]
            center = np.median(rows, axis=0)
            self.center[int(state)] = center
            self.scale[int(state)] = 1.4826 * np.median(np.abs(rows - center), axis=0) + 1e-9

    def contributions(self, frame: FeatureFrame) -> npt.NDArray[np.float64]:
        out = np.full(frame.values.shape, np.nan)
        for state, center in self.center.items():
            rows = frame.state == state
            out[rows] = ((frame.values[rows] - center) / self.scale[state]) ** 2 / len(NAMES)
        return out

    def score_batch(self, frame: FeatureFrame) -> npt.NDArray[np.float64]:
        return np.asarray(self.contributions(frame).sum(axis=1))


def rows(n: int, start: int, rng: np.random.Generator, *, defect: float = 0.0) -> FeatureFrame:
    values = rng.normal([2.0, 3.0, 0.1], [0.1, 0.2, 0.01], size=(n, 3))
    values[:, 2] += defect
    return FeatureFrame.of(values, NAMES, (start + np.arange(n)) * 300 * NS)


def test_a_users_detector_raises_clears_and_names_its_evidence() -> None:
    rng = np.random.default_rng(3)
    detector = MedianDistance()
    assert isinstance(detector, Detector)
    policy = AlarmPolicy(raise_at=9.0, clear_at=3.0, min_duration_ns=15 * 60 * NS)
    monitor = AnomalyMonitor(detector, subject="plant-a/m/l/cnc-03", policy=policy)
    monitor.fit(rows(200, 0, rng))
    healthy = monitor.process(rows(100, 200, rng))
    assert not healthy.flags.any() and not healthy.events
    worn = monitor.process(rows(12, 300, rng, defect=0.5))
    [raised] = [e for e in worn.events if isinstance(e, AnomalyRaised)]
    assert raised.detector == "median-distance"
    assert raised.evidence[0].feature == "band_3khz"
    assert raised.ts_ns >= int(rows(1, 303, rng).ts_ns[0])  # held for the minimum duration
    repaired = monitor.process(rows(24, 312, rng))
    assert any(isinstance(e, AnomalyCleared) for e in repaired.events)
    assert not repaired.flags[-1]
