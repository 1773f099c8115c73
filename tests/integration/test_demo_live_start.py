"""Each live demo start simulates a fresh history in its own file (a restart tells the
story again), unless asked to keep the previous run's; bad options are refused."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from plantos.core.batch import SampleBatch
from plantos.core.clock import NS_PER_S
from plantos.demo.devices import DeviceOptions
from plantos.demo.live import DEMO_HISTORY, LiveDemo, LiveOptions, build_live_demo
from plantos.demo.orders import release_live
from tests.conftest import DEMO_PLANT

NOW = 1_800_000_000 * NS_PER_S
HOUR = 3600 * NS_PER_S


def options(data_dir: Path, **changes: Any) -> LiveOptions:
    base = LiveOptions(
        config=DEMO_PLANT,
        data_dir=data_dir,
        backfill="2h",
        devices=DeviceOptions(opcua_port=0, modbus_port=0),
    )
    return dataclasses.replace(base, **changes)


def write_one_sample(demo: LiveDemo) -> int:
    """One sample in a demo's historian, as a run would have left; its time."""
    tag = next(iter(demo.platform.tag_ids.values()))
    demo.platform.historian.write(SampleBatch.of([tag], [NOW - HOUR], [1.0]))
    return NOW - HOUR


def test_a_fresh_start_replaces_the_demo_history_and_keep_history_continues_it(
    tmp_path: Path,
) -> None:
    first = build_live_demo(options(tmp_path), now_ns=NOW)
    assert first.backfill_ns == 2 * HOUR
    assert "speed 10x" in first.banner() and "2h simulated before now" in first.banner()
    assert "not vouched for" not in first.banner()
    written_ns = write_one_sample(first)
    first.platform.historian.close()
    assert (tmp_path / DEMO_HISTORY).exists()

    kept = build_live_demo(options(tmp_path, keep_history=True), now_ns=NOW + 60 * NS_PER_S)
    assert kept.platform.historian.newest_ts == written_ns  # the previous run's history
    kept.platform.historian.close()

    fresh = build_live_demo(options(tmp_path), now_ns=NOW + 120 * NS_PER_S)
    assert fresh.platform.historian.newest_ts is None
    fresh.platform.historian.close()


def test_the_banner_says_when_the_speed_is_above_the_tested_one(tmp_path: Path) -> None:
    fast = build_live_demo(options(tmp_path, speed=30.0), now_ns=NOW)
    fast.platform.historian.close()
    assert "speed 30x" in fast.banner()
    assert "faster than 10x: the plant runs, but its alarm list is not vouched for" in (
        fast.banner()
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"speed": 0.0}, "--speed must be positive"),
        ({"backfill": "soon"}, "not a duration"),
        ({"scenarios": ["bearing-wear:furnace-1"]}, "furnace"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_live_demo(options(tmp_path, **change), now_ns=NOW)


def test_the_live_demo_releases_its_order_stream_as_plant_time_reaches_it(
    tmp_path: Path,
) -> None:
    demo = build_live_demo(options(tmp_path), now_ns=NOW)
    platform = demo.platform
    platform.add_source(release_live(platform, demo.orders))  # as LiveDemo.install does

    async def released() -> list[Any]:
        await platform.start()
        try:
            for _ in range(200):
                orders = await asyncio.to_thread(platform.mom.service.orders)
                if orders:
                    return list(orders)
                await asyncio.sleep(0.05)
            return []
        finally:
            await platform.stop()

    orders = asyncio.run(released())
    assert orders, "the demo plant's order stream released nothing"
    assert all(o.release_ns <= platform.clock.now_ns() for o in orders)
