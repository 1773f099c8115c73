"""Test servers draw ports below the ephemeral range, each xdist worker from its own slice."""

from __future__ import annotations

from plantos.testing.ports import BAND, worker_band


def test_without_workers_the_whole_band_below_the_ephemeral_range() -> None:
    assert worker_band(32768, None, 1) == range(32768 - BAND, 32768)
    assert worker_band(32768, "master", 2) == range(32768 - BAND, 32768)


def test_two_workers_draw_from_disjoint_slices_that_cover_the_band() -> None:
    gw0, gw1 = worker_band(32768, "gw0", 2), worker_band(32768, "gw1", 2)
    assert not set(gw0) & set(gw1)
    assert gw0.start == 32768 - BAND and gw1.stop == 32768 and gw0.stop == gw1.start


def test_a_restarted_worker_takes_a_slice_of_the_same_band() -> None:
    assert worker_band(32768, "gw2", 2) == worker_band(32768, "gw0", 2)


def test_the_band_never_reaches_below_the_privileged_ports() -> None:
    assert worker_band(5000, None, 1) == range(1024, 5000)
