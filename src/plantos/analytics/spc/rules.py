"""Nelson rules 1-8 and the Western Electric rules 1-4, as the qcc R package defines them.

Every rule is decided over a window of the last ``window`` points: a point is
flagged when the window that ends at it shows the pattern, so a run that goes on
flags every later point too (qcc's behaviour, checked against its test vectors).
Because nothing but the window matters, a stream can be judged batch by batch
with the last :data:`HISTORY` points carried over, and gives the same answer as
judging the whole series at once.

Zones are measured from the centre line in units of the plotted statistic's
sigma (scaled by ``nsigmas / 3``, so zone A ends at the control limit). "Beyond"
is strict: a point exactly on a line is not beyond it; a point exactly on the
centre line breaks a same-side run; equal neighbours break a trend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
RuleSet = Literal["nelson", "western-electric"]

WINDOWS: dict[RuleSet, dict[int, int]] = {
    "nelson": {1: 1, 2: 9, 3: 6, 4: 14, 5: 3, 6: 5, 7: 15, 8: 8},
    "western-electric": {1: 1, 2: 3, 3: 5, 4: 8},
}
HISTORY = 14  # points a stream must carry over: the longest window (15) less one
NELSON_ALL = frozenset(range(1, 9))


@dataclass(frozen=True, slots=True)
class RuleHits:
    """The points one rule flags in a series.

    ``points`` are the indices of the points that complete the pattern; hit ``k``
    spans the window ``points[k] - window + 1 .. points[k]`` and ``members[k]``
    says which points of that window take part (for "2 of 3 beyond 2 sigma",
    the two beyond the line; for runs, all of them).
    """

    rule_set: RuleSet
    rule: int
    points: IntArray
    members: BoolArray

    @property
    def window(self) -> int:
        return WINDOWS[self.rule_set][self.rule]

    def involved(self, k: int) -> IntArray:
        """Indices of the points taking part in hit ``k``, in order."""
        start = int(self.points[k]) - self.window + 1
        out: IntArray = start + np.flatnonzero(self.members[k])
        return out


class _Zones:
    """The comparisons the rules are built from, each computed once per series and only
    when a chosen rule asks for it: a dispersion chart judged by rule 1 alone needs two
    of the nine, and on the short series of a streaming batch every comparison is
    mostly fixed cost."""

    def __init__(
        self,
        x: FloatArray,
        center: FloatArray,
        sigma: FloatArray,
        scale: float,
        pos: IntArray | None = None,
    ):
        self.x, self._center, self._step = x, center, sigma * scale
        self.pos = pos
        self._above: dict[int, BoolArray] = {}
        self._below: dict[int, BoolArray] = {}
        self._steps: FloatArray | None = None

    def pos_after(self, k: int) -> IntArray | None:
        """Positions for a series derived from ``k`` consecutive points (steps: 1), counted
        from the first index at which it is defined; None for one unsegmented series."""
        return None if self.pos is None else self.pos[k:] - k

    def above(self, level: int) -> BoolArray:
        """Points strictly above the line ``level`` sigma over the centre."""
        if level not in self._above:
            self._above[level] = self.x > self._center + level * self._step
        return self._above[level]

    def below(self, level: int) -> BoolArray:
        """Points strictly below the line ``level`` sigma under the centre."""
        if level not in self._below:
            self._below[level] = self.x < self._center - level * self._step
        return self._below[level]

    def steps(self) -> FloatArray:
        """Each point less the one before it, taken once for the trend and the
        alternation rules."""
        if self._steps is None:
            steps = np.diff(self.x)
            if self.pos is not None:
                steps[self.pos[1:] == 0] = np.nan  # no step from one series into the next
            self._steps = steps
        return self._steps

    def inside1(self) -> BoolArray:
        """Points within one sigma of the centre, lines included."""
        c, step = self._center, self._step
        inside: BoolArray = (self.x >= c - step) & (self.x <= c + step)
        return inside


def _count(cond: BoolArray, length: int, pos: IntArray | None = None) -> npt.NDArray[np.integer]:
    """How many of the ``length`` points ending at each index satisfy ``cond`` (exact).

    ``pos``: each point's position in its own series when several series are laid end
    to end (a bank of characteristics); a window reaching into the previous series is
    not full."""
    out = cond.cumsum(dtype=np.int32 if len(cond) < 2**31 else np.intp)
    out[length:] = out[length:] - out[:-length]  # the right side is computed before the store
    if pos is None:
        out[: length - 1] = -1  # a window not yet full never completes a pattern
    else:
        out[pos < length - 1] = -1
    return out


def _run(cond: BoolArray, length: int, pos: IntArray | None = None) -> BoolArray:
    full: BoolArray = _count(cond, length, pos) == length
    return full


def _k_of_m(z: _Zones, level: int, k: int, m: int) -> tuple[BoolArray, BoolArray]:
    hi, lo = z.above(level), z.below(level)
    flag_hi = (_count(hi, m, z.pos) >= k) & hi
    flag_lo = (_count(lo, m, z.pos) >= k) & lo
    return flag_hi | flag_lo, flag_hi


def _shifted(cond: BoolArray, by: int, n: int) -> BoolArray:
    """``cond`` defined on differences, moved to the index of the point completing it."""
    out = np.zeros(n, dtype=bool)
    out[by : by + len(cond)] = cond
    return out


def _beyond_limits(z: _Zones) -> BoolArray:
    return z.above(3) | z.below(3)


def _same_side(length: int) -> Callable[[_Zones], BoolArray]:
    return lambda z: _run(z.above(0), length, z.pos) | _run(z.below(0), length, z.pos)


def _trend(z: _Zones) -> BoolArray:
    d, p = z.steps(), z.pos_after(1)
    return _shifted(_run(d > 0, 5, p) | _run(d < 0, 5, p), 1, len(z.x))


def _alternating(z: _Zones) -> BoolArray:
    d = z.steps()
    alt = d[1:] * d[:-1] < 0
    return _shifted(_run(alt, 12, z.pos_after(2)), 2, len(z.x))


def _stratification(z: _Zones) -> BoolArray:
    return _run(z.inside1(), 15, z.pos)


def _mixture(z: _Zones) -> BoolArray:
    hi, lo = z.above(1), z.below(1)
    return _run(hi | lo, 8, z.pos) & (_count(hi, 8, z.pos) >= 1) & (_count(lo, 8, z.pos) >= 1)


# Rules whose whole window takes part in a hit.
_RUN_RULES: dict[tuple[RuleSet, int], Callable[[_Zones], BoolArray]] = {
    ("nelson", 1): _beyond_limits,
    ("nelson", 2): _same_side(9),
    ("nelson", 3): _trend,
    ("nelson", 4): _alternating,
    ("nelson", 7): _stratification,
    ("nelson", 8): _mixture,
    ("western-electric", 1): _beyond_limits,
    ("western-electric", 4): _same_side(8),
}
# "k of m beyond the zone line at level sigma, on one side": (level, k, m).
_ZONE_RULES: dict[tuple[RuleSet, int], tuple[int, int, int]] = {
    ("nelson", 5): (2, 2, 3),
    ("nelson", 6): (1, 4, 5),
    ("western-electric", 2): (2, 2, 3),
    ("western-electric", 3): (1, 4, 5),
}


def check_rules(rules: Iterable[int], rule_set: RuleSet) -> frozenset[int]:
    """The rule numbers, checked against the rule set; ``ValueError`` names a wrong one."""
    if rule_set not in WINDOWS:
        raise ValueError(f"unknown rule set {rule_set!r}: use 'nelson' or 'western-electric'")
    chosen = frozenset(rules)
    unknown = sorted(chosen - WINDOWS[rule_set].keys())
    if unknown:
        raise ValueError(f"{rule_set} rules are {sorted(WINDOWS[rule_set])}, got {unknown}")
    return chosen


def evaluate_rules(
    values: FloatArray,
    center: FloatArray | float,
    sigma: FloatArray | float,
    *,
    rules: Iterable[int] = NELSON_ALL,
    rule_set: RuleSet = "nelson",
    nsigmas: float = 3.0,
    positions: IntArray | None = None,
) -> dict[int, RuleHits]:
    """Judge a whole series at once; ``center`` and ``sigma`` (of the plotted statistic)
    are scalars or one per point. Points with NaN lines or values are never flagged
    and never complete a pattern. ``positions`` judges several series laid end to end
    in one pass (each point's index within its own series, 0 where one begins): every
    series gets exactly the verdicts it would get alone.

    >>> hits = evaluate_rules(np.array([0, 3.2, -3.4, 3.0]), 0.0, 1.0, rules=[1])
    >>> hits[1].points.tolist()
    [1, 2]
    """
    chosen = check_rules(rules, rule_set)
    x = np.asarray(values, dtype=np.float64)
    c, s = _per_point(center, x.shape), _per_point(sigma, x.shape)
    x = np.where(np.isfinite(c) & np.isfinite(s), x, np.nan)  # no lines, no verdict
    zones = _Zones(x, c, s, nsigmas / 3.0, positions)
    out: dict[int, RuleHits] = {}
    for rule in sorted(chosen):
        window = WINDOWS[rule_set][rule]
        key = (rule_set, rule)
        if key in _ZONE_RULES:
            level, k, m = _ZONE_RULES[key]
            flagged, high = _k_of_m(zones, level, k, m)
            points = np.flatnonzero(flagged)
            members = _members(zones.above(level), zones.below(level), points, high, window)
        else:
            points = np.flatnonzero(_RUN_RULES[key](zones))
            members = np.ones((len(points), window), dtype=bool)
        out[rule] = RuleHits(rule_set, rule, points.astype(np.intp, copy=False), members)
    return out


def _per_point(line: FloatArray | float, shape: tuple[int, ...]) -> FloatArray:
    """A line as one float per point; a monitor's lines already are, and broadcasting
    them anyway costs more than judging a short batch."""
    if isinstance(line, np.ndarray) and line.dtype == np.float64 and line.shape == shape:
        return line
    out: FloatArray = np.broadcast_to(np.asarray(line, dtype=np.float64), shape)
    return out


def _members(
    hi: BoolArray, lo: BoolArray, points: IntArray, high: BoolArray, window: int
) -> BoolArray:
    """For k-of-m hits, the points of each window beyond the line on the hit's side."""
    if len(points) == 0:
        return np.zeros((0, window), dtype=bool)
    starts = points - window + 1
    upper = sliding_window_view(hi, window)[starts]
    lower = sliding_window_view(lo, window)[starts]
    out: BoolArray = np.where(high[points][:, None], upper, lower)
    return out


def most_serious(hits: dict[int, RuleHits], n: int) -> npt.NDArray[np.int8]:
    """One rule per point as qcc reports it: the lowest-numbered rule that fires, 0 if none."""
    out = np.zeros(n, dtype=np.int8)
    for rule in sorted(hits, reverse=True):
        out[hits[rule].points] = rule
    return out
