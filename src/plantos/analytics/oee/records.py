"""What state tracking leaves behind per asset: state intervals, counted parts, reasons.

Both are columnar (numpy arrays), so OEE over any range is a few vectorised
sums, and live and historical computation share every line after tracking.
Reasons are kept apart as plain data keyed by (asset, interval start): an
operator assigns them later, and a recomputation from history finds them again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from plantos.core.clock import Clock, WallClock

Int64 = npt.NDArray[np.int64]
Int16 = npt.NDArray[np.int16]
UNASSIGNED = "unassigned"
MAX_REASON_CHARS = 200
MAX_NOTE_CHARS = 500
"""The longest reason code: a code and a short explanation, not a report."""
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


@dataclass(frozen=True, slots=True)
class Reason:
    """A reason code as given: who gave it (the caller's identity) and when (wall clock),
    since a reason is an operator's statement and an audit wants its author."""

    code: str
    by: str
    at_ns: int
    note: str = ""
    """The operator's own words beside the code (the code is chosen from a list)."""


ReasonJournal = Callable[[str, int, Reason], None]
"""Keeps an assignment (asset, stop start, reason) durably; raises if it cannot."""


@dataclass(slots=True)
class ReasonBook:
    """Reason codes operators give to downtime intervals, keyed by asset and interval start.

    ``journal``, when set, keeps every assignment before the book shows it, so a reason
    the OEE figures use is one that survives a restart (the platform's SQLite store).
    """

    reasons: dict[tuple[str, int], Reason] = field(default_factory=dict)
    clock: Clock = field(default_factory=WallClock, compare=False, repr=False)
    journal: ReasonJournal | None = field(default=None, compare=False, repr=False)
    _writing: threading.Lock = field(
        default_factory=threading.Lock, init=False, compare=False, repr=False
    )

    def assign_reason(
        self, asset: str, start_ns: int, reason: str, *, by: str = "", note: str = ""
    ) -> Reason:
        """Give the interval of ``asset`` starting at ``start_ns`` a reason code, replacing
        the one it had. The journal and the book change together (the API and the form
        may assign at once), so the reason shown is the one a restart finds."""
        code = reason.strip() if reason else ""
        if not code:
            raise ValueError(f"a reason code must not be empty, got {reason!r}")
        if len(code) > MAX_REASON_CHARS:
            raise ValueError(f"a reason code has at most {MAX_REASON_CHARS} characters")
        if len(note) > MAX_NOTE_CHARS:
            raise ValueError(f"a note has at most {MAX_NOTE_CHARS} characters")
        with self._writing:
            given = Reason(code, by, self.clock.now_ns(), note.strip())
            if self.journal is not None:
                self.journal(asset, int(start_ns), given)
            self.reasons[(asset, int(start_ns))] = given
        return given

    def reason_of(self, asset: str, start_ns: int) -> str | None:
        given = self.reasons.get((asset, start_ns))
        return given.code if given else None

    def given(self, asset: str, start_ns: int) -> Reason | None:
        """The current reason of a stop with who gave it and when, if it has one."""
        return self.reasons.get((asset, start_ns))
