"""What state tracking leaves behind per asset: state intervals, counted parts, reasons.

Both are columnar (numpy arrays), so OEE over any range is a few vectorised
sums, and live and historical computation share every line after tracking.
Reasons are kept apart as plain data keyed by (asset, interval start): an
operator assigns them later, and a recomputation from history finds them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Int64 = npt.NDArray[np.int64]
Int16 = npt.NDArray[np.int16]
UNASSIGNED = "unassigned"
"""The reason of a downtime no one has explained yet: visible as such, never hidden."""


@dataclass(frozen=True, slots=True)
class Intervals:
    """State intervals ``[start_ns, end_ns)``; ``state`` indexes the tracker's state names."""

    start_ns: Int64
    end_ns: Int64
    state: Int16

    @classmethod
    def empty(cls) -> Intervals:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int16))

    @classmethod
    def concat(cls, parts: Sequence[Intervals]) -> Intervals:
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.start_ns for p in parts]),
            np.concatenate([p.end_ns for p in parts]),
            np.concatenate([p.state for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.start_ns)

    def since(self, ts_ns: int) -> Intervals:
        """The intervals that end after ``ts_ns`` (older ones can be forgotten)."""
        keep = self.end_ns > ts_ns
        return Intervals(self.start_ns[keep], self.end_ns[keep], self.state[keep])


@dataclass(frozen=True, slots=True)
class Counts:
    """Parts counted at ``ts_ns``: all of them, the scrap, and the ideal cycle time then.

    A row may hold scrap without parts (a failed inspection of a part counted
    by another row). ``cycle_ns`` is -1 where the ideal cycle is unknown (a
    program without one), so those parts show as such instead of as fast.
    """

    ts_ns: Int64
    total: Int64
    scrap: Int64
    cycle_ns: Int64

    @classmethod
    def empty(cls) -> Counts:
        z = np.zeros(0, np.int64)
        return cls(z, z, z, z)

    @classmethod
    def concat(cls, parts: Sequence[Counts]) -> Counts:
        if not parts:
            return cls.empty()
        return cls(
            *(
                np.concatenate([getattr(p, name) for p in parts])
                for name in ("ts_ns", "total", "scrap", "cycle_ns")
            )
        )

    def since(self, ts_ns: int) -> Counts:
        keep = self.ts_ns >= ts_ns
        return Counts(self.ts_ns[keep], self.total[keep], self.scrap[keep], self.cycle_ns[keep])


@dataclass(frozen=True, slots=True)
class AssetHistory:
    """What tracking knows of one asset: intervals and counts, and how to read them."""

    asset: str
    states: tuple[str, ...]
    category: npt.NDArray[np.int8]
    intervals: Intervals
    counts: Counts
    micro_stop_ns: int
    startup_ns: int


@dataclass(slots=True)
class ReasonBook:
    """Reason codes operators give to downtime intervals, keyed by asset and interval start."""

    reasons: dict[tuple[str, int], str] = field(default_factory=dict)

    def assign_reason(self, asset: str, start_ns: int, reason: str) -> None:
        """Give the interval of ``asset`` starting at ``start_ns`` a reason code."""
        if not reason or not reason.strip():
            raise ValueError(f"a reason code must not be empty, got {reason!r}")
        self.reasons[(asset, int(start_ns))] = reason.strip()

    def reason_of(self, asset: str, start_ns: int) -> str | None:
        return self.reasons.get((asset, start_ns))
