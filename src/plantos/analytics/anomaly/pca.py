"""Channels judged together: a robust PCA monitor with T-squared and Q (SPE) statistics.

A plant's channels move together: a feed flow and the pressure it makes, a
motor's current and its load. A fault often breaks such a relation long before
any channel leaves its own range. Principal components learned from healthy
rows describe the relations; two statistics judge a row against them:

- T-squared, within the model: how far the row is along the healthy directions
  (everything moved together, but further than ever in health);
- Q, the squared prediction error: how far the row is from what the other
  channels predict (a relation broke).

Each statistic is EWMA-smoothed and divided by its own 99th percentile on
held-out training rows (blocked cross-fitting, as in operation), so neither
drowns the other and a healthy row scores about 1 or less whatever the units.
The score is the larger of the two. Channels are standardised by a robust
centre and scale (different units do not matter); a channel that never moved
while training carries no relation and is left out (and named in :attr:`stuck`);
a missing value is filled with what the model predicts from the row's other
channels, so it neither raises nor hides the score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.analytics.anomaly.baseline import (
    DEFAULT_RELATIVE_FLOOR,
    ledoit_wolf,
    robust_scale,
)
from plantos.analytics.anomaly.detector import FeatureFrame

FloatArray = npt.NDArray[np.float64]
_Z_CLIP = 6.0
_IMPUTE_ROUNDS = 5


@dataclass(frozen=True, slots=True)
class PcaModel:
    """Centre and scale per used channel, loadings, component variances, residual variance."""

    used: npt.NDArray[np.bool_]
    center: FloatArray
    scale: FloatArray
    loadings: FloatArray
    variances: FloatArray
    residual: float
    corr: FloatArray

    def z(self, x: FloatArray) -> FloatArray:
        """Standardised rows of the used channels; a missing value is what the others predict."""
        z = (x[:, self.used] - self.center) / self.scale
        missing = ~np.isfinite(z)
        if missing.any():
            z = np.where(missing, 0.0, z)
            for _ in range(_IMPUTE_ROUNDS):
                z = np.where(missing, (z @ self.loadings) @ self.loadings.T, z)
        return np.asarray(z)

    def statistics(self, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        """T-squared per component and Q per unit of healthy residual variance, per row."""
        t = z @ self.loadings
        t2 = (t**2 / self.variances).sum(axis=1) / len(self.variances)
        e = z - t @ self.loadings.T
        return np.asarray(t2), np.asarray((e**2).sum(axis=1) / self.residual)

    def shares(self, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Per row and used channel, its part of T-squared and of Q (each sums to the statistic)."""
        inv = (self.loadings / self.variances) @ self.loadings.T
        t2 = z * (z @ inv) / len(self.variances)
        e = z - (z @ self.loadings) @ self.loadings.T
        return np.asarray(t2), np.asarray(e**2 / self.residual)


def fit_pca(
    rows: FloatArray, *, explained: float, relative_floor: float = DEFAULT_RELATIVE_FLOOR
) -> PcaModel:
    """A model of rows (NaN allowed per cell) keeping the components that explain ``explained``."""
    finite = np.isfinite(rows)
    lo = np.where(finite, rows, np.inf).min(axis=0)
    hi = np.where(finite, rows, -np.inf).max(axis=0)
    used = np.asarray(hi > lo)
    if not used.any():
        raise ValueError("every channel was constant while training: nothing to learn from")
    x = rows[:, used]
    center = np.nanmedian(x, axis=0)
    filled = np.where(np.isfinite(x), x, center)
    scale = robust_scale(filled, center, relative_floor=relative_floor)
    z = np.clip((filled - center) / scale, -_Z_CLIP, _Z_CLIP)
    cov = ledoit_wolf(z - z.mean(axis=0))
    d = np.sqrt(np.maximum(np.diag(cov), 1e-12))
    corr = cov / np.outer(d, d)
    values, vectors = np.linalg.eigh(corr)
    values, vectors = values[::-1], vectors[:, ::-1]
    k = len(values)
    share = np.cumsum(values) / values.sum()
    a = min(int(np.searchsorted(share, explained)) + 1, max(1, k - 1))
    loadings = vectors[:, :a]
    # The statistics' units from the training rows themselves, not from the shrunk
    # eigenvalues: shrinkage depends on the row count, which would make a model fitted
    # on fewer rows (the held-out folds) judge in other units than the final one.
    zs = z / d
    t = zs @ loadings
    variances = np.maximum(np.mean(t**2, axis=0), 1e-9)
    residual = float(np.mean(((zs - t @ loadings.T) ** 2).sum(axis=1))) if a < k else 1.0
    return PcaModel(used, center, scale * d, loadings, variances, max(residual, 1e-9), corr)


def _ewma(x: FloatArray, alpha: float, start: float) -> tuple[FloatArray, float]:
    out = np.full(len(x), np.nan)
    s = start
    for i, r in enumerate(x.tolist()):
        if r == r:
            s = r if s != s else s + alpha * (r - s)
            out[i] = s
    return out, s


class PcaDetector:
    """Robust PCA monitor, T-squared and Q, held-out normalised and EWMA-smoothed.

    ``explained``: the share of healthy variance the components keep (0.99:
    chosen on the Tennessee Eastman training files, see docs/anomaly-detection.md).
    ``min_samples``: the fewest judgeable rows to learn from. A row is judgeable
    when at least half of the used channels are present. States are not modelled
    apart here: give residuals per state (as ``plantos analytics detect`` does).
    """

    name = "pca"

    def __init__(
        self,
        *,
        ewma_alpha: float = 0.2,
        min_samples: int = 20,
        explained: float = 0.99,
        folds: int = 2,
        quantile: float = 0.99,
        relative_scale_floor: float = DEFAULT_RELATIVE_FLOOR,
    ) -> None:
        if not 0 < ewma_alpha <= 1 or not 0 < explained <= 1 or not 0 < quantile <= 1:
            raise ValueError("ewma_alpha, explained and quantile must be in (0, 1]")
        if folds < 2 or min_samples < 2 * folds:
            raise ValueError(f"need folds >= 2 and min_samples >= 2 * folds, got {folds}")
        self.ewma_alpha = ewma_alpha
        self.min_samples = min_samples
        self.explained = explained
        self.folds = folds
        self.quantile = quantile
        self.relative_scale_floor = relative_scale_floor
        self.model: PcaModel | None = None
        self.names: tuple[str, ...] = ()
        self.norms = (1.0, 1.0)
        self._state = (np.nan, np.nan)

    @property
    def stuck(self) -> dict[int, tuple[str, ...]]:
        """Channels that never moved while training: left out of the model."""
        if self.model is None:
            return {}
        flat = tuple(n for n, u in zip(self.names, self.model.used, strict=True) if not u)
        return {0: flat} if flat else {}

    @property
    def components(self) -> int:
        return 0 if self.model is None else len(self.model.variances)

    def _judgeable(self, values: FloatArray, used: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        present = np.isfinite(values[:, used]).sum(axis=1)
        return np.asarray(present * 2 >= max(1, int(used.sum())))

    def fit(self, frame: FeatureFrame) -> None:
        """Learn the model from the judgeable rows and the held-out scale of each statistic."""
        self.names = frame.names
        rows = frame.values[np.isfinite(frame.values).sum(axis=1) * 2 >= frame.values.shape[1]]
        if len(rows) < self.min_samples:
            raise ValueError(
                f"{len(rows)} training rows with at least half the channels present; "
                f"need {self.min_samples}"
            )
        self.model = fit_pca(
            rows, explained=self.explained, relative_floor=self.relative_scale_floor
        )
        self.norms = self._held_out_norms(rows)
        self.reset()

    def _held_out_norms(self, rows: FloatArray) -> tuple[float, float]:
        t2s, qs = [], []
        for block in np.array_split(np.arange(len(rows)), self.folds):
            rest = np.delete(rows, block, axis=0)
            try:
                model = fit_pca(
                    rest, explained=self.explained, relative_floor=self.relative_scale_floor
                )
            except ValueError:
                continue
            t2, q = model.statistics(model.z(rows[block]))
            t2s.append(_ewma(t2, self.ewma_alpha, np.nan)[0])
            qs.append(_ewma(q, self.ewma_alpha, np.nan)[0])
        if not t2s:
            return 1.0, 1.0
        t2n = float(np.quantile(np.concatenate(t2s), self.quantile))
        qn = float(np.quantile(np.concatenate(qs), self.quantile))
        return max(t2n, 1e-6), max(qn, 1e-6)

    def reset(self) -> None:
        """Forget the smoothing history."""
        self._state = (np.nan, np.nan)

    def _fitted(self) -> PcaModel:
        if self.model is None:
            raise ValueError("the detector is not fitted")
        return self.model

    def _raw(self, frame: FeatureFrame) -> tuple[FloatArray, FloatArray, FloatArray]:
        """z of every row, and normalised raw T-squared and Q (NaN where not judgeable)."""
        model = self._fitted()
        ok = self._judgeable(frame.values, model.used)
        z = model.z(frame.values)
        t2, q = model.statistics(np.where(ok[:, None], z, 0.0))
        nan = np.where(ok, 1.0, np.nan)
        return z, t2 / self.norms[0] * nan, q / self.norms[1] * nan

    def score_batch(self, frame: FeatureFrame) -> FloatArray:
        """max(smoothed T-squared, smoothed Q), each over its held-out scale; continues the EWMA."""
        _, t2, q = self._raw(frame)
        st2, s0 = _ewma(t2, self.ewma_alpha, self._state[0])
        sq, s1 = _ewma(q, self.ewma_alpha, self._state[1])
        self._state = (s0, s1)
        return np.asarray(np.fmax(st2, sq))

    def dominant(self, frame: FeatureFrame) -> list[str]:
        """Per row, ``"T2"`` or ``"Q"``: the statistic whose raw value is larger."""
        _, t2, q = self._raw(frame)
        return ["Q" if b > a else "T2" for a, b in zip(t2.tolist(), q.tolist(), strict=True)]

    def contributions(self, frame: FeatureFrame) -> FloatArray:
        """Per row and channel, its part of the row's dominant raw statistic (they sum to it);
        0 for channels left out of the model."""
        z, t2, q = self._raw(frame)
        model = self._fitted()
        part_t2, part_q = model.shares(z)
        use_q = (q > t2)[:, None]
        parts = np.where(use_q, part_q / self.norms[1], part_t2 / self.norms[0])
        out = np.zeros(frame.values.shape)
        out[:, model.used] = parts
        return out

    def expected(self, frame: FeatureFrame) -> FloatArray:
        """Per row and channel, the value the model expects given the row's other channels
        (NaN for a channel left out of the model: it has no expectation)."""
        m = self._fitted()
        fitted = (m.z(frame.values) @ m.loadings) @ m.loadings.T
        out = np.full(frame.values.shape, np.nan)
        out[:, m.used] = m.center + fitted * m.scale
        return out

    def partners(self, channel: int, *, count: int = 2) -> tuple[str, ...]:
        """The channels most correlated with ``channel`` in health: whose relation can break."""
        if self.model is None or not self.model.used[channel]:
            return ()
        used = np.flatnonzero(self.model.used)
        j = int(np.searchsorted(used, channel))
        r = np.abs(self.model.corr[j]).copy()
        r[j] = -1.0
        return tuple(self.names[used[i]] for i in np.argsort(-r)[:count].tolist() if r[i] > 0)
