"""Spindle watches: the vibration anomaly detector applied to every spindle the plant file
names, each learning its own healthy baseline before it judges.

A watch turns its asset's batches into feature rows (one per vibration snapshot), keeps
the first rows as its healthy period and fits the detector on them, then scores every
later row. The healthy period is counted in rows *at speed* (snapshots taken while the
spindle turns): a machine whose first hours fall outside its shifts keeps learning until
it has run long enough, instead of judging with a baseline of standstill.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from plantos.analytics.anomaly.detector import FeatureFrame
from plantos.analytics.anomaly.monitor import AnomalyMonitor
from plantos.analytics.anomaly.presets import VIBRATION
from plantos.analytics.anomaly.spindle import SpindleFeatures, SpindleTags
from plantos.analytics.config import SpindleWatchSpec
from plantos.core.batch import SampleBatch
from plantos.core.events import Event
from plantos.model import Plant

TRAINING_ROWS_AT_SPEED = 48
"""Snapshots at speed that make a healthy period: 4 h of running at one every 5 minutes."""

SCORES_KEPT = 576
"""Recent scores kept for the asset health page: two days at one snapshot every 5 minutes."""


class SpindleWatch:
    def __init__(
        self, asset: str, tags: SpindleTags, *, training_rows: int = TRAINING_ROWS_AT_SPEED
    ) -> None:
        self.asset = asset
        self.features = SpindleFeatures(tags)
        self.monitor = AnomalyMonitor(VIBRATION.detector(), subject=asset, policy=VIBRATION.policy)
        self.training_rows = training_rows
        self.trained = False
        self._training: list[FeatureFrame] = []
        self._at_speed = 0
        self.rows_seen = 0
        """Feature rows (snapshots) made so far, while learning and after."""
        self.scores: deque[tuple[int, float, bool]] = deque(maxlen=SCORES_KEPT)
        """The newest ``(ts_ns, smoothed score, alarm flag)`` per judged snapshot (score NaN
        where it could not be judged), so a health page can draw the trend without
        re-scoring history."""

    @property
    def rows_at_speed(self) -> int:
        """Snapshots at speed collected towards the healthy period (while learning)."""
        return self._at_speed

    def judge(self, batch: SampleBatch) -> list[Event]:
        """Learn from, or judge, the snapshots ``batch`` completes."""
        frame = self.features.update(batch)
        if not len(frame.ts_ns):
            return []
        self.rows_seen += len(frame.ts_ns)
        if self.trained:
            out = self.monitor.process(frame)
            self.scores.extend(
                zip(frame.ts_ns.tolist(), out.scores.tolist(), out.flags.tolist(), strict=True)
            )
            return out.events
        self._training.append(frame)
        self._at_speed += int((frame.state > 0).sum())
        if self._at_speed >= self.training_rows:
            self.monitor.fit(FeatureFrame.concat(self._training))
            self._training.clear()
            self.trained = True
        return []


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
            watches.append(SpindleWatch(asset.path, tags))
    return watches
