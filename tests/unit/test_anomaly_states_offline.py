"""Offline detection with operating states: each state has its own expected level and
baseline, a state never seen healthy is not judged, and the state column is not judged."""

from __future__ import annotations

import numpy as np
import pytest

from plantos.analytics.anomaly.features import StateExpectation
from plantos.analytics.anomaly.offline import Detection, Table, detect

STEP_NS = 300 * 1_000_000_000
HOURS = 12  # rows per hour: 12


def bearing(days: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A bearing temperature that follows the program: 45 degrees on program 1 (slow), 70 on
    program 2 (fast), programs switching every 3 h."""
    n = days * 24 * HOURS
    ts = np.arange(n, dtype=np.int64) * STEP_NS
    program = np.where((np.arange(n) // (3 * HOURS)) % 2 == 0, 1.0, 2.0)
    temp = np.where(program == 1, 45.0, 70.0) + np.random.default_rng(seed).normal(0, 0.8, n)
    return ts, program, temp


def run(ts: np.ndarray, program: np.ndarray, temp: np.ndarray, train_days: int) -> Detection:
    table = Table(ts, [""] * len(ts), {"temp": temp, "program": program})
    return detect(table, train_rows=train_days * 24 * HOURS, state_column="program")


def test_a_machine_hotter_than_its_program_expects_is_flagged() -> None:
    """From day 8 the bearing runs 12 degrees hot on the slow program: 57 is well inside
    the range the machine shows every day (45 to 70), but not on that program."""
    ts, program, temp = bearing(10)
    day8 = ts >= 8 * 24 * 3600 * 10**9
    temp[day8 & (program == 1)] += 12.0
    result = run(ts, program, temp, train_days=5)
    assert any("residual from its median in each operating state" in n for n in result.notes)
    flags = result.flags
    assert flags[day8].any() and not flags[~day8].any()


def test_healthy_program_changes_raise_nothing() -> None:
    ts, program, temp = bearing(12, seed=3)
    assert not run(ts, program, temp, train_days=5).flags.any()


def test_a_week_on_the_hot_program_is_normal_for_that_program() -> None:
    """After training the machine runs only the fast program, at its usual 70 degrees.
    Judged on its raw level that is a departure (the level no longer averages 57); judged
    per program it is the fast program as always."""
    ts, program, temp = bearing(12, seed=4)
    later = ts >= 6 * 24 * 3600 * 10**9
    program[later] = 2.0
    temp[later] = 70.0 + np.random.default_rng(5).normal(0, 0.8, int(later.sum()))
    assert not run(ts, program, temp, train_days=5).flags.any()
    table = Table(ts, [""] * len(ts), {"temp": temp})
    assert detect(table, train_rows=5 * 24 * HOURS).flags[later].any()


def test_rows_without_a_state_are_not_judged_and_do_not_disturb_the_others() -> None:
    ts, program, temp = bearing(12, seed=6)
    clean = run(ts, program, temp, train_days=5)
    gappy = program.copy()
    gappy[::10] = np.nan  # empty state cells
    result = run(ts, gappy, temp, train_days=5)
    after = np.arange(len(ts)) >= 5 * 24 * HOURS
    assert np.isnan(result.scores[::10][after[::10]]).all()
    assert not result.flags.any() and not clean.flags.any()
    assert any("rows without an operating state" in n for n in result.notes)


def test_a_negative_code_is_a_state_like_any_other() -> None:
    ts, program, temp = bearing(10, seed=7)
    program[program == 1] = -1.0  # e.g. the spindle reversing
    result = run(ts, program, temp, train_days=5)
    after = np.arange(len(ts)) >= 5 * 24 * HOURS
    assert np.isfinite(result.scores[after & (program == -1)]).any()
    assert not result.flags.any()


def test_codes_too_large_to_be_whole_numbers_are_refused() -> None:
    ts, program, temp = bearing(6)
    program[3] = 1e19
    with pytest.raises(ValueError, match="whole numbers within"):
        run(ts, program, temp, train_days=3)


@pytest.mark.parametrize("trained_rows", [0, 36], ids=["never-run", "run-in-the-warm-up-only"])
def test_a_program_without_a_baseline_is_not_judged_and_said_so(trained_rows: int) -> None:
    """Never run in training, or run only within the features' warm-up: no baseline."""
    ts, program, temp = bearing(10)
    late = ts >= 8 * 24 * 3600 * 10**9
    program[late & (program == 2)] = 3.0  # a new program after training
    program[:trained_rows] = 3.0
    result = run(ts, program, temp, train_days=5)
    assert np.isnan(result.scores[late & (program == 3)]).all()
    [note] = [n for n in result.notes if "not judged: operating states" in n]
    assert note.startswith(f"{int((late & (program == 3)).sum())} rows") and "states 3 " in note


def test_the_state_column_must_exist_and_leave_something_to_judge() -> None:
    ts, program, temp = bearing(6)
    with pytest.raises(ValueError, match="no state column 'gear'"):
        detect(Table(ts, [""] * len(ts), {"temp": temp}), train_rows=1000, state_column="gear")
    with pytest.raises(ValueError, match="no column to judge"):
        detect(Table(ts, [""] * len(ts), {"program": program}), train_rows=1000,
               state_column="program")  # fmt: skip


def test_state_expectation_needs_enough_rows_per_state() -> None:
    exp = StateExpectation(min_rows=3)
    exp.fit([60.0, 61.0, 62.0, 40.0, 41.0], [2, 2, 2, 1, 1])
    assert exp.expected == {2: 61.0}  # state 1 has two rows only: no expectation
    assert exp.residual([65.0, 45.0], [2, 1]).tolist()[0] == 4.0
    assert np.isnan(exp.residual([45.0], [1])[0])
