"""Control limits: estimated once from a baseline and frozen, or rolling over recent subgroups.

Estimators follow qcc (and Montgomery): the centre is the size-weighted mean of
the location statistic (p-bar and u-bar are total count over total units); the
process sigma is mean(R/d2(n)), mean(S/c4(n)) or mean(MR)/d2(2) for variables
charts and follows from the centre for attribute charts. Non-finite statistics
never enter an estimate. A baseline whose sigma is zero (a flat line) is refused
with :class:`FlatBaselineError`: limits of zero width would flag every change.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from plantos.analytics.spc.charts import (
    ChartKind,
    Lines,
    Statistics,
    dispersion_lines,
    location_lines,
)
from plantos.analytics.spc.constants import c4, d2
from plantos.core.errors import PlantOSError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class BaselineError(PlantOSError):
    """A baseline too short to estimate limits from (fewer than two usable subgroups)."""


class FlatBaselineError(BaselineError):
    """The baseline did not vary: a stuck sensor or a constant signal, not a process."""

    def __init__(self, chart: ChartKind, value: float, points: int) -> None:
        self.chart, self.value, self.points = chart, value, points
        super().__init__(
            f"{chart} baseline of {points} subgroups is flat at {value!r}: zero variation, "
            "no limits can be drawn (is the sensor stuck?)"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlLimits:
    """Centre and process sigma of one chart, with where they came from.

    ``center`` is the process mean, p-bar, c-bar or u-bar and ``sigma`` the
    process standard deviation (qcc's ``std.dev``); the lines of each chart at any
    subgroup size follow from them. Limits estimated from a baseline are frozen
    with who approved them and when, so an audit can tell which limits judged a
    point.
    """

    chart: ChartKind
    center: float
    sigma: float
    subgroups: int
    nsigmas: float = 3.0
    baseline_from_ns: int | None = None
    baseline_to_ns: int | None = None
    frozen_by: str | None = None
    frozen_at_ns: int | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.center) and math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"limits need a finite centre and sigma > 0, got {self}")
        if (self.frozen_by is None) != (self.frozen_at_ns is None):
            raise ValueError("frozen_by and frozen_at_ns are set together")

    def freeze(self, *, by: str, at_ns: int) -> ControlLimits:
        """These limits, approved by ``by`` at ``at_ns``."""
        if not by.strip():
            raise ValueError("frozen limits need the name of who froze them")
        return dataclasses.replace(self, frozen_by=by, frozen_at_ns=at_ns)

    def location(self, sizes: FloatArray) -> Lines:
        return location_lines(self.chart, self.center, self.sigma, sizes, self.nsigmas)

    def dispersion(self, sizes: FloatArray) -> Lines:
        return dispersion_lines(self.chart, self.sigma, sizes, self.nsigmas)


def _usable(stats: Statistics) -> BoolArray:
    ok: BoolArray = np.isfinite(stats.location) & np.isfinite(stats.sizes) & (stats.sizes > 0)
    if stats.chart in (ChartKind.XBAR_R, ChartKind.XBAR_S) and stats.dispersion is not None:
        ok &= np.isfinite(stats.dispersion) & (stats.sizes >= 2)
    return ok


def _sigma_terms(stats: Statistics) -> FloatArray:
    """Per-subgroup sigma estimates whose mean is the within sigma (variables charts)."""
    disp = stats.dispersion
    if disp is None:
        raise ValueError(f"{stats.chart} has no dispersion statistic")
    if stats.chart is ChartKind.XBAR_R:
        return disp / d2(stats.sizes)
    if stats.chart is ChartKind.XBAR_S:
        return disp / c4(stats.sizes)
    return disp / d2(2)


def _estimate(
    chart: ChartKind, n: FloatArray, loc: FloatArray, sig: FloatArray
) -> tuple[float, float]:
    """Centre and sigma from usable subgroups; ``sig`` holds the finite sigma terms."""
    if chart in (ChartKind.I_MR, ChartKind.C):
        center = float(np.mean(loc))
    elif chart is ChartKind.NP:
        center = float(np.sum(loc) / np.sum(n))
    else:
        center = float(np.sum(loc * n) / np.sum(n))
    if chart.is_variables:
        sigma = float(np.mean(sig)) if len(sig) else 0.0
    elif chart in (ChartKind.P, ChartKind.NP):
        sigma = math.sqrt(max(center * (1.0 - center), 0.0))
    else:
        sigma = math.sqrt(max(center, 0.0))
    return center, sigma


def fit_limits(
    stats: Statistics,
    *,
    nsigmas: float = 3.0,
    baseline_from_ns: int | None = None,
    baseline_to_ns: int | None = None,
) -> ControlLimits:
    """Estimate limits from baseline statistics; non-finite subgroups are left out.

    ``BaselineError`` if fewer than two subgroups are usable, ``FlatBaselineError``
    if they show no variation.
    """
    ok = _usable(stats)
    count = int(ok.sum())
    if count < 2:
        raise BaselineError(f"{stats.chart} baseline has {count} usable subgroups, needs 2")
    terms = np.empty(0)
    if stats.chart.is_variables:
        terms = _sigma_terms(stats)[ok]
        terms = terms[np.isfinite(terms)]
    center, sigma = _estimate(stats.chart, stats.sizes[ok], stats.location[ok], terms)
    if not (sigma > 0 and math.isfinite(sigma) and math.isfinite(center)):
        raise FlatBaselineError(stats.chart, center, count)
    return ControlLimits(
        chart=stats.chart,
        center=center,
        sigma=sigma,
        subgroups=count,
        nsigmas=nsigmas,
        baseline_from_ns=baseline_from_ns,
        baseline_to_ns=baseline_to_ns,
    )


@dataclass(frozen=True, slots=True)
class Rolling:
    """Per-point centre and sigma from the ``window`` subgroups before each point.

    NaN where fewer than ``window`` earlier subgroups exist or where they were flat
    (``flat`` is True there); such points are plotted but not judged.
    """

    center: FloatArray
    sigma: FloatArray
    flat: BoolArray


def rolling_limits(stats: Statistics, window: int) -> Rolling:
    """Limits for each subgroup from the ``window`` subgroups just before it.

    The point itself is not in its own estimate, so a sudden shift is judged
    against the process as it was. Each window is summed on its own (no running
    sums), so the result does not depend on where a stream was cut into batches.
    """
    if window < 2:
        raise ValueError(f"rolling limits need a window of 2 or more subgroups, got {window}")
    m = len(stats)
    center, sigma = np.full(m, np.nan), np.full(m, np.nan)
    if m <= window:
        return Rolling(center, sigma, np.zeros(m, dtype=bool))
    chart = stats.chart
    n, loc = stats.sizes, stats.location

    def sums(a: FloatArray) -> FloatArray:
        out: FloatArray = sliding_window_view(a, window)[:-1].sum(axis=1)
        return out

    if chart in (ChartKind.I_MR, ChartKind.C):
        mid = sums(loc) / window
    elif chart is ChartKind.NP:
        mid = sums(loc) / sums(n)
    else:
        mid = sums(loc * n) / sums(n)
    if chart is ChartKind.I_MR:
        # moving ranges inside the window: the first point's range reaches outside it
        mr = _sigma_terms(stats)
        sig = sliding_window_view(mr, window - 1)[1:-1].sum(axis=1) / (window - 1)
    elif chart.is_variables:
        sig = sums(_sigma_terms(stats)) / window
    elif chart in (ChartKind.P, ChartKind.NP):
        sig = np.sqrt(np.maximum(mid * (1.0 - mid), 0.0))
    else:
        sig = np.sqrt(np.maximum(mid, 0.0))
    flat = ~(sig > 0)
    center[window:] = np.where(flat, np.nan, mid)
    sigma[window:] = np.where(flat, np.nan, sig)
    flat_all = np.zeros(m, dtype=bool)
    flat_all[window:] = flat & np.isfinite(mid)
    return Rolling(center, sigma, flat_all)
