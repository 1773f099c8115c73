"""Anomaly detection over a CSV file with the stream's own classes, causally.

The detector is fitted on the training rows only (the rows before
``train_until``, or the first fraction of the file) and those rows get no score:
the baseline is still being learned there. With a state column (a program, a product),
every other column is judged as its residual from its training median in the row's
state, and each state has its own baseline. A column that follows the day in its
training rows is judged as its residual from that daily profile
(:mod:`plantos.analytics.anomaly.profile`). One column is judged by its window
features (level, slope, spread, residual); several are judged together, by
their relations (:class:`~plantos.analytics.anomaly.pca.PcaDetector`). The
feature window and the alarm's minimum duration follow the sampling step and
the training rows (:mod:`plantos.analytics.anomaly.timescale`), and the alarm
thresholds come from the same training rows, so no row after them shapes a
setting (the few constants chosen on labelled data once are named in
:mod:`plantos.analytics.anomaly.presets`). Every later row is scored by the
same :class:`AnomalyMonitor` as the live stream, in file order, so a row's
score and flag depend only on the rows before and at it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from plantos.analytics.anomaly.alarm import AlarmPolicy
from plantos.analytics.anomaly.calibration import calibrate
from plantos.analytics.anomaly.detector import FeatureFrame
from plantos.analytics.anomaly.features import SLOW_FEATURES, StateExpectation, slow_features
from plantos.analytics.anomaly.monitor import AnomalyMonitor
from plantos.analytics.anomaly.pca import PcaDetector
from plantos.analytics.anomaly.presets import MULTICHANNEL, SLOW, Preset
from plantos.analytics.anomaly.profile import learn_daily_profile
from plantos.analytics.anomaly.stuck import StuckWatch, clean
from plantos.analytics.anomaly.timescale import Span, time_scales
from plantos.core.events import Event
from plantos.core.timeparse import iso

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Table:
    """A CSV file's time column (ns, UTC) and its numeric columns, in file order."""

    ts_ns: npt.NDArray[np.int64]
    timestamps: list[str]
    columns: dict[str, FloatArray]


@dataclass(slots=True)
class Detection:
    """Per row score (NaN while training) and flag; events; the policy used; notes."""

    scores: FloatArray
    flags: npt.NDArray[np.bool_]
    train_rows: int
    events: list[Event]
    policy: AlarmPolicy
    notes: list[str] = field(default_factory=list)


def parse_timestamp_ns(text: str) -> int:
    """ISO 8601 (naive means UTC) or integer epoch nanoseconds."""
    s = text.strip()
    if s.lstrip("-").isdigit():
        return int(s)
    dt = datetime.fromisoformat(s)
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt
    return round(dt.timestamp() * 1e6) * 1000


def read_table(path: Path, time_column: str, columns: Sequence[str] | None = None) -> Table:
    """Read ``path``; empty cells are missing (NaN). Errors name the row (1 = first data row)."""
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path}: the file is empty, expected a header row")
        wanted = list(columns) if columns else [c for c in header if c != time_column]
        missing = [c for c in [time_column, *wanted] if c not in header]
        if missing:
            raise ValueError(f"{path}: no column {', '.join(map(repr, missing))} (have {header})")
        ti, idx = header.index(time_column), [header.index(c) for c in wanted]
        stamps: list[str] = []
        ts: list[int] = []
        rows: list[list[float]] = []
        for row_no, row in enumerate(reader, start=1):
            if len(row) != len(header):
                raise ValueError(f"{path}: row {row_no}: {len(row)} cells, expected {len(header)}")
            try:
                ts.append(parse_timestamp_ns(row[ti]))
            except ValueError:
                raise ValueError(
                    f"{path}: row {row_no}: bad timestamp {row[ti]!r} in {time_column!r}"
                ) from None
            stamps.append(row[ti])
            rows.append([_number(row[i], path, row_no, header[i]) for i in idx])
    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(wanted))
    return Table(
        np.array(ts, dtype=np.int64), stamps, {c: values[:, j] for j, c in enumerate(wanted)}
    )


def _number(cell: str, path: Path, row_no: int, column: str) -> float:
    if not cell.strip():
        return math.nan
    try:
        return float(cell)
    except ValueError:
        raise ValueError(f"{path}: row {row_no}: {cell!r} in {column!r} is not a number") from None


def train_rows_for(
    ts_ns: npt.NDArray[np.int64], *, train_until_ns: int | None, train_fraction: float | None
) -> int:
    """Rows before the first timestamp at or after ``train_until_ns``, or the first fraction."""
    if train_until_ns is not None:
        late = np.flatnonzero(ts_ns >= train_until_ns)
        return int(late[0]) if len(late) else len(ts_ns)
    fraction = 0.15 if train_fraction is None else train_fraction
    if not 0 < fraction < 1:
        raise ValueError(f"the training fraction must be between 0 and 1, got {fraction}")
    return int(len(ts_ns) * fraction)


def detect(
    table: Table,
    *,
    train_rows: int,
    preset: Preset | None = None,
    subject: str = "",
    state_column: str | None = None,
    window: Span | None = None,
    min_duration: Span | None = None,
) -> Detection:
    """Fit on ``table``'s first ``train_rows`` rows, then score the rest in order.

    ``preset`` None: :data:`SLOW` for one judged column, :data:`MULTICHANNEL` for
    several (judged together). ``window`` and ``min_duration`` override the feature
    window and the alarm's minimum duration, which otherwise follow the sampling
    step and the training rows (or the preset's fixed window, when it has one).

    ``state_column`` names a column of operating-state codes (a program, a product,
    a gear, a speed band): it is not judged itself; every other column is judged as
    its residual from its median in the row's state, and each state gets its own
    baseline. A state not seen in training is not judged (NaN), and said so.
    """
    if train_rows < 1 or train_rows >= len(table.ts_ns):
        raise ValueError(
            f"need at least one training row and one row to score, "
            f"got {train_rows} of {len(table.ts_ns)}"
        )
    notes: list[str] = []
    judged = {c: v for c, v in table.columns.items() if c != state_column}
    if not judged:
        raise ValueError("no column to judge: the state column is only the operating state")
    if preset is None:
        preset = MULTICHANNEL if len(judged) > 1 else SLOW
    if window is None and preset.window_ns is not None:
        window = Span(ns=preset.window_ns)
    scales = time_scales(
        table.ts_ns,
        train_rows=train_rows,
        min_window_rows=preset.min_window_rows,
        min_samples=preset.min_samples,
        window=window,
        min_duration=min_duration,
        windows_per_training=preset.windows_per_training,
    )
    if preset.window_ns is None or min_duration is not None:
        notes.append(scales.describe())
    w = scales.window_rows
    states = _states(table, state_column, notes)
    columns = []
    for col, raw in judged.items():
        cleaned = clean(raw)
        skipped = {k: v for k, v in cleaned.counts.items() if v}
        if skipped:
            notes.append(f"{col}: unusable samples skipped {skipped}")
        watch = StuckWatch(min_duration_ns=preset.stuck_after_ns)
        for run in watch.update(table.ts_ns, cleaned.values):
            since = iso(run.start_ns)
            notes.append(f"{col}: stuck (flat line) for {run.samples} samples from {since}")
        columns.append(
            _unexpected(col, cleaned.values, table.ts_ns, states, train_rows, preset, notes)
        )
    notes[:] = _merged(notes, list(judged))
    frame = _frame(preset, judged, columns, table.ts_ns, states, w)
    training = frame.rows(slice(0, train_rows))
    policy = preset.policy
    if preset.window_ns is None or min_duration is not None:
        policy = replace(policy, min_duration_ns=scales.min_duration_ns)
    if preset.calibration is not None:
        calibrated = calibrate(lambda: preset.detector(w), training, policy, preset.calibration)
        policy = calibrated.policy
        notes.append(calibrated.describe())
    monitor = AnomalyMonitor(preset.detector(w), subject=subject, policy=policy)
    monitor.fit(training)
    if isinstance(monitor.detector, PcaDetector):
        notes.append(_pca_note(monitor.detector, policy))
    stuck = getattr(monitor.detector, "stuck", {})
    for state, features in stuck.items():
        notes.append(f"state {state}: features flat while training (stuck?): {', '.join(features)}")
    out = monitor.process(frame.rows(slice(train_rows, None)))
    if states is not None:
        # The detector's states with a baseline; for a detector that does not say, the
        # states it gave a score.
        known = getattr(monitor.detector, "baselines", None)
        learned = (
            set(known)
            if known is not None
            else set(np.unique(states[train_rows:][np.isfinite(out.scores)]).tolist())
        )
        if note := _unjudged_states(states[train_rows:], learned, preset.min_samples):
            notes.append(note)
    scores = np.concatenate((np.full(train_rows, np.nan), out.scores))
    flags = np.concatenate((np.zeros(train_rows, bool), out.flags))
    return Detection(scores, flags, train_rows, out.events, policy, notes)


def _frame(
    preset: Preset,
    judged: dict[str, FloatArray],
    columns: list[FloatArray],
    ts_ns: npt.NDArray[np.int64],
    states: npt.NDArray[np.int64] | None,
    window_rows: int,
) -> FeatureFrame:
    """The channels themselves (judged together), or each channel's window features."""
    if preset.multichannel:
        return FeatureFrame.of(np.column_stack(columns), list(judged), ts_ns, states)
    feats = [slow_features(values, window=window_rows) for values in columns]
    names = [f"{col}.{f}" for col in judged for f in SLOW_FEATURES]
    return FeatureFrame.of(np.hstack(feats), names, ts_ns, states)


def _merged(notes: list[str], columns: list[str], *, shown: int = 5) -> list[str]:
    """Notes in order, those saying the same of several columns said once for all of them
    (52 columns without a daily profile are one note, not 52)."""
    prefix = {f"{c}: ": c for c in columns}
    groups: dict[str, list[str]] = {}
    order: list[str] = []
    for note in notes:
        col = next((c for p, c in prefix.items() if note.startswith(p)), None)
        text = note[len(col) + 2 :] if col is not None else note
        key = text if col is not None else "\0" + note
        if key not in groups:
            order.append(key)
        groups.setdefault(key, []).append(col or "")
    out = []
    for key in order:
        cols = groups[key]
        if key.startswith("\0"):
            out.append(key[1:])
        elif len(cols) == 1:
            out.append(f"{cols[0]}: {key}")
        else:
            more = f" and {len(cols) - shown} more" if len(cols) > shown else ""
            out.append(f"{', '.join(cols[:shown])}{more}: {key}")
    return out


def _pca_note(detector: PcaDetector, policy: AlarmPolicy) -> str:
    t2, q = detector.norms
    return (
        f"channels judged together: robust PCA with {detector.components} component(s) "
        f"(T-squared and Q, each over its held-out 99th percentile: {t2:.3g}, {q:.3g}); "
        f"raise at {policy.raise_at:.3g}, clear below {policy.clear_at:.3g}"
    )


NO_STATE = int(np.iinfo(np.int64).min)
"""The state of a row whose state cell is empty: no state's rows, never judged."""
_LARGEST_CODE = 2**53  # beyond this a float64 cell no longer holds a whole number exactly


def _states(table: Table, column: str | None, notes: list[str]) -> npt.NDArray[np.int64] | None:
    """The state code of each row (rounded; :data:`NO_STATE` where empty), or None."""
    if column is None:
        return None
    if column not in table.columns:
        raise ValueError(f"no state column {column!r} (have {', '.join(table.columns)})")
    raw = table.columns[column]
    missing = ~np.isfinite(raw)
    if (np.abs(raw[~missing]) > _LARGEST_CODE).any():
        raise ValueError(f"state column {column!r}: codes must be whole numbers within ±2^53")
    states = np.where(missing, NO_STATE, np.rint(np.nan_to_num(raw))).astype(np.int64)
    if missing.any():
        notes.append(f"{int(missing.sum())} rows without an operating state: not judged")
    return states


def _unjudged_states(
    states: npt.NDArray[np.int64], baselines: set[int], min_rows: int
) -> str | None:
    """A note on the rows after training left unjudged in states without a baseline."""
    missed = (states != NO_STATE) & ~np.isin(states, list(baselines))
    if not missed.any():
        return None
    codes = np.unique(states[missed]).tolist()
    shown = ", ".join(map(str, codes[:10])) + (", ..." if len(codes) > 10 else "")
    return (
        f"{int(missed.sum())} rows after training not judged: operating states {shown} had "
        f"fewer than {min_rows} complete training rows"
    )


def _unexpected(
    col: str,
    values: FloatArray,
    ts_ns: npt.NDArray[np.int64],
    states: npt.NDArray[np.int64] | None,
    train_rows: int,
    preset: Preset,
    notes: list[str],
) -> FloatArray:
    """What the training rows did not lead one to expect of ``values``: the residual from
    the state's median when there are states, then from the daily profile when the
    signal follows the day; the values themselves when neither applies."""
    if states is not None:
        values = np.where(states == NO_STATE, np.nan, values)
        expectation = StateExpectation(min_rows=preset.min_samples)
        expectation.fit(values[:train_rows], states[:train_rows])
        values = expectation.residual(values, states)
        notes.append(f"{col}: judged as the residual from its median in each operating state")
    if preset.daily_profile_min_explained is not None:
        profile, why = learn_daily_profile(
            ts_ns[:train_rows],
            values[:train_rows],
            min_explained=preset.daily_profile_min_explained,
        )
        notes.append(f"{col}: {why}")
        if profile is not None:
            values = profile.residual(ts_ns, values, train_rows=train_rows)
    return values


def write_scores(path: Path, table: Table, time_column: str, detection: Detection) -> None:
    """Per input row: the timestamp as given, ``score`` (empty while training) and ``flag``."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([time_column, "score", "flag"])
        for stamp, score, flag in zip(
            table.timestamps, detection.scores.tolist(), detection.flags.tolist(), strict=True
        ):
            w.writerow([stamp, "" if score != score else f"{score:.6g}", int(flag)])
