"""Control chart constants d2, d3 and c4 for subgroups of size n from a normal process.

d2(n) is the mean and d3(n) the standard deviation of the relative range R/sigma;
c4(n) is the mean of S/sigma. c4 has a closed form and is computed exactly from
gamma functions. d2 and d3 have none (they are integrals of the normal
distribution); we use the standard published tables, the same ones qcc uses
(``qcc.options("exp.R.unscaled")`` and ``"se.R.unscaled"``, Montgomery Appendix VI),
because textbook and qcc reference limits are computed with d2 rounded to three
decimals (d2(5) = 2.326): using exact d2 would move sigma by ~3e-5 relative and
the reference check would no longer match to 1e-6.

>>> float(d2(5)), float(round(c4(5), 6))
(2.326, 0.939986)
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Index n holds the constant for subgroups of n; 0 and 1 are undefined.
_D2 = np.array(
    [
        *(np.nan, np.nan, 1.128, 1.693, 2.059, 2.326, 2.534, 2.704, 2.847, 2.970, 3.078),
        *(3.173, 3.258, 3.336, 3.407, 3.472, 3.532, 3.588, 3.640, 3.689, 3.735, 3.778),
        *(3.819, 3.858, 3.895, 3.931),
    ]
)
_D3 = np.array(
    [
        *(np.nan, np.nan, 0.8525033, 0.8883697, 0.8798108, 0.8640855, 0.8480442, 0.8332108),
        *(0.8198378, 0.8078413, 0.7970584, 0.7873230, 0.7784873, 0.7704257, 0.7630330),
        *(0.7562217, 0.7499188, 0.7440627, 0.7386021, 0.7334929, 0.7286980, 0.7241851),
        *(0.7199267, 0.7158987, 0.7120802, 0.7084528),
    ]
)
MAX_RANGE_SUBGROUP = len(_D2) - 1  # 25: beyond it, use an X-bar/S chart


def _table(table: FloatArray, n: npt.ArrayLike, name: str) -> FloatArray:
    sizes = np.asarray(n, dtype=np.int64)
    if sizes.size and (sizes.min() < 2 or sizes.max() > MAX_RANGE_SUBGROUP):
        raise ValueError(
            f"{name} is tabled for subgroups of 2..{MAX_RANGE_SUBGROUP}, got {sizes.tolist()}"
        )
    out: FloatArray = table[sizes]
    return out


def d2(n: npt.ArrayLike) -> FloatArray:
    """Mean of the relative range R/sigma for subgroups of ``n`` (2..25), vectorised."""
    return _table(_D2, n, "d2")


def d3(n: npt.ArrayLike) -> FloatArray:
    """Standard deviation of the relative range R/sigma for subgroups of ``n`` (2..25)."""
    return _table(_D3, n, "d3")


def _c4_scalar(n: int) -> float:
    if n < 2:
        raise ValueError(f"c4 needs subgroups of 2 or more, got {n}")
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))


_C4 = np.array([np.nan, np.nan, *(_c4_scalar(n) for n in range(2, 1001))])


def c4(n: npt.ArrayLike) -> FloatArray:
    """Mean of S/sigma, ``sqrt(2/(n-1)) * Gamma(n/2) / Gamma((n-1)/2)``, exact, vectorised."""
    sizes = np.asarray(n, dtype=np.int64)
    if sizes.size and sizes.min() < 2:
        raise ValueError(f"c4 needs subgroups of 2 or more, got {sizes.tolist()}")
    if sizes.size and sizes.max() < len(_C4):
        out: FloatArray = _C4[sizes]
        return out
    big: FloatArray = np.vectorize(_c4_scalar, otypes=[np.float64])(sizes)
    return big
