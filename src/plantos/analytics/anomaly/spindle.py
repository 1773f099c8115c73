"""Sample batches of one spindle to feature rows: one row per vibration snapshot.

A condition-monitoring sensor sends a burst of raw acceleration every few
minutes. Each complete burst becomes one row: its waveform features, the 1 s
velocity RMS at the burst, and the operating state (a narrow speed band) at the
burst, so a spindle at 12,000 rpm is compared with itself at 12,000 rpm.
A burst split across two batches is kept until it is complete.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.analytics.anomaly.detector import FeatureFrame
from plantos.analytics.anomaly.features import snapshot_features, speed_band
from plantos.analytics.anomaly.stuck import clean
from plantos.core.batch import SampleBatch

FloatArray = npt.NDArray[np.float64]

# Shaft orders below 500 Hz, the bearing defect's resonance around 3 kHz, the rest between.
BANDS_HZ = ((0.0, 500.0), (500.0, 1500.0), (1500.0, 2500.0), (2500.0, 3500.0), (3500.0, 5000.0))
_BURST_GAP_NS = 10_000_000
# Narrow enough that each NC program's spindle speed is its own operating state.
STATE_BAND_RPM = 250.0


@dataclass(frozen=True, slots=True)
class SpindleTags:
    """The tag ids of one spindle's signals and its snapshot format."""

    waveform: int
    speed: int
    velocity_rms: int
    rate_hz: float
    samples: int


class SpindleFeatures:
    """Turns a spindle's batches into :class:`FeatureFrame` rows, carrying partial state."""

    def __init__(self, tags: SpindleTags) -> None:
        self.tags = tags
        band_names = snapshot_features(np.zeros((1, 8)), rate_hz=tags.rate_hz, bands_hz=BANDS_HZ)[1]
        self.names = (*band_names, "velocity_rms")
        self._wave_ts = np.zeros(0, np.int64)
        self._wave = np.zeros(0)
        self._speed = np.nan
        self._rms = np.nan
        #: Bursts that ended short of a whole snapshot (samples lost on the way): skipped.
        self.incomplete = 0
        #: Unusable samples seen (bad quality, NaN, infinite), by kind.
        self.skipped = {"bad": 0, "nan": 0, "inf": 0}

    def _clean(self, batch: SampleBatch, tag: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
        part = batch.select(batch.tag_id == tag)
        cleaned = clean(part.value, part.quality)
        for kind, n in cleaned.counts.items():
            self.skipped[kind] += n
        return part.ts, cleaned.values

    def update(self, batch: SampleBatch) -> FeatureFrame:
        """Rows for every burst completed by ``batch`` (in time order)."""
        t = self.tags
        wave_ts, wave = self._clean(batch, t.waveform)
        ts = np.concatenate((self._wave_ts, wave_ts))
        values = np.concatenate((self._wave, wave))
        gaps = np.diff(ts, prepend=ts[:1] - 2 * _BURST_GAP_NS) > _BURST_GAP_NS
        starts = np.flatnonzero(gaps)
        ends = np.concatenate((starts[1:], [len(ts)]))
        done = (ends - starts) >= t.samples
        # Only the newest burst can still grow; a short one before it never will.
        open_burst = len(starts) > 0 and not done[-1]
        keep = int(starts[-1]) if open_burst else len(ts)
        self.incomplete += int((~done).sum()) - int(open_burst)
        self._wave_ts, self._wave = ts[keep:], values[keep:]
        at = ts[starts[done]]
        speed, rms = self._context(batch, at)
        if not len(at):
            return FeatureFrame.of(np.zeros((0, len(self.names))), self.names)
        snaps = np.stack([values[a : a + t.samples] for a in starts[done].tolist()])
        feats, _ = snapshot_features(snaps, rate_hz=t.rate_hz, bands_hz=BANDS_HZ)
        return FeatureFrame.of(
            np.column_stack((feats, rms)),
            self.names,
            at,
            speed_band(speed, width_rpm=STATE_BAND_RPM),
        )

    def _context(
        self, batch: SampleBatch, at: npt.NDArray[np.int64]
    ) -> tuple[FloatArray, FloatArray]:
        """Per burst start: the last speed and 1 s velocity RMS at or before it (same state)."""
        sp_ts, sp = self._clean(batch, self.tags.speed)
        ok = np.isfinite(sp)
        sp_ts, sp = sp_ts[ok], np.concatenate(([self._speed], sp[ok]))
        speed = sp[np.searchsorted(sp_ts, at, side="right")]
        self._speed = float(sp[-1])
        r_ts, r = self._clean(batch, self.tags.velocity_rms)
        ok = np.isfinite(r)
        r_ts, r = r_ts[ok], np.concatenate(([self._rms], r[ok]))
        rms = r[np.searchsorted(r_ts, at, side="right")]
        self._rms = float(r[-1])
        return speed, rms
