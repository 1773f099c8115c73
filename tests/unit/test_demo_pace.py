"""The demo's clock slows down when its devices fall behind, never steps back, and speeds
up again (never beyond what was asked) once they keep up."""

from __future__ import annotations

import pytest

from plantos.core.clock import NS_PER_S, ManualClock, ScaledClock
from plantos.demo.devices.pace import CALM_SCANS, MIN_SPEED, SETTLE_SCANS, SLOW_SCANS, Pacer

START = 1_800_000_000 * NS_PER_S
SCAN_NS = NS_PER_S // 4


def paced(speed: float) -> tuple[ManualClock, ScaledClock, Pacer]:
    wall = ManualClock(START)
    clock = ScaledClock(START, speed=speed, wall=wall)
    return wall, clock, Pacer(clock, requested=speed)


def scan(wall: ManualClock, clock: ScaledClock, pacer: Pacer, *, behind_wall_s: float) -> None:
    """One wall scan; the simulation ends it ``behind_wall_s`` of wall time behind."""
    wall.advance_to(wall.now_ns() + SCAN_NS)
    pacer.observe(clock.now_ns() - int(behind_wall_s * clock.speed * NS_PER_S))


def test_devices_that_keep_up_leave_the_speed_alone() -> None:
    wall, clock, pacer = paced(10.0)
    for _ in range(500):
        scan(wall, clock, pacer, behind_wall_s=0.1)
    assert pacer.speed == 10.0 and pacer.changes == 0


def test_one_slow_scan_is_caught_up_without_slowing_down() -> None:
    wall, clock, pacer = paced(10.0)
    for i in range(100):
        scan(wall, clock, pacer, behind_wall_s=2.0 if i == 50 else 0.1)
    assert pacer.speed == 10.0


def test_falling_behind_lowers_the_speed_and_time_never_steps_back() -> None:
    wall, clock, pacer = paced(60.0)
    seen = []
    for _ in range(SETTLE_SCANS + 10 * (SLOW_SCANS + SETTLE_SCANS)):
        scan(wall, clock, pacer, behind_wall_s=3.0)
        seen.append(clock.now_ns())
    assert MIN_SPEED <= pacer.speed < 60.0
    assert seen == sorted(seen)


def test_the_speed_never_drops_below_real_time() -> None:
    wall, clock, pacer = paced(4.0)
    for _ in range(1000):
        scan(wall, clock, pacer, behind_wall_s=5.0)
    assert pacer.speed == MIN_SPEED


def test_speed_comes_back_once_the_devices_keep_up_but_not_beyond_the_request() -> None:
    wall, clock, pacer = paced(10.0)
    for _ in range(SETTLE_SCANS + SLOW_SCANS):
        scan(wall, clock, pacer, behind_wall_s=3.0)
    lowered = pacer.speed
    assert lowered < 10.0
    for _ in range(20 * (CALM_SCANS + SETTLE_SCANS)):
        scan(wall, clock, pacer, behind_wall_s=0.1)
    assert pacer.speed == pytest.approx(10.0)


def test_a_speed_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(ScaledClock(START, speed=1.0), requested=0.0)
