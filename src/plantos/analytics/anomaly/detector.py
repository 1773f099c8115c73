"""The ``Detector`` port and its default implementation, a robust Hotelling T-squared.

A detector learns what healthy looks like from a batch of feature rows
(``fit``), then gives every new row a score (``score_batch``) and says which
features drove it (``contributions``). That is the whole contract, so an
Isolation Forest or a river model plugs in by implementing three methods on a
:class:`FeatureFrame`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from plantos.analytics.anomaly.baseline import DEFAULT_RELATIVE_FLOOR, Baseline, fit_baseline

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

HEALTHY_SCORE = 1.0
"""T-squared / k of a typical healthy row: where a capped smoothing starts."""


@dataclass(frozen=True, slots=True)
class FeatureFrame:
    """Feature rows as a detector sees them: values, names, operating state and time.

    ``state`` is an integer key per row chosen by the caller (e.g. a speed band):
    each state gets its own baseline. NaN in ``values`` means "not measurable".
    """

    values: FloatArray
    names: tuple[str, ...]
    ts_ns: IntArray
    state: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        n, k = self.values.shape if self.values.ndim == 2 else (-1, -1)
        if k != len(self.names):
            shape = self.values.shape
            raise ValueError(f"values must be 2-D with {len(self.names)} columns, got {shape}")
        if len(self.state) == 0 and n > 0:
            object.__setattr__(self, "state", np.zeros(n, np.int64))
        if len(self.ts_ns) != n or len(self.state) != n:
            lengths = (len(self.ts_ns), len(self.state))
            raise ValueError(f"ts_ns and state need {n} rows each, got {lengths}")

    @classmethod
    def of(
        cls,
        values: npt.ArrayLike,
        names: Sequence[str],
        ts_ns: npt.ArrayLike | None = None,
        state: npt.ArrayLike | None = None,
    ) -> FeatureFrame:
        v = np.asarray(values, dtype=np.float64).reshape(-1, len(names))
        ts = np.arange(len(v), dtype=np.int64) if ts_ns is None else np.asarray(ts_ns, np.int64)
        st = np.zeros(len(v), np.int64) if state is None else np.asarray(state, np.int64)
        return cls(v, tuple(names), ts, st)

    @classmethod
    def concat(cls, frames: Sequence[FeatureFrame]) -> FeatureFrame:
        """Rows of several frames with the same features, in order."""
        if not frames:
            raise ValueError("concat needs at least one frame")
        return cls(
            np.vstack([f.values for f in frames]),
            frames[0].names,
            np.concatenate([f.ts_ns for f in frames]),
            np.concatenate([f.state for f in frames]),
        )

    def __len__(self) -> int:
        return len(self.values)

    def rows(self, sl: slice | npt.NDArray[np.bool_]) -> FeatureFrame:
        return FeatureFrame(self.values[sl], self.names, self.ts_ns[sl], self.state[sl])


@runtime_checkable
class Detector(Protocol):
    """What every anomaly detector offers. Scores: higher is stranger, NaN is no judgement."""

    name: str

    def fit(self, frame: FeatureFrame) -> None: ...

    def score_batch(self, frame: FeatureFrame) -> FloatArray: ...

    def contributions(self, frame: FeatureFrame) -> FloatArray: ...


class HotellingDetector:
    """Hotelling T-squared per operating state on robustly standardised features, EWMA-smoothed.

    Why robust: a median and a trimmed scale do not move when the healthy period
    holds a few glitches. Why shrinkage (Ledoit-Wolf): with flat, collinear or
    few training rows a sample covariance is singular; the shrunk one never is.
    The raw score is T-squared divided by the number of features (about 1 for
    healthy rows), so one threshold fits any feature set. The EWMA carries over
    between batches, which makes one spike fade instead of flag.

    ``raw_cap`` bounds the raw score before it enters the EWMA. Without it one row
    with a wild score (a snapshot that arrived damaged, say 10,000) lifts the smoothed
    score so far that it takes many rows to decay back below the alarm threshold, long
    enough to pass any minimum duration by itself. A cap of a few times the raise
    threshold keeps every genuinely high row above it, so a sustained anomaly crosses
    as before, while one outlier fades within a row or two (see
    :data:`~plantos.analytics.anomaly.presets.VIBRATION`). With a cap the smoothing
    also starts (after a fit or :meth:`reset`) from :data:`HEALTHY_SCORE` instead of
    the first row's score, which would otherwise enter whole.
    """

    name = "hotelling"

    def __init__(
        self,
        *,
        ewma_alpha: float = 0.2,
        min_samples: int = 10,
        relative_scale_floor: float = DEFAULT_RELATIVE_FLOOR,
        raw_cap: float | None = None,
    ) -> None:
        if not 0 < ewma_alpha <= 1:
            raise ValueError(f"ewma_alpha must be in (0, 1], got {ewma_alpha}")
        if min_samples < 1:
            raise ValueError(f"min_samples must be at least 1, got {min_samples}")
        if not 0 < relative_scale_floor < 1:
            raise ValueError(f"relative_scale_floor must be in (0, 1), got {relative_scale_floor}")
        if raw_cap is not None and not raw_cap > 0:
            raise ValueError(f"raw_cap must be positive, got {raw_cap}")
        self.raw_cap = raw_cap
        self.ewma_alpha = ewma_alpha
        self.min_samples = min_samples
        self.relative_scale_floor = relative_scale_floor
        self.baselines: dict[int, Baseline] = {}
        self.names: tuple[str, ...] = ()
        #: Rows left out of training or scoring because a feature was NaN or infinite.
        self.skipped_rows = 0
        #: Rows scored NaN because their state had no baseline.
        self.unknown_state_rows = 0
        self._smoothed = np.nan

    @property
    def stuck(self) -> dict[int, tuple[str, ...]]:
        """Per state, the features that never moved while training: a stuck sensor, not health."""
        return {s: b.stuck for s, b in self.baselines.items() if b.stuck}

    def fit(self, frame: FeatureFrame) -> None:
        """Learn one baseline per state that has at least ``min_samples`` complete rows."""
        ok = np.isfinite(frame.values).all(axis=1)
        self.skipped_rows = int((~ok).sum())
        self.names = frame.names
        self.baselines = {}
        for state in np.unique(frame.state[ok]):
            rows = frame.values[ok & (frame.state == state)]
            if len(rows) >= self.min_samples:
                self.baselines[int(state)] = fit_baseline(
                    rows, frame.names, relative_floor=self.relative_scale_floor
                )
        self.reset()

    def reset(self) -> None:
        """Forget the smoothing history (a new stream, or scoring from the start again)."""
        self._smoothed = np.nan

    def raw_scores(self, frame: FeatureFrame) -> FloatArray:
        """Unsmoothed T-squared / k per row; NaN where the row or its state cannot be judged."""
        out = np.full(len(frame), np.nan)
        finite = np.isfinite(frame.values).all(axis=1)
        for state, base in self.baselines.items():
            rows = finite & (frame.state == state)
            if rows.any():
                out[rows] = base.t2(frame.values[rows]) / len(self.names)
        self.skipped_rows += int((~finite).sum())
        self.unknown_state_rows += int((finite & np.isnan(out)).sum())
        return out

    def score_batch(self, frame: FeatureFrame) -> FloatArray:
        """EWMA of the raw score (at most ``raw_cap``), continued from the previous batch;
        NaN rows keep the state."""
        raw = self.raw_scores(frame)
        a, s = self.ewma_alpha, self._smoothed
        if self.raw_cap is not None:
            raw = np.minimum(raw, self.raw_cap)  # NaN stays NaN
            s = HEALTHY_SCORE if s != s else s
        out = np.full(len(raw), np.nan)
        for i, r in enumerate(raw.tolist()):
            if r == r:  # not NaN
                s = r if s != s else s + a * (r - s)
                out[i] = s
        self._smoothed = s
        return out

    def contributions(self, frame: FeatureFrame) -> FloatArray:
        """Per row and feature, its share of the raw score (the shares sum to it)."""
        out = np.full(frame.values.shape, np.nan)
        finite = np.isfinite(frame.values).all(axis=1)
        for state, base in self.baselines.items():
            rows = finite & (frame.state == state)
            if rows.any():
                out[rows] = base.contributions(frame.values[rows]) / len(self.names)
        return out

    def baseline_for(self, state: int) -> Baseline | None:
        return self.baselines.get(state)
