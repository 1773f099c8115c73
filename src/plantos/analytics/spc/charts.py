"""Shewhart chart kinds: the plotted statistics of subgroups and the lines drawn around them.

A chart plots one *location* statistic per subgroup (individual value, subgroup
mean, fraction or count nonconforming, defects) and, for variables charts, one
*dispersion* statistic (moving range, range, standard deviation). Everything is
vectorised over a run of subgroups; the streaming monitor and the offline
reference check share these functions, so they cannot drift apart.

Attribute charts read one sample per inspected unit: for p and np the sample is
the number nonconforming in that unit (0 or 1), for c and u the number of
nonconformities found on it. A subgroup of n samples is then n inspected units.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from plantos.analytics.spc.constants import c4, d2, d3

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


class ChartKind(StrEnum):
    """The seven Shewhart charts PlantOS draws."""

    I_MR = "i-mr"
    XBAR_R = "xbar-r"
    XBAR_S = "xbar-s"
    P = "p"
    NP = "np"
    C = "c"
    U = "u"

    @property
    def is_variables(self) -> bool:
        return self in (ChartKind.I_MR, ChartKind.XBAR_R, ChartKind.XBAR_S)

    @property
    def min_subgroup(self) -> int:
        """Smallest subgroup that yields a dispersion statistic (a range needs two values)."""
        return 2 if self in (ChartKind.XBAR_R, ChartKind.XBAR_S) else 1

    @property
    def location_name(self) -> str:
        return _LOCATION_NAME[self]

    @property
    def dispersion_name(self) -> str | None:
        return _DISPERSION_NAME.get(self)


_LOCATION_NAME = {
    ChartKind.I_MR: "x",
    ChartKind.XBAR_R: "xbar",
    ChartKind.XBAR_S: "xbar",
    ChartKind.P: "p",
    ChartKind.NP: "np",
    ChartKind.C: "c",
    ChartKind.U: "u",
}
_DISPERSION_NAME = {ChartKind.I_MR: "mr", ChartKind.XBAR_R: "r", ChartKind.XBAR_S: "s"}


@dataclass(frozen=True, slots=True)
class Statistics:
    """Plotted statistics of consecutive subgroups, one entry per subgroup.

    ``sizes`` is the number of samples (inspected units) in each subgroup;
    ``dispersion`` is None for attribute charts, and its first moving range is NaN
    when no earlier individual was known.
    """

    chart: ChartKind
    sizes: FloatArray
    location: FloatArray
    dispersion: FloatArray | None

    def __len__(self) -> int:
        return len(self.location)


@dataclass(frozen=True, slots=True)
class Lines:
    """Centre line, standard deviation of the plotted statistic and 3-sigma limits, per point.

    The zone lines the run rules use are ``center +/- k * sigma``.
    """

    center: FloatArray
    sigma: FloatArray
    lcl: FloatArray
    ucl: FloatArray


def statistics_from_samples(
    chart: ChartKind,
    values: FloatArray,
    starts: IntArray,
    *,
    previous: float | None = None,
) -> Statistics:
    """Statistics of subgroups cut from finite ``values`` at the indices ``starts``.

    ``starts`` begins at 0 and increases strictly, so no subgroup is empty. For an
    I-MR chart each subgroup is one plotted individual (its mean, for time
    windows) and ``previous`` is the individual before the first, so a moving
    range spans batch boundaries.

    >>> s = statistics_from_samples(ChartKind.XBAR_R, np.array([1.0, 3, 2, 4]), np.array([0, 2]))
    >>> s.location.tolist(), s.dispersion.tolist()
    ([2.0, 3.0], [2.0, 2.0])
    """
    if len(starts) == 0:
        empty = np.empty(0)
        return Statistics(chart, empty, empty, empty if chart.is_variables else None)
    sizes = np.diff(np.append(starts, len(values))).astype(np.float64)
    sums = np.add.reduceat(values, starts)
    if chart is ChartKind.I_MR:
        x = sums / sizes
        before = np.nan if previous is None else previous
        mr = np.abs(np.diff(x, prepend=before))
        return Statistics(chart, np.ones_like(x), x, mr)
    if chart is ChartKind.XBAR_R:
        rng = np.maximum.reduceat(values, starts) - np.minimum.reduceat(values, starts)
        return Statistics(chart, sizes, sums / sizes, rng)
    if chart is ChartKind.XBAR_S:
        mean = sums / sizes
        group = np.repeat(np.arange(len(starts)), sizes.astype(np.intp))
        ss = np.add.reduceat((values - mean[group]) ** 2, starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(ss / (sizes - 1))
        return Statistics(chart, sizes, mean, sd)
    return attribute_statistics(chart, sums, sizes)


def attribute_statistics(chart: ChartKind, counts: FloatArray, sizes: FloatArray) -> Statistics:
    """Statistics of an attribute chart from counts (nonconforming units or nonconformities)
    and the number of inspected units per subgroup, as Montgomery's tables give them."""
    if chart.is_variables:
        raise ValueError(f"{chart} is a variables chart, not an attribute chart")
    counts = np.asarray(counts, dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    per_unit = chart in (ChartKind.P, ChartKind.U)
    return Statistics(chart, sizes, counts / sizes if per_unit else counts, None)


def location_lines(
    chart: ChartKind,
    center: FloatArray | float,
    sigma: FloatArray | float,
    sizes: FloatArray,
    nsigmas: float,
) -> Lines:
    """Lines of the location chart for process centre and sigma (scalars, or one per point).

    ``center`` is the process mean, p-bar, c-bar or u-bar; ``sigma`` the process
    standard deviation as qcc reports it (sqrt(p-bar(1-p-bar)) for p and np,
    sqrt(c-bar) for c, sqrt(u-bar) for u). Attribute limits are clipped to the
    range the statistic can take, as qcc does.
    """
    n = sizes
    mid = np.broadcast_to(np.asarray(center, dtype=np.float64), n.shape)
    sig = np.asarray(sigma, dtype=np.float64)
    if chart in (ChartKind.XBAR_R, ChartKind.XBAR_S, ChartKind.P, ChartKind.U):
        s = sig / np.sqrt(n)
    elif chart is ChartKind.NP:
        mid, s = n * mid, sig * np.sqrt(n)
    else:  # individuals and c charts
        s = sig
    s = np.broadcast_to(s, n.shape)
    lcl, ucl = mid - nsigmas * s, mid + nsigmas * s
    if not chart.is_variables:
        lcl = np.maximum(lcl, 0.0)
        if chart is ChartKind.P:
            ucl = np.minimum(ucl, 1.0)
        elif chart is ChartKind.NP:
            ucl = np.minimum(ucl, n)
    return Lines(mid, s, lcl, ucl)


def dispersion_lines(
    chart: ChartKind, sigma: FloatArray | float, sizes: FloatArray, nsigmas: float
) -> Lines:
    """Lines of the R, S or MR chart for process sigma; the centre is d2*sigma (R, MR) or
    c4*sigma (S) at each subgroup's size, so varying sizes get their own lines."""
    sig = np.asarray(sigma, dtype=np.float64)
    if chart is ChartKind.XBAR_S:
        k = c4(sizes)
        mid, s = k * sig, sig * np.sqrt(1.0 - k * k)
    else:
        n = 2 if chart is ChartKind.I_MR else sizes  # a moving range spans two points
        mid, s = d2(n) * sig, d3(n) * sig
    mid, s = np.broadcast_to(mid, sizes.shape), np.broadcast_to(s, sizes.shape)
    return Lines(mid, s, np.maximum(mid - nsigmas * s, 0.0), mid + nsigmas * s)
