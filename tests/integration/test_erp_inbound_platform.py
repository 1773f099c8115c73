"""The platform polls the ERP's inbound table as a supervised stage when erp.yaml lists
one: an order the ERP writes there is planned without anyone typing it, and the stage's
health shows what it did."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from plantos.app import Platform, Settings
from plantos.integration.erp.interface_table import interface_url
from tests.integration.test_mom_api import MOM_YAML
from tests.support.erp_db import erp_database
from tests.support.server import MIXER_OEE_PLANT
from tests.support.waiting import until

pytestmark = pytest.mark.timeout(90)


def test_orders_from_the_inbound_table_reach_the_platform(tmp_path: Path) -> None:
    config = tmp_path / "plantos.yaml"
    config.write_text(MIXER_OEE_PLANT)
    (tmp_path / "mom.yaml").write_text(MOM_YAML)
    with erp_database("mariadb") as url:
        (tmp_path / "erp.yaml").write_text(
            f"inbound:\n  - name: erp-orders\n    kind: interface-table\n    url: {url}\n"
            "    create_table: true\n    interval_s: 0.1\n"
        )
        platform = Platform(Settings(config=config, data_dir=tmp_path / "data"))
        erp = sa.create_engine(interface_url(url))
        due = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=8)

        async def run() -> None:
            await platform.start()
            try:
                stage = "erp-inbound-erp-orders"
                # a round has finished: the table exists (a started round may not have made it)
                await until(lambda: _detail(platform, stage).get("last_success"), timeout=20)
                with erp.begin() as conn:
                    conn.execute(sa.text(
                        "INSERT INTO plantos_inbound (order_id, product, quantity, unit, due_at) "
                        "VALUES ('ERP-1', 'paint', 4, 'pcs', :due), "
                        "('ERP-2', 'glue', 4, 'pcs', :due)"), {"due": due})  # fmt: skip
                await until(lambda: _detail(platform, stage).get("errors") == 1, timeout=20)
                assert _detail(platform, stage)["done"] == 1
                assert [o.id for o in platform.mom.service.orders()] == ["ERP-1"]
            finally:
                await platform.stop()

        try:
            asyncio.run(run())
        finally:
            erp.dispose()


def _detail(platform: Platform, stage: str) -> dict[str, object]:
    stages = {s["stage"]: s for s in platform.health()["stages"]}
    detail: dict[str, object] = stages[stage]["detail"]
    return detail
