"""The inbound interface table against real PostgreSQL and MariaDB databases playing the
ERP: PlantOS creates the table, takes NEW rows in order, creates, updates (with
history) and cancels orders through the one inbound path, refuses a bad row with the
reason while the good ones around it go in, recognises a repeated row, and survives
the ERP database being away."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from plantos.core.clock import WallClock
from plantos.integration.erp.inbound.poller import InboundTablePoller, Round
from plantos.integration.erp.interface_table import interface_url
from plantos.mom.service import MomService
from tests.contract.test_mom_store import CNC1, NS
from tests.support.erp_db import erp_database

pytestmark = pytest.mark.timeout(120)
DUE = datetime(2026, 1, 2, 6, 0)
TABLE = "plantos_inbound"


def poller(url: str, mom: MomService, **options: Any) -> InboundTablePoller:
    return InboundTablePoller(interface_url(url), service=mom, clock=WallClock(),
                              name="erp-in", create_table=True, **options)  # fmt: skip


def poll(run: InboundTablePoller) -> Round | None:
    """One round, the connections closed after it as a stopping platform would."""

    async def once() -> Round | None:
        try:
            return await run.poll()
        finally:
            await run.close()

    return asyncio.run(once())


def insert(url: str, *rows: dict[str, Any]) -> None:
    engine = sa.create_engine(interface_url(url))
    table = sa.Table(TABLE, sa.MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        for row in rows:  # one by one: seq follows the ERP's order
            conn.execute(table.insert().values(**row))
    engine.dispose()


def table_rows(url: str) -> list[sa.Row[Any]]:
    engine = sa.create_engine(interface_url(url))
    with engine.connect() as conn:
        rows = list(conn.execute(sa.text(f"SELECT * FROM {TABLE} ORDER BY seq")))
    engine.dispose()
    return rows


def order(oid: str, quantity: object = 10, **more: Any) -> dict[str, Any]:
    return {"order_id": oid, "product": "shaft", "quantity": quantity, "unit": "pcs",
            "due_at": DUE, **more}  # fmt: skip


def test_orders_created_updated_cancelled_and_bad_rows_refused(
    erp_url: str, mom: MomService
) -> None:
    run = poller(erp_url, mom)
    assert poll(run) is not None  # creates the empty table
    insert(erp_url,
           order("PO-1"), order("PO-2", 5, priority=3),
           order("PO-X", product="gear"),           # unknown product
           order("PO-3", -4), order("PO-4", 2.5),    # bad quantities
           order("PO-1"),                            # the same order again
           order("PO-2", 8, due_at=datetime(2026, 1, 3, 6, 0), priority=3),
           order("PO-5", 7), {"order_id": "PO-5", "action": "CANCEL"},
           {"order_id": "PO-9", "action": "CANCEL"},  # never known
           {"order_id": "PO-6", "product": "shaft"})  # no quantity, no due date  # fmt: skip
    result = poll(run)
    assert result is not None
    assert result.orders.done == {"created": 3, "unchanged": 1, "updated": 1, "cancelled": 1}
    assert result.orders.errors == 5
    rows = table_rows(erp_url)
    assert [(r.order_id, r.status, r.outcome) for r in rows] == [
        ("PO-1", "DONE", "created"), ("PO-2", "DONE", "created"),
        ("PO-X", "ERROR", None), ("PO-3", "ERROR", None), ("PO-4", "ERROR", None),
        ("PO-1", "DONE", "unchanged"), ("PO-2", "DONE", "updated"),
        ("PO-5", "DONE", "created"), ("PO-5", "DONE", "cancelled"),
        ("PO-9", "ERROR", None), ("PO-6", "ERROR", None),
    ]  # fmt: skip
    errors = {r.order_id: r.error_text for r in rows if r.status == "ERROR"}
    assert "unknown product 'gear'" in errors["PO-X"]
    assert "order PO-3: quantity must be a finite number >= 0, got -4.0" in errors["PO-3"]
    assert "positive whole number, not 2.5" in errors["PO-4"]
    assert "no such order" in errors["PO-9"]
    assert "quantity, due_at must be given" in errors["PO-6"]
    assert all(r.processed_at is not None for r in rows)

    orders = {o.id: o for o in mom.orders()}
    assert sorted(orders) == ["PO-1", "PO-2", "PO-5"]  # nothing of a refused row stored
    assert orders["PO-2"].quantity == 8 and orders["PO-5"].state == "cancelled"
    history = mom.order_history("PO-2")
    assert [h["action"] for h in history] == ["created", "updated"]
    assert history[1]["changes"] == {
        "quantity": [5, 8], "due_ns": [_utc_ns(DUE), _utc_ns(datetime(2026, 1, 3, 6, 0))]
    }  # fmt: skip
    assert history[1]["source"] == "interface-table:erp-in"
    assert poll(run) is not None
    assert len(mom.orders()) == 3 and run.health()["done"] == 6
    assert run.health()["errors"] == 5


def _utc_ns(naive: datetime) -> int:
    """The table's times are UTC."""
    return int(naive.replace(tzinfo=UTC).timestamp()) * NS


def test_a_completed_order_takes_no_change_and_the_row_says_why(
    erp_url: str, mom: MomService
) -> None:
    run = poller(erp_url, mom)
    poll(run)
    insert(erp_url, order("PO-1"))
    poll(run)
    mom.transition("PO-1", "running", asset=CNC1)
    mom.transition("PO-1", "completed")
    insert(erp_url, order("PO-1", 12), {"order_id": "PO-1", "action": "CANCEL"})
    poll(run)
    rows = table_rows(erp_url)
    assert [r.status for r in rows] == ["DONE", "ERROR", "ERROR"]
    assert "completed: it takes no changes" in rows[1].error_text
    assert "is completed" in rows[2].error_text
    assert mom.order("PO-1").quantity == 10


def test_database_down_is_counted_and_rows_go_in_once_it_is_back(mom: MomService) -> None:
    with erp_database("postgresql") as url:
        gone = url.rsplit("/", 1)[0] + "/plantos_no_such_db"
        run = poller(gone, mom, interval_s=0.05)
        assert poll(run) is None
        assert poll(run) is None
        health = run.health()
        assert health["state"] == "unreachable" and health["failures"] == 2
        assert health["consecutive_failures"] == 2 and health["unreachable_since"]
        assert "cannot reach the inbound table plantos_inbound" in health["last_error"]
        assert mom.orders() == []

        run._url = interface_url(url)  # the database is back (same poller, same counts)
        poll(run)
        insert(url, order("PO-1"), order("PO-2"))

        async def until_done() -> None:
            task = asyncio.create_task(run.run())
            for _ in range(200):
                if {r.status for r in table_rows(url)} == {"DONE"}:
                    break
                await asyncio.sleep(0.05)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        asyncio.run(until_done())
        health = run.health()
        assert health["state"] == "ok" and health["consecutive_failures"] == 0
        assert health["failures"] == 2 and health["last_success"]
        assert sorted(o.id for o in mom.orders()) == ["PO-1", "PO-2"]


def test_a_row_applied_but_not_marked_is_applied_again_without_effect(
    erp_url: str, mom: MomService
) -> None:
    run = poller(erp_url, mom)
    poll(run)
    insert(erp_url, order("PO-1"))
    poll(run)
    engine = sa.create_engine(interface_url(erp_url))
    with engine.begin() as conn:  # as if PlantOS died between the order and the mark
        conn.execute(sa.text(f"UPDATE {TABLE} SET status = 'NEW', outcome = NULL"))
    engine.dispose()
    poll(run)
    assert [(r.status, r.outcome) for r in table_rows(erp_url)] == [("DONE", "unchanged")]
    assert len(mom.orders()) == 1
    assert [h["action"] for h in mom.order_history("PO-1")] == ["created"]
