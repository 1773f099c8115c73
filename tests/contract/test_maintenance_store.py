"""The maintenance store's contract: work orders and their outbox rows behave the same on
SQLite and on a fresh PostgreSQL database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from plantos.core.clock import ManualClock
from plantos.mom.maintenance.catalogue import DEFAULT_CATALOGUE
from plantos.mom.maintenance.errors import (
    IllegalWorkOrderTransitionError,
    UnknownFailureCodeError,
    UnknownWorkOrderError,
)
from plantos.mom.maintenance.service import MaintenanceService
from plantos.mom.maintenance.tables import work_orders
from plantos.mom.maintenance.workorder import Window
from plantos.mom.store import tables as t
from plantos.mom.store.migrate import current_revision, head_revision
from plantos.mom.store.repositories import ConcurrentChangeError

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
CNC = "p/a/l/cnc-07"


@pytest.fixture
def service(engine: sa.Engine) -> MaintenanceService:
    return MaintenanceService(
        engine, clock=ManualClock(T0), catalogue=DEFAULT_CATALOGUE, asset_types={CNC: "cnc-mill"}
    )


def outbox(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as c:
        rows = c.execute(sa.select(t.outbox.c.kind, t.outbox.c.payload)).all()
    return sorted((kind, payload.get("change", "")) for kind, payload in rows)


def test_schema_has_the_maintenance_revision(engine: sa.Engine) -> None:
    assert current_revision(engine) == head_revision()


def test_requested_order_reads_back_with_its_outbox_row(
    service: MaintenanceService, engine: sa.Engine
) -> None:
    order, events = service.request(
        asset=CNC, kind="corrective", title="spindle noise", by="alice", failure_mode="NOI"
    )
    back = service.get(order.id)
    assert (back.asset, back.kind, back.state, back.failure_mode) == (
        CNC, "corrective", "requested", "NOI",
    )  # fmt: skip
    assert back.transitions == [{"from": None, "to": "requested", "by": "alice", "at_ns": T0}]
    assert [e.kind for e in events] == ["WorkOrderOpened"]
    assert outbox(engine) == [("WorkOrderOpened", "")]


def test_lifecycle_labour_parts_and_history_persist(
    service: MaintenanceService, engine: sa.Engine
) -> None:
    order, _ = service.request(asset=CNC, kind="predictive", title="bearing", by="loop")

    def window(uow) -> None:  # type: ignore[no-untyped-def]
        uow.work_orders.get(order.id).propose_window(Window(T0, T0 + 3600 * NS), by="p", at_ns=T0)

    service.change(window)
    for to in ("approved", "scheduled", "in_progress"):
        service.transition(order.id, to, by="bob")
    service.record_labour(order.id, person="carl", hours=1.5, by="carl")
    service.record_part(order.id, part="6205-2RS", quantity=2, by="carl")
    service.transition(order.id, "done", by="carl", remedy="bearing replaced", mechanism="2.4")
    back = service.get(order.id)
    assert back.window == Window(T0, T0 + 3600 * NS)
    assert (back.state, back.remedy, back.mechanism) == ("done", "bearing replaced", "2.4")
    assert back.labour[0]["person"] == "carl" and back.parts[0]["part"] == "6205-2RS"
    assert service.history(CNC).last_service is not None
    changes = [c for k, c in outbox(engine) if k == "WorkOrderUpdated"]
    assert sorted(changes) == sorted(
        ["window", "approved", "scheduled", "in_progress", "labour", "parts", "done"]
    )


def test_refused_changes_write_nothing(service: MaintenanceService, engine: sa.Engine) -> None:
    order, _ = service.request(asset=CNC, kind="corrective", title="x", by="alice")
    with pytest.raises(IllegalWorkOrderTransitionError):
        service.transition(order.id, "done", by="bob")
    with pytest.raises(UnknownFailureCodeError):
        service.transition(order.id, "approved", by="bob", mechanism="9.9")
    with pytest.raises(UnknownFailureCodeError):
        service.request(asset=CNC, kind="corrective", title="x", by="a", failure_mode="PDX")
    with pytest.raises(UnknownWorkOrderError):
        service.transition("WO-NONE", "approved", by="bob")
    assert service.get(order.id).state == "requested"
    assert outbox(engine) == [("WorkOrderOpened", "")]


def test_concurrent_change_is_refused(service: MaintenanceService) -> None:
    order, _ = service.request(asset=CNC, kind="corrective", title="x", by="alice")
    with service.unit_of_work() as uow:
        mine = uow.work_orders.get(order.id)
        # another writer saved it since it was read: its version moved on
        uow.connection.execute(
            work_orders.update().where(work_orders.c.id == order.id).values(version=7)
        )
        mine.set_priority(1, by="alice", at_ns=T0)
        with pytest.raises(ConcurrentChangeError):
            uow.commit()
    assert service.get(order.id).priority == 3
