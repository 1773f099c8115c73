"""The operations store's contract: SQLite and PostgreSQL behave the same."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from plantos.core.clock import ManualClock
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.domain.events import ScheduleChanged
from plantos.mom.domain.master import AssetOption, Changeover, Product, Routing, RoutingStep
from plantos.mom.domain.plan import PlannedOperation, PublishedPlan
from plantos.mom.errors import (
    DuplicateOrderError,
    IllegalTransitionError,
    MasterDataError,
    UnknownProductError,
)
from plantos.mom.masterdata import MasterData
from plantos.mom.service import MomService
from plantos.mom.store import open_engine, resolve_url, upgrade
from plantos.mom.store.migrate import current_revision, head_revision
from plantos.mom.store.repositories import ConcurrentChangeError
from tests.support.mom_db import mom_database

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
CNC1, CNC2 = "p/a/l/cnc-1", "p/a/l/cnc-2"


def master() -> MasterData:
    routing = Routing(
        "shaft",
        "shaft",
        (RoutingStep("mill", (AssetOption(CNC1, 600, 90.0), AssetOption(CNC2, 600, 100.0))),),
    )
    return MasterData({"shaft": Product("shaft", "Shaft", "shaft")}, {"shaft": routing})


@pytest.fixture
def service(engine: sa.Engine) -> MomService:
    mom = MomService(engine, clock=ManualClock(T0), assets={CNC1, CNC2})
    mom.seed_master_data(master())
    return mom


def outbox(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as c:
        query = "SELECT kind, aggregate_key FROM mom_outbox ORDER BY created_at, kind"
        rows = c.execute(sa.text(query))
        return [(r[0], r[1]) for r in rows]


def test_upgrade_reaches_head_and_is_repeatable(engine: sa.Engine) -> None:
    assert current_revision(engine) == head_revision()
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_upgrade_of_an_existing_database_keeps_its_orders(tmp_path: Path) -> None:
    for kind in ("sqlite", "postgresql"):
        with mom_database(kind, tmp_path / kind) as url:
            (tmp_path / kind).mkdir(exist_ok=True)
            engine = open_engine(resolve_url(url, data_dir=tmp_path / kind))
            upgrade(engine, revision="0001")
            with engine.begin() as c:
                c.execute(sa.text("INSERT INTO mom_products VALUES ('p', 'P', 'r', NULL)"))
            assert current_revision(engine) == "0001"
            upgrade(engine)
            mom = MomService(engine, clock=ManualClock(T0), assets={CNC1})
            assert current_revision(engine) == head_revision() != "0001"
            assert list(mom.master()[0]) == ["p"] and mom.changeovers() == []
            engine.dispose()


def test_changeovers_are_stored_with_the_master_data(engine: sa.Engine) -> None:
    mom = MomService(engine, clock=ManualClock(T0), assets={CNC1, CNC2})
    data = master()
    changeover = Changeover(CNC1, "shaft", "shaft", 120)
    mom.seed_master_data(MasterData(data.products, data.routings, changeovers=(changeover,)))
    assert mom.changeovers() == [changeover]


def test_created_order_reads_back_with_its_outbox_row(
    service: MomService, engine: sa.Engine
) -> None:
    _, events = service.create_orders([NewOrder("o-1", "shaft", 10, T0 + 3600 * NS)])
    got = service.order("o-1")
    assert (got.product, got.quantity, got.state, got.good) == ("shaft", 10, "released", [0])
    assert [e.kind for e in events] == ["OrderReleased"]
    assert outbox(engine) == [("OrderReleased", "o-1")]


def test_outbox_row_has_uuid_and_json_payload(service: MomService, engine: sa.Engine) -> None:
    service.create_orders([NewOrder("o-1", "shaft", 10, T0 + 3600 * NS)])
    with engine.connect() as c:
        row = c.execute(sa.text("SELECT id, payload, created_at FROM mom_outbox")).one()
    payload = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    assert payload["product"] == "shaft" and payload["quantity"] == 10
    assert len(str(row[0]).replace("-", "")) == 32


def test_unknown_product_in_a_batch_writes_nothing(service: MomService, engine: sa.Engine) -> None:
    batch = [NewOrder("o-1", "shaft", 10, T0 + NS), NewOrder("o-2", "gear", 5, T0 + NS)]
    with pytest.raises(UnknownProductError, match="gear"):
        service.create_orders(batch)
    assert service.orders() == []
    assert outbox(engine) == []


def test_duplicate_id_is_refused(service: MomService) -> None:
    service.create_orders([NewOrder("o-1", "shaft", 10, T0 + NS)])
    with pytest.raises(DuplicateOrderError):
        service.create_orders([NewOrder("o-1", "shaft", 3, T0 + NS)])
    assert service.order("o-1").quantity == 10


def test_illegal_transition_changes_nothing(service: MomService, engine: sa.Engine) -> None:
    service.create_orders([NewOrder("o-1", "shaft", 10, T0 + NS)])
    service.transition("o-1", "cancelled")
    with pytest.raises(IllegalTransitionError, match="cancelled"):
        service.transition("o-1", "running", asset=CNC1)
    assert service.order("o-1").state == "cancelled"
    assert [k for k, _ in outbox(engine)].count("OrderStateChanged") == 1


def test_machine_counts_start_and_complete_the_order(service: MomService) -> None:
    service.create_orders([NewOrder("o-1", "shaft", 3, T0 + 3600 * NS)])
    counts = [Count("machine", CNC1, T0 + i * 90 * NS, 1) for i in range(1, 5)]
    booking, events = service.book(counts)
    order = service.order("o-1")
    assert (order.state, order.good_total, order.asset) == ("completed", 3, CNC1)
    assert booking.booked == 3 and booking.unassigned == {"no order for the asset": 1}
    assert [e.kind for e in events] == ["OrderStateChanged", "OrderProgressed", "OrderStateChanged"]
    assert events[1].good == 3  # type: ignore[attr-defined]


def test_machine_counts_start_no_order_before_its_release(service: MomService) -> None:
    service.create_orders([NewOrder("o-1", "shaft", 3, T0 + 7200 * NS, T0 + 3600 * NS)])
    booking, _ = service.book([Count("machine", CNC1, T0 + 60 * NS, 1)])
    assert booking.unassigned == {"no order for the asset": 1}
    service.book([Count("machine", CNC1, T0 + 3600 * NS, 1)])
    assert service.order("o-1").good_total == 1


def test_plans_keep_current_and_previous(service: MomService, engine: sa.Engine) -> None:
    service.create_orders([NewOrder("o-1", "shaft", 3, T0 + 3600 * NS)])
    for start in (0, 100, 200):
        op = PlannedOperation("o-1", 0, CNC1, start, start + 870)
        plan = PublishedPlan(T0, "test", None, "dispatch", "heuristic", 0, 870, 0, 1.0, (op,))
        service.publish_plan(
            plan,
            lambda pid: ScheduleChanged(ts_ns=T0, subject="plant", trigger="test", plan_id=pid),
        )
    current, previous = service.plans()
    assert current.operations[0].start_s == 200 and previous.operations[0].start_s == 100
    assert service.order("o-1").state == "scheduled"
    assert [k for k, _ in outbox(engine)].count("ScheduleChanged") == 3


def test_master_edit_with_unknown_asset_is_refused(service: MomService) -> None:
    bad = Routing("gear", "gear", (RoutingStep("hob", (AssetOption("p/a/l/nowhere", 0, 1.0),)),))
    with pytest.raises(MasterDataError, match="nowhere"):
        service.put_master(product=Product("gear", "Gear", "gear"), routing=bad)
    assert "gear" not in service.master()[0]


def test_parallel_bookings_lose_no_part(service: MomService) -> None:
    service.create_orders([NewOrder("o-1", "shaft", 1000, T0 + 3600 * NS)])
    service.transition("o-1", "running", asset=CNC1)

    def worker(k: int) -> None:
        for i in range(10):
            for _ in range(50):
                try:
                    service.book([Count("machine", CNC1, T0 + (k * 10 + i) * NS, 1)])
                    break
                except ConcurrentChangeError:
                    continue

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert service.order("o-1").good_total == 30
