"""Spindle watches: the vibration anomaly detector applied to every spindle the plant file
names, each learning its own healthy baseline before it judges.

A watch turns its asset's batches into feature rows (one per vibration snapshot) and hands
them to an :class:`AnomalyMonitor` that learns each operating state (a speed band) from its
first ``learn_rows`` snapshots, whenever the machine first runs it: a machine whose first
hours fall outside its shifts, or that runs a new program next week, learns then, instead
of being judged against a baseline of something else. Until a state is learned its
snapshots are judged only provisionally, against a learned program within
:data:`NEIGHBOUR_SPEED` of its speed, or not at all; the health page says how far learning
got.

The anomaly score decides whether there is an alarm; how severe it is, and how long until
the spindle reaches zone D, come from the velocity RMS and its ISO zones
(:class:`~plantos.analytics.anomaly.zones.ZoneSeverity`): a bearing defect found early is
an inspection to plan, not a machine to stop.

A snapshot taken while the spindle stands still is counted and not judged. A bearing
defect rings only when rolling elements pass it, so a stopped spindle's snapshot looks
healthy whatever the bearing's condition: judged, a break would pull a worn spindle's
score down, clear its alarm and raise it again after the break, and an alarm raised at a
standstill snapshot would show that snapshot's healthy features as its evidence.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

import numpy as np

from plantos.analytics.anomaly.detector import FeatureFrame
from plantos.analytics.anomaly.features import STANDSTILL
from plantos.analytics.anomaly.monitor import AnomalyMonitor
from plantos.analytics.anomaly.presets import VIBRATION
from plantos.analytics.anomaly.spindle import SpindleFeatures, SpindleTags
from plantos.analytics.anomaly.zones import GROUP2_RIGID, VelocityZones, ZoneSeverity
from plantos.analytics.config import SpindleWatchSpec
from plantos.core.batch import SampleBatch
from plantos.core.events import Event
from plantos.model import Plant

NEIGHBOUR_SPEED = 0.05
"""A program not learned yet is judged, provisionally, against a learned one at most 5 %
away in speed (see :class:`AnomalyMonitor`): a worn bearing rings the same at 12,250 rpm
as at 12,500, while a healthy spindle's features move by a few per cent, within the
baseline's spread."""
SCORES_KEPT = 576
"""Recent scores kept for the asset health page: two days at one snapshot every 5 minutes."""


class SpindleWatch:
    def __init__(self, asset: str, tags: SpindleTags, zones: VelocityZones = GROUP2_RIGID) -> None:
        self.asset = asset
        self.features = SpindleFeatures(tags)
        self.severity = ZoneSeverity(zones, trend_points=VIBRATION.policy.trend_points)
        """Grades this spindle's anomalies by its velocity zone; knows the newest level."""
        self.monitor = AnomalyMonitor(
            VIBRATION.detector(),
            subject=asset,
            policy=VIBRATION.policy,
            learn_rows=VIBRATION.learn_rows,
            scale=self.severity,
            neighbour_within=NEIGHBOUR_SPEED,
        )
        self.training_rows = VIBRATION.learn_rows
        """Snapshots that make one operating state's healthy baseline."""
        self.rows_seen = 0
        """Feature rows (snapshots) made so far, while learning and after."""
        self.standstill_rows = 0
        """Of :attr:`rows_seen`, the snapshots taken at standstill: counted, not judged."""
        self.scores: deque[tuple[int, float, bool]] = deque(maxlen=SCORES_KEPT)
        """The newest ``(ts_ns, smoothed score, alarm flag)`` per judged snapshot, so a health
        page can draw the trend without re-scoring history."""

    @property
    def trained(self) -> bool:
        """At least one operating state at speed has its healthy baseline."""
        return any(state != STANDSTILL for state in self.monitor.learned_ns)

    @property
    def rows_at_speed(self) -> int:
        """While learning: the snapshots the furthest state at speed has collected."""
        return max(
            (n for state, n in self.monitor.learning.items() if state != STANDSTILL), default=0
        )

    def judge(self, batch: SampleBatch) -> list[Event]:
        """Learn from, or judge, the snapshots ``batch`` completes."""
        return self.judge_rows(self.features.update(batch))

    def judge_rows(self, frame: FeatureFrame) -> list[Event]:
        """Learn from, or judge, feature rows made by :attr:`features`; the rows taken at
        standstill are only counted."""
        self.rows_seen += len(frame.ts_ns)
        at_speed = frame.state != STANDSTILL
        self.standstill_rows += int((~at_speed).sum())
        frame = frame.rows(at_speed)
        if not len(frame.ts_ns):
            return []
        out = self.monitor.process(frame)
        judged = np.isfinite(out.scores)  # a state being learned, far from a learned one
        self.scores.extend(
            zip(
                frame.ts_ns[judged].tolist(),
                out.scores[judged].tolist(),
                out.flags[judged].tolist(),
                strict=True,
            )
        )
        return out.events


def spindle_watches(
    plant: Plant, specs: Sequence[SpindleWatchSpec], tag_ids: Mapping[str, int]
) -> list[SpindleWatch]:
    """One watch per asset of each configured type."""
    watches = []
    for spec in specs:
        for asset in plant.assets.values():
            if asset.type != spec.asset_type:
                continue
            waveform = plant.tags[f"{asset.path}/{spec.waveform}"].waveform
            assert waveform is not None  # checked when the analytics section was validated
            tags = SpindleTags(
                waveform=tag_ids[f"{asset.path}/{spec.waveform}"],
                speed=tag_ids[f"{asset.path}/{spec.speed}"],
                velocity_rms=tag_ids[f"{asset.path}/{spec.velocity_rms}"],
                rate_hz=waveform.rate_hz,
                samples=waveform.samples,
            )
            watches.append(SpindleWatch(asset.path, tags, spec.velocity_zones_mm_s.zones()))
    return watches
