"""The daily profile: learned from training rows alone, used only for a signal that
follows the day, and its residual shows a fault that keeps to the usual range."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from plantos.analytics.anomaly.offline import Table, detect
from plantos.analytics.anomaly.presets import SLOW
from plantos.analytics.anomaly.profile import DAY_NS, learn_daily_profile

STEP_NS = 300 * 1_000_000_000
PER_DAY = DAY_NS // STEP_NS


def daily(days: float, *, noise: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hall temperature: 20 at night, 30 in the afternoon, plus sensor noise."""
    ts = np.arange(int(days * PER_DAY), dtype=np.int64) * STEP_NS
    hours = (ts % DAY_NS) / 3.6e12
    y = 25 - 5 * np.cos(2 * np.pi * (hours - 3) / 24)
    return ts, y + np.random.default_rng(seed).normal(0, noise, len(ts))


def test_a_signal_that_follows_the_day_is_judged_by_its_residual() -> None:
    ts, y = daily(8)
    profile, why = learn_daily_profile(ts, y, min_explained=0.5)
    assert profile is not None and profile.bins == PER_DAY
    assert profile.explained > 0.9 and "explains" in why
    residual = profile.residual(ts, y)
    assert abs(float(np.nanmedian(residual))) < 0.2 and float(np.nanstd(residual)) < 1.0


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: daily(6.5), "7 needed"),  # each day is judged against the others: a week
        (
            lambda: (
                np.arange(8 * PER_DAY, dtype=np.int64) * STEP_NS,
                np.cumsum(np.random.default_rng(1).normal(0, 1, 8 * PER_DAY)),
            ),
            "explains",  # a random walk wanders from day to day: its profile explains little
        ),
        (lambda: (np.arange(8 * PER_DAY, dtype=np.int64) * STEP_NS, np.ones(8 * PER_DAY)), "vary"),
    ],
    ids=["too-short", "wandering", "flat"],
)
def test_no_profile_where_it_would_not_explain_the_signal(
    make: Callable[[], tuple[np.ndarray, np.ndarray]], reason: str
) -> None:
    ts, y = make()
    profile, why = learn_daily_profile(ts, y, min_explained=0.5)
    assert profile is None and "no daily profile" in why and reason in why


def test_missing_samples_do_not_poison_the_profile() -> None:
    ts, y = daily(8)
    y[::7] = np.nan
    profile, _ = learn_daily_profile(ts, y, min_explained=0.5)
    assert profile is not None and np.isfinite(profile.medians).all()


def test_a_fault_in_the_usual_range_at_the_wrong_hour_is_flagged() -> None:
    """The hall stays at its afternoon 30 degrees through the night (the heating runs on):
    within the range of every day, but not at that hour."""
    ts, y = daily(14)
    night = ((ts % DAY_NS) / 3.6e12 < 6) & (ts >= 12 * DAY_NS)
    y[night] = 30 + np.random.default_rng(2).normal(0, 0.5, int(night.sum()))
    train = 8 * PER_DAY
    result = detect(Table(ts, [""] * len(ts), {"hall": y}), train_rows=train, preset=SLOW)
    assert any("residual from its daily profile" in n for n in result.notes)
    assert result.flags[night].any() and not result.flags[train : 12 * PER_DAY].any()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("train_days", [7.1, 10])
def test_a_healthy_day_following_signal_stays_quiet(seed: int, train_days: float) -> None:
    """The training days are judged against the other days' profile, so their residuals
    are as loose as any later day's: no alarm on three healthy weeks."""
    ts, y = daily(21, noise=1.0, seed=seed)
    train = int(train_days * PER_DAY)
    result = detect(Table(ts, [""] * len(ts), {"hall": y}), train_rows=train, preset=SLOW)
    assert any("residual from its daily profile" in n for n in result.notes)
    assert not result.flags.any()


def test_the_profile_is_the_median_of_each_time_of_day() -> None:
    """Even and odd counts per bin, gaps: each bin's value is numpy's median of the
    training samples at that time of day."""
    ts, y = daily(8, seed=9)
    ts, y = ts[:-7], y[:-7]  # the last bins get one sample fewer
    y[::11] = np.nan
    profile, _ = learn_daily_profile(ts, y, min_explained=0.5)
    assert profile is not None
    phase = (ts % DAY_NS) * profile.bins // DAY_NS
    want = [np.nanmedian(np.where(phase == b, y, np.nan)) for b in range(profile.bins)]
    np.testing.assert_allclose(profile.medians, want)
