"""A live demo never writes a second past over history an earlier, faster run left."""

from __future__ import annotations

from plantos.demo import live_simulation_start

NS = 1_000_000_000
NOW = 1_800_000_000 * NS
HOUR = 3600 * NS


def test_fresh_data_starts_a_backfill_before_now() -> None:
    assert live_simulation_start(NOW, 2 * HOUR, None) == NOW - 2 * HOUR


def test_old_history_does_not_move_the_start() -> None:
    assert live_simulation_start(NOW, 2 * HOUR, NOW - 5 * HOUR) == NOW - 2 * HOUR


def test_history_ahead_of_the_wall_clock_is_continued_not_overwritten() -> None:
    newest = NOW + 3 * HOUR + 250_000_000
    assert live_simulation_start(NOW, 2 * HOUR, newest) == NOW + 3 * HOUR + NS


def test_the_bearing_starts_wearing_45_minutes_before_the_live_start() -> None:
    from plantos.demo.live import default_scenario

    assert default_scenario(12 * HOUR) == "bearing-wear:plant-a/machining/line-1/cnc-07:675m"
    assert default_scenario(30 * 60 * NS).endswith(":0m")  # a shorter history: from its start
