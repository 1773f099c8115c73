"""Time scales from the data: feature window, alarm persistence and warm-up.

A fault on a 1 Hz pump lasts minutes, a drift of a furnace lasts days; no one
window fits both. What the data always tells is its sampling step and how many
healthy rows there are to learn from. The window is therefore a share of the
training rows: the training span must hold a number of windows
(:data:`WINDOWS_PER_TRAINING` by default), because the alarm threshold is a high
quantile of held-out training scores
(:mod:`~plantos.analytics.anomaly.calibration`) and a quantile of fewer
independent windows than that is a guess. An alarm must then persist for a
quarter of a window (:data:`PERSISTENCE_PER_WINDOW`), long enough that one
unlucky window does not raise it and short enough to raise well before the
window has turned over. Either can be given explicitly, in time (``30s``,
``16h``) or in rows (``25`` or ``25rows``).

Limits: the window is never shorter than the detector's minimum (a slope needs
a dozen samples; a multichannel score two), so a training span shorter than the
window's warm-up plus the rows a baseline needs cannot be learned from, and
:func:`time_scales` says how many rows would do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.core.timeparse import format_duration, parse_duration_ns

WINDOWS_PER_TRAINING = 20
"""Windows the training rows must hold, unless a preset says otherwise (the slow-signal
preset's, chosen on NAB's artificial series; see :mod:`~plantos.analytics.anomaly.presets`)."""
PERSISTENCE_PER_WINDOW = 0.25
"""An alarm must last this share of the feature window before it is raised."""

_ROWS = re.compile(r"^\s*(\d+)\s*(rows?)?\s*$")


@dataclass(frozen=True, slots=True)
class Span:
    """A length given in rows or in time (exactly one of the two)."""

    rows: int | None = None
    ns: int | None = None

    def __post_init__(self) -> None:
        if (self.rows is None) == (self.ns is None):
            raise ValueError("a span is either rows or a duration")
        if (self.rows is not None and self.rows < 0) or (self.ns is not None and self.ns <= 0):
            raise ValueError(f"a span cannot be negative or an empty duration, got {self!r}")

    def to_rows(self, step_ns: int) -> int:
        """Rows at sampling step ``step_ns`` (a duration is rounded to whole rows)."""
        return self.rows if self.rows is not None else round((self.ns or 0) / step_ns)

    def __str__(self) -> str:
        return f"{self.rows} rows" if self.rows is not None else format_duration(self.ns or 0)


def parse_span(text: str, *, allow_zero: bool = False) -> Span:
    """``25``/``25rows`` (rows) or a duration such as ``30s``, ``15min``, ``16h``.

    >>> parse_span("25"), parse_span("2min")
    (Span(rows=25, ns=None), Span(rows=None, ns=120000000000))
    """
    m = _ROWS.match(text)
    if m:
        rows = int(m.group(1))
        if rows == 0 and not allow_zero:
            raise ValueError(f"must be positive, got {text!r}")
        return Span(rows=rows)
    ns = parse_duration_ns(text)
    if ns <= 0 and not allow_zero:
        raise ValueError(f"must be positive, got {text!r}")
    return Span(rows=0) if ns == 0 else Span(ns=ns)


def sampling_step_ns(ts_ns: npt.NDArray[np.int64]) -> int:
    """The median positive step between timestamps; 1 s when there is none to measure."""
    steps = np.diff(ts_ns)
    steps = steps[steps > 0]
    return int(np.median(steps)) if len(steps) else 1_000_000_000


@dataclass(frozen=True, slots=True)
class TimeScales:
    """The feature window in rows, the alarm's persistence and where they came from."""

    step_ns: int
    window_rows: int
    min_duration_ns: int
    derived: bool

    def describe(self) -> str:
        """One line for the notes of a run."""
        how = "from the training rows" if self.derived else "as given"
        persist = format_duration(self.min_duration_ns) if self.min_duration_ns else "0s"
        return (
            f"time scales {how}: sampling step {format_duration(self.step_ns)}, feature window "
            f"{self.window_rows} rows ({format_duration(self.window_rows * self.step_ns)}), an "
            f"alarm must last {persist}"
        )


def time_scales(
    ts_ns: npt.NDArray[np.int64],
    *,
    train_rows: int,
    min_window_rows: int,
    min_samples: int,
    window: Span | None = None,
    min_duration: Span | None = None,
    windows_per_training: int = WINDOWS_PER_TRAINING,
) -> TimeScales:
    """Window and persistence for samples at ``ts_ns`` learned from ``train_rows`` rows.

    Raises ``ValueError`` only when no window of at least ``min_window_rows`` leaves
    ``min_samples`` complete training rows after its warm-up; the message says what
    would do.
    """
    step = sampling_step_ns(ts_ns)
    need = min_window_rows - 1 + min_samples
    if train_rows < need:
        raise ValueError(
            f"{train_rows} training rows are too few to learn from: the shortest feature window "
            f"({min_window_rows} rows) and a baseline need {need}; train on at least {need} rows "
            f"({format_duration(need * step)} at this sampling step)"
        )
    if window is None:
        rows = max(min_window_rows, train_rows // windows_per_training)
    else:
        rows = max(min_window_rows, window.to_rows(step))
        if rows - 1 + min_samples > train_rows:
            longest = train_rows - min_samples + 1
            raise ValueError(
                f"the feature window of {rows} rows ({window}) needs at least "
                f"{rows - 1 + min_samples} training rows (its warm-up and {min_samples} rows to "
                f"learn from), got {train_rows}: train on more rows or choose a shorter window "
                f"(at most {longest} rows, {format_duration(longest * step)})"
            )
    if min_duration is None:
        persist_ns = int(rows * PERSISTENCE_PER_WINDOW) * step
    else:
        persist_ns = (
            min_duration.ns if min_duration.ns is not None else (min_duration.rows or 0) * step
        )
    return TimeScales(step, rows, persist_ns, window is None)
