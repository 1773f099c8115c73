"""The live demo's order release: each order when platform time reaches its release, those
already due at once, none twice after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from plantos.app import Platform, Settings
from plantos.core.clock import ManualClock
from plantos.demo.orders import release_live
from plantos.mom.domain.commands import NewOrder
from tests.support.server import MIXER_OEE_PLANT

NS = 1_000_000_000
T0 = 1_767_589_200 * NS
MOM_YAML = """\
products: [{id: paint, routing: paint}]
routings:
  - id: paint
    product: paint
    operations:
      - {name: mix, assets: [{asset: site-1/mixing/line-1/mixer-1, run_per_unit: 10m}]}
"""


def test_orders_are_released_as_platform_time_passes(tmp_path: Path) -> None:
    (tmp_path / "plantos.yaml").write_text(MIXER_OEE_PLANT)
    (tmp_path / "mom.yaml").write_text(MOM_YAML)
    clock = ManualClock(T0)
    platform = Platform(
        Settings(config=tmp_path / "plantos.yaml", data_dir=tmp_path / "d"), clock=clock
    )
    due = T0 + 8 * 3600 * NS
    stream = [
        NewOrder("PO-1", "paint", 5, due, T0 - NS),
        NewOrder("PO-2", "paint", 5, due, T0 + 3600 * NS),
    ]

    async def run() -> list[list[str]]:
        seen = []
        task = asyncio.create_task(release_live(platform, stream, poll_s=0.01))
        for until in (T0, T0 + 3599 * NS, T0 + 3600 * NS):
            clock.advance_to(until)
            await asyncio.sleep(0.3)
            seen.append(sorted(o.id for o in platform.mom.service.orders()))
        await asyncio.wait_for(task, 5)
        await release_live(platform, stream)  # a restart keeping its data releases nothing twice
        return seen

    try:
        assert asyncio.run(run()) == [["PO-1"], ["PO-1"], ["PO-1", "PO-2"]]
        assert platform.events_seen.get("OrderReleased") == 2
    finally:
        platform.historian.close()
        platform.mom.service.engine.dispose()
