"""Sample batches of one spindle to feature rows: one row per vibration snapshot.

A condition-monitoring sensor sends a burst of raw acceleration every few
minutes. Each complete burst becomes one row: its waveform features, the 1 s
velocity RMS at the burst, and the operating state (a narrow speed band) at the
burst, so a spindle at 12,000 rpm is compared with itself at 12,000 rpm.
A burst split across two batches is kept until it is complete. A burst with a
sample carrying the OPC UA Overflow bit (the server's queue dropped values before
it) is not judged: a snapshot with a gap has the wrong shape (kurtosis, crest
factor) and would score as an anomaly of a healthy spindle.

A complete burst waits until its context has arrived. Over a real protocol the
waveform, the speed and the RMS come as separate items that a busy server or client
delivers in separate batches, each in order: a burst can arrive before the speed
sample that says the spindle had started again. Judged at once, it would be taken for
a stopped spindle's snapshot and score as a wild anomaly. So a burst is judged once the
RMS (sent every second) and the speed have been seen at or after its start; a speed
sent only when it changes says nothing while it holds, so :data:`CONTEXT_WAIT_NS` of
RMS after the burst stands in for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.analytics.anomaly.detector import FeatureFrame
from plantos.analytics.anomaly.features import snapshot_features, speed_band
from plantos.analytics.anomaly.stuck import clean
from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.timeunits import NS_PER_S

FloatArray = npt.NDArray[np.float64]

# Shaft orders below 500 Hz, the bearing defect's resonance around 3 kHz, the rest between.
BANDS_HZ = ((0.0, 500.0), (500.0, 1500.0), (1500.0, 2500.0), (2500.0, 3500.0), (3500.0, 5000.0))
_BURST_GAP_NS = 10_000_000
# Narrow enough that each NC program's spindle speed is its own operating state.
STATE_BAND_RPM = 250.0
CONTEXT_WAIT_NS = 60 * NS_PER_S
"""RMS seen this long after a burst, and no newer speed: the speed held, judge the burst."""
MAX_WAITING = 16
"""Bursts kept waiting for their context at most; beyond, the oldest is judged with what
is known (a context tag that went silent must not hold the spindle's judgement forever)."""


@dataclass(frozen=True, slots=True)
class SpindleTags:
    """The tag ids of one spindle's signals and its snapshot format."""

    waveform: int
    speed: int
    velocity_rms: int
    rate_hz: float
    samples: int


class _Context:
    """One context tag's samples, kept back to the newest one at or before the oldest
    waiting burst, so a burst judged later still finds the value at its start."""

    def __init__(self) -> None:
        self.ts = np.array([np.iinfo(np.int64).min], np.int64)  # "before anything": NaN
        self.values = np.array([np.nan])

    @property
    def newest_ns(self) -> int:
        return int(self.ts[-1])

    def add(self, ts: npt.NDArray[np.int64], values: FloatArray) -> None:
        ok = np.isfinite(values)
        self.ts = np.concatenate((self.ts, ts[ok]))
        self.values = np.concatenate((self.values, values[ok]))

    def at(self, when: npt.NDArray[np.int64]) -> FloatArray:
        """The last value at or before each of ``when``."""
        return self.values[np.searchsorted(self.ts, when, side="right") - 1]

    def keep_from(self, when: int) -> None:
        """Forget what no burst at or after ``when`` can ask for."""
        first = max(int(np.searchsorted(self.ts, when, side="right")) - 1, 0)
        self.ts, self.values = self.ts[first:], self.values[first:]


class SpindleFeatures:
    """Turns a spindle's batches into :class:`FeatureFrame` rows, carrying partial state."""

    def __init__(self, tags: SpindleTags) -> None:
        self.tags = tags
        band_names = snapshot_features(np.zeros((1, 8)), rate_hz=tags.rate_hz, bands_hz=BANDS_HZ)[1]
        self.names = (*band_names, "velocity_rms")
        self._wave_ts = np.zeros(0, np.int64)
        self._wave = np.zeros(0)
        self._wave_overflow = np.zeros(0, bool)
        self._speed = _Context()
        self._rms = _Context()
        self._waiting_at = np.zeros(0, np.int64)
        """Start of each complete burst not yet judged, waiting for its context."""
        self._waiting = np.zeros((0, len(self.names) - 1))
        """Their waveform features (computed when complete)."""
        #: Bursts judged before their context arrived (:data:`MAX_WAITING` exceeded).
        self.judged_early = 0
        #: Bursts that ended short of a whole snapshot (samples lost on the way): skipped.
        self.incomplete = 0
        #: Bursts with a sample flagged Overflow (the server dropped values): skipped.
        self.overflowed = 0
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
        flagged = quality.overflowed(batch.quality[batch.tag_id == t.waveform])
        ts = np.concatenate((self._wave_ts, wave_ts))
        values = np.concatenate((self._wave, wave))
        overflow = np.concatenate((self._wave_overflow, flagged))
        gaps = np.diff(ts, prepend=ts[:1] - 2 * _BURST_GAP_NS) > _BURST_GAP_NS
        starts = np.flatnonzero(gaps)
        ends = np.concatenate((starts[1:], [len(ts)]))
        done = (ends - starts) >= t.samples
        # Only the newest burst can still grow; a short one before it never will.
        open_burst = len(starts) > 0 and not done[-1]
        keep = int(starts[-1]) if open_burst else len(ts)
        self.incomplete += int((~done).sum()) - int(open_burst)
        self._wave_ts, self._wave, self._wave_overflow = ts[keep:], values[keep:], overflow[keep:]
        whole = [a for a in starts[done].tolist() if not overflow[a : a + t.samples].any()]
        self.overflowed += int(done.sum()) - len(whole)
        at = ts[whole]
        if len(at):
            snaps = np.stack([values[a : a + t.samples] for a in whole])
            feats, _ = snapshot_features(snaps, rate_hz=t.rate_hz, bands_hz=BANDS_HZ)
            self._waiting_at = np.concatenate((self._waiting_at, at))
            self._waiting = np.concatenate((self._waiting, feats))
        self._speed.add(*self._clean(batch, t.speed))
        self._rms.add(*self._clean(batch, t.velocity_rms))
        return self._judgeable()

    def _judgeable(self) -> FeatureFrame:
        """The waiting bursts whose context has arrived (a prefix: they are in time
        order), as rows with the speed band and the 1 s RMS at each burst's start."""
        at, rms_seen = self._waiting_at, self._rms.newest_ns
        ready = (rms_seen >= at) & (
            (self._speed.newest_ns >= at) | (rms_seen >= at + CONTEXT_WAIT_NS)
        )
        n = int(np.argmin(ready)) if not ready.all() else len(at)
        forced = max(len(at) - MAX_WAITING - n, 0)
        self.judged_early += forced
        n += forced
        rows = at[:n]
        frame = FeatureFrame.of(
            np.column_stack((self._waiting[:n], self._rms.at(rows))),
            self.names,
            rows,
            speed_band(self._speed.at(rows), width_rpm=STATE_BAND_RPM),
        )
        self._waiting_at, self._waiting = at[n:], self._waiting[n:]
        oldest = int(self._waiting_at[0]) if len(self._waiting_at) else np.iinfo(np.int64).max
        self._speed.keep_from(oldest)
        self._rms.keep_from(oldest)
        return frame
