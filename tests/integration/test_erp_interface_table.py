"""The interface-table connector against real PostgreSQL and MariaDB databases playing
the ERP: PlantOS creates the table and writes each outbox message once, an ERP job
acknowledges or rejects rows, a rejection becomes a dead letter with the ERP's reason,
and replaying it after the correction hands the row back to the ERP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from plantos.core.clock import WallClock
from plantos.integration.erp.interface_table import InterfaceTableChannel, interface_url
from plantos.integration.erp.outbox.dispatcher import Connector, OutboxDispatcher
from plantos.integration.erp.outbox.store import DeliveryStore
from plantos.mom.store.engine import open_engine, resolve_url
from plantos.mom.store.migrate import upgrade
from tests.integration.test_erp_outbox import ORDERS, PER_ORDER, write_production
from tests.support.erp_db import erp_database
from tests.support.waiting import until

pytestmark = pytest.mark.timeout(90)
TOTAL = ORDERS * PER_ORDER


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = open_engine(resolve_url("sqlite:///mom.sqlite", data_dir=tmp_path))
    upgrade(engine)
    write_production(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["postgresql", "mariadb"])
def erp(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    with erp_database(request.param) as url:
        engine = sa.create_engine(interface_url(url))
        yield engine
        engine.dispose()


def rows(erp: sa.Engine) -> list[sa.Row[tuple[object, ...]]]:
    with erp.connect() as conn:
        return list(conn.execute(sa.text("SELECT * FROM plantos_outbound ORDER BY seq")))


def erp_job(erp: sa.Engine, *, refuse_good: int | None) -> None:
    """What the ERP's inbound job does: book NEW rows, or refuse the ones it cannot."""
    with erp.begin() as conn:
        for row in conn.execute(sa.text("SELECT message_id, payload FROM plantos_outbound "
                                        "WHERE status = 'NEW' ORDER BY seq")).all():  # fmt: skip
            bad = json.loads(row.payload)["good"] == refuse_good
            conn.execute(
                sa.text("UPDATE plantos_outbound SET status = :s, error_text = :e, "
                        "processed_at = CURRENT_TIMESTAMP WHERE message_id = :k"),
                {"s": "ERROR" if bad else "PROCESSED",
                 "e": "material M-7 unknown" if bad else None, "k": row.message_id},
            )  # fmt: skip


def test_rows_written_once_rejections_dead_lettered_and_resubmitted(
    outbox: sa.Engine, erp: sa.Engine
) -> None:
    channel = InterfaceTableChannel(erp.url, clock=WallClock(), name="erp-table")
    try:
        check_delivery_cycle(channel, outbox, erp)
    finally:
        asyncio.run(channel.close())  # its own engine, else left to the garbage collector


def check_delivery_cycle(channel: InterfaceTableChannel, outbox: sa.Engine, erp: sa.Engine) -> None:
    store = DeliveryStore(outbox, clock=WallClock())
    run = OutboxDispatcher(store, [Connector("erp-table", channel)], poll_interval_s=0.05)

    async def until_settled(check: object) -> None:
        task = asyncio.create_task(run.run())
        await until(check, timeout=30)  # type: ignore[arg-type]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(until_settled(lambda: store.status("erp-table")["delivered"] == TOTAL))
    written = rows(erp)
    assert len(written) == TOTAL and {r.status for r in written} == {"NEW"}
    for order in ("400", "401", "402"):
        goods = [json.loads(r.payload)["good"] for r in written if r.ordering_key == order]
        assert goods == list(range(PER_ORDER))
    with outbox.begin() as conn:  # as if PlantOS died before recording the deliveries
        conn.execute(sa.text("UPDATE erp_deliveries SET state = 'pending'"))
    asyncio.run(until_settled(lambda: store.status("erp-table")["delivered"] == TOTAL))
    assert len(rows(erp)) == TOTAL

    erp_job(erp, refuse_good=5)
    asyncio.run(until_settled(lambda: store.status("erp-table")["dead"] == ORDERS))
    dead = store.dead_letters("erp-table")
    assert {d.error for d in dead} == {"the ERP rejected it: material M-7 unknown"}
    assert {d.payload["good"] for d in dead} == {5}

    assert store.replay("erp-table") == ORDERS  # the material was created in the ERP
    asyncio.run(until_settled(lambda: store.status("erp-table")["delivered"] == TOTAL))
    again = [r for r in rows(erp) if r.status == "NEW"]
    assert len(again) == ORDERS and {r.attempt for r in again} == {2}
    assert all(r.error_text is None for r in again)
    erp_job(erp, refuse_good=5)  # the correction did not take: refused a second time
    asyncio.run(until_settled(lambda: store.status("erp-table")["dead"] == ORDERS))
    assert store.replay("erp-table") == ORDERS
    asyncio.run(until_settled(lambda: store.status("erp-table")["delivered"] == TOTAL))
    assert {r.attempt for r in rows(erp) if r.status == "NEW"} == {3}
    erp_job(erp, refuse_good=None)
    assert {r.status for r in rows(erp)} == {"PROCESSED"} and len(rows(erp)) == TOTAL
    assert store.dead_letters("erp-table") == []


def test_unreachable_database_is_retried_not_dead_lettered(outbox: sa.Engine) -> None:
    url = interface_url("postgresql://postgres@127.0.0.1:1/nowhere")
    channel = InterfaceTableChannel(url, clock=WallClock(), name="erp-table")
    store = DeliveryStore(outbox, clock=WallClock())
    run = OutboxDispatcher(store, [Connector("erp-table", channel)], poll_interval_s=0.05)

    async def attempt() -> None:
        await run.round(run.connectors[0])
        await channel.close()

    asyncio.run(attempt())
    status = store.status("erp-table")
    assert status["pending"] == TOTAL and status["dead"] == 0
    assert "cannot write to the interface table plantos_outbound" in str(status["last_error"])


def test_a_url_of_another_database_is_refused() -> None:
    with pytest.raises(ValueError, match="PostgreSQL or MariaDB"):
        interface_url("sqlite:///erp.db")
