"""Building blocks every asset model shares: the chunk of time, tag output and signal helpers.

The simulator works in fixed chunks of simulated time. Inside a chunk a model
computes each signal as a numpy array over a whole-second grid; these helpers
keep that vectorised (no per-sample Python) and keep the models free of
bookkeeping about tag ids, sampling periods and state codes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from plantos.core.events import Event
from plantos.core.timeparse import parse_duration_ns
from plantos.core.timeunits import NS_PER_S as NS
from plantos.model.plant import AssetDef, TagDef

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Series = tuple[int, IntArray, FloatArray]


@dataclass(frozen=True, slots=True)
class Chunk:
    """A slice ``[start_ns, end_ns)`` of simulated time and its whole-second sample grid."""

    start_ns: int
    end_ns: int
    grid: IntArray


@dataclass(slots=True)
class ChunkOutput:
    """What one asset produced in one chunk: sample series and events."""

    series: list[Series] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


class TagWriter:
    """Turns a model's signals into series for the tags the historian actually knows.

    A model computes every signal it understands; the writer drops signals whose
    tag is absent from the plant or from ``tag_ids`` and thins tags sampled
    slower than 1 s to their own period, aligned to the epoch.
    """

    def __init__(self, asset: AssetDef, tag_ids: Mapping[str, int]) -> None:
        self.tags: dict[str, TagDef] = {t.signal: t for t in asset.tags if t.path in tag_ids}
        self.ids: dict[str, int] = {s: int(tag_ids[t.path]) for s, t in self.tags.items()}

    def wants(self, signal: str) -> bool:
        return signal in self.ids

    def emit(
        self,
        out: ChunkOutput,
        signal: str,
        ts: IntArray,
        values: npt.NDArray[Any],
        *,
        on_event: bool = False,
    ) -> None:
        """Add a signal's samples; ``on_event`` keeps every sample regardless of the tag period."""
        tag_id = self.ids.get(signal)
        if tag_id is None or len(ts) == 0:
            return
        values = np.asarray(values, dtype=np.float64)
        period = self.tags[signal].sampling_ns
        if not on_event and period > NS and period % NS == 0:
            keep = ts % period == 0
            ts, values = ts[keep], values[keep]
        out.series.append((tag_id, ts, values))

    def state_codes(self, names: tuple[str, ...], signal: str = "state") -> FloatArray:
        """Numeric code of each internal state name in this asset's enum tag.

        A state the tag does not define falls back to ``idle`` then ``off`` (an
        assembly station has no ``changeover`` code), so the tag never carries a
        code its definition lacks.
        """
        tag = self.tags.get(signal)
        by_name = {v: float(k) for k, v in (tag.states or {}).items()} if tag else {}
        first = next(iter(by_name.values()), 0.0)
        codes = [
            by_name.get(name, by_name.get("idle", by_name.get("off", first))) for name in names
        ]
        return np.array(codes, dtype=np.float64)


def seconds(value: Any, default: float) -> float:
    """A positive duration parameter from ``asset.simulator`` in seconds: ``"95s"`` or a number."""
    if value is None:
        return default
    s = float(value) if isinstance(value, int | float) else parse_duration_ns(str(value)) / NS
    if s <= 0:
        raise ValueError(f"simulator durations must be positive, got {value!r}")
    return s


def lag(x: FloatArray, y0: float, tau_s: float) -> FloatArray:
    """First-order lag ``tau * dy/dt = x - y`` on a 1 s grid, vectorised.

    The recursion ``y[i] = a*y[i-1] + (1-a)*x[i]`` is unrolled into a scaled
    cumulative sum, in blocks short enough that the scale ``a**-n`` stays far
    from overflow. Thermal inertia, spindle ramps and coloured noise all use it.
    """
    alpha = math.exp(-1.0 / tau_s)
    out = np.empty(len(x), dtype=np.float64)
    block = max(1, int(200 * tau_s))
    for a in range(0, len(x), block):
        xb = x[a : a + block]
        scale = alpha ** -np.arange(1, len(xb) + 1, dtype=np.float64)
        yb = (y0 + (1.0 - alpha) * np.cumsum(scale * xb)) / scale
        out[a : a + len(xb)] = yb
        y0 = float(yb[-1])
    return out


def run_seconds(before: float, running: npt.NDArray[np.bool_]) -> FloatArray:
    """Accumulated running time at each grid second (time run *before* that second).

    Part cycles advance only while running, so a cycle interrupted by a
    micro-stop resumes where it left off.
    """
    r = running.astype(np.float64)
    return before + np.cumsum(r) - r


def finished_at(counts: IntArray, before: int) -> tuple[IntArray, IntArray]:
    """Indices where a completed-cycle count rises, and by how much."""
    prev = np.concatenate(([before], counts[:-1]))
    idx = np.flatnonzero(counts > prev)
    return idx, counts[idx] - prev[idx]
