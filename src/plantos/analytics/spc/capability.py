"""Process capability: Cp, Cpk (within-subgroup sigma) and Pp, Ppk (overall sigma).

Cp and Cpk say what the process could do if only its common-cause (short-term)
variation remained: sigma from R-bar/d2, S-bar/c4 or MR-bar/d2, i.e. the
``sigma`` of the chart's :class:`~plantos.analytics.spc.limits.ControlLimits`.
Pp and Ppk use the overall sample standard deviation of all values, so drift
between subgroups lowers them. A large gap between the two pairs means the
process is not stable and the Cp figures flatter it.

With one specification limit only the one-sided index exists: Cp and Pp are
None, Cpk and Ppk are the one-sided Cpu/Cpl (Ppu/Ppl).

>>> c = capability(mean=10.0, sigma_within=0.5, sigma_overall=1.0, lsl=7.0, usl=13.0)
>>> c.cp, c.cpk, c.pp, c.ppk
(2.0, 2.0, 1.0, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Capability:
    """Capability indices; None where a specification limit they need is missing.

    ``cpm`` (Taguchi) needs both limits and a target.
    """

    cp: float | None
    cpk: float | None
    pp: float | None
    ppk: float | None
    cpm: float | None


def _indices(
    mean: float, sigma: float, lsl: float | None, usl: float | None
) -> tuple[float | None, float | None]:
    upper = (usl - mean) / (3 * sigma) if usl is not None else None
    lower = (mean - lsl) / (3 * sigma) if lsl is not None else None
    spread = (usl - lsl) / (6 * sigma) if usl is not None and lsl is not None else None
    sides = [v for v in (upper, lower) if v is not None]
    return spread, min(sides)


def capability(
    *,
    mean: float,
    sigma_within: float,
    sigma_overall: float,
    lsl: float | None = None,
    usl: float | None = None,
    target: float | None = None,
) -> Capability:
    """Capability of a process with the given mean and sigmas against its specification.

    ``ValueError`` if no limit is given, if lsl >= usl or if a sigma is not a
    positive finite number (a zero sigma would give an infinite index).
    """
    if lsl is None and usl is None:
        raise ValueError("capability needs at least one specification limit (lsl or usl)")
    if lsl is not None and usl is not None and not lsl < usl:
        raise ValueError(f"lsl must be below usl, got lsl={lsl} usl={usl}")
    for name, value in (("sigma_within", sigma_within), ("sigma_overall", sigma_overall)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive and finite, got {value}")
    if not math.isfinite(mean):
        raise ValueError(f"mean must be finite, got {mean}")
    cp, cpk = _indices(mean, sigma_within, lsl, usl)
    pp, ppk = _indices(mean, sigma_overall, lsl, usl)
    cpm = None
    if cp is not None and target is not None:
        cpm = cp * sigma_within / math.sqrt(sigma_within**2 + (mean - target) ** 2)
    return Capability(cp, cpk, pp, ppk, cpm)


def overall_sigma(values: npt.ArrayLike) -> float:
    """Sample standard deviation (n - 1) of the finite values: the sigma of Pp and Ppk."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        raise ValueError(f"overall sigma needs two or more finite values, got {len(x)}")
    return float(np.std(x, ddof=1))


def capability_summary(
    values: npt.NDArray[np.float64],
    sigma_within: float | None,
    *,
    lsl: float | None,
    usl: float | None,
    target: float | None,
) -> dict[str, float | int | str | None]:
    """Capability of ``values`` as the API, the pages and the CLI report it: the indices, or
    ``reason`` why they cannot be estimated (too few points, a flat span)."""
    values = values[np.isfinite(values)]
    answer: dict[str, float | int | str | None] = {"samples": len(values)}
    answer |= dict.fromkeys(("cp", "cpk", "pp", "ppk", "cpm"))
    if sigma_within is None or len(values) < 2:
        return answer | {"reason": "too few points for an estimate of sigma"}
    overall = overall_sigma(values)
    try:
        c = capability(
            mean=float(np.mean(values)),
            sigma_within=sigma_within,
            sigma_overall=overall,
            lsl=lsl,
            usl=usl,
            target=target,
        )
    except ValueError as exc:  # a flat span: a zero sigma has no capability
        return answer | {"reason": str(exc)}
    return answer | {
        "mean": float(np.mean(values)),
        "sigma_within": sigma_within,
        "sigma_overall": overall,
        "cp": c.cp,
        "cpk": c.cpk,
        "pp": c.pp,
        "ppk": c.ppk,
        "cpm": c.cpm,
    }
