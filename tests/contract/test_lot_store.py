"""The lot store's contract: lots, their states, history and outbox rows behave the same
on SQLite and on a fresh PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from plantos.core.clock import ManualClock
from plantos.mom.domain.lot import InvalidLotError, Lot, UnknownLotError
from plantos.mom.quality.policy import QualityPolicy
from plantos.mom.quality.service import QualityService
from plantos.mom.quality.tables import nonconformances
from plantos.mom.service import MomService
from plantos.mom.store import open_engine, resolve_url, upgrade
from plantos.mom.store import tables as t
from plantos.mom.store.migrate import current_revision
from plantos.mom.store.repositories import ConcurrentChangeError
from tests.support.mom_db import mom_database

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
CNC1, CNC2 = "p/a/l/cnc-1", "p/a/l/cnc-2"
POLICY = QualityPolicy(frozenset(), frozenset(), True, ())


@pytest.fixture
def service(engine: sa.Engine) -> QualityService:
    counting = MomService(engine, clock=ManualClock(T0), assets={CNC1, CNC2}).policy
    return QualityService(engine, clock=ManualClock(T0), policy=POLICY, counting=counting)


def add(service: QualityService, code: str, asset: str, *, at_s: int, order: str | None) -> None:
    def work(uow) -> None:  # type: ignore[no-untyped-def]
        uow.lots.add(Lot.open(id=code, asset=asset, order=order, opened_ns=T0 + at_s * NS,
                              by="loop", product="shaft", good_from=4))  # fmt: skip

    service.change(work)


def outbox(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as c:
        rows = c.execute(sa.select(t.outbox.c.kind, t.outbox.c.aggregate_key)).all()
    return sorted((kind, key) for kind, key in rows)


def test_a_lot_reads_back_with_its_fields_and_filters(service: QualityService) -> None:
    add(service, "PO-1-1", CNC1, at_s=0, order="PO-1")
    add(service, "PO-1-2", CNC2, at_s=10, order="PO-1")
    add(service, "L-77", CNC1, at_s=20, order=None)
    back = service.lot("PO-1-1")
    assert (back.order, back.product, back.asset, back.state, back.opened_ns, back.good_from) == (
        "PO-1", "shaft", CNC1, "open", T0, 4,
    )  # fmt: skip
    assert back.history == [{"to": "open", "by": "loop", "at_ns": T0}]
    assert [lot.id for lot in service.lots()] == ["L-77", "PO-1-2", "PO-1-1"], "newest first"
    assert [lot.id for lot in service.lots(order="PO-1")] == ["PO-1-2", "PO-1-1"]
    assert service.lots(states=["on_hold"]) == []
    assert service.read(lambda uow: uow.lots.count_of("PO-1")) == 2
    assert service.read(lambda uow: uow.lots.filling_on(CNC1)).id == "L-77"


def test_hold_and_release_persist_with_history_and_outbox_rows(
    service: QualityService, engine: sa.Engine
) -> None:
    add(service, "L-1", CNC1, at_s=0, order=None)
    held, events = service.hold_lot("L-1", by="qa-anna", reason="burr on edge")
    assert held.state == "on_hold" and [e.kind for e in events] == ["LotHeld"]
    service.release_lot("L-1", by="qa-bob", reason="deburred")
    back = service.lot("L-1")
    assert back.state == "released" and back.reason == "deburred"
    assert [(h["to"], h["by"]) for h in back.history] == [
        ("open", "loop"), ("on_hold", "qa-anna"), ("released", "qa-bob"),
    ]  # fmt: skip
    assert outbox(engine) == [("LotHeld", "L-1"), ("LotReleased", "L-1")]


def test_refusals_name_the_lot_and_write_nothing(
    service: QualityService, engine: sa.Engine
) -> None:
    add(service, "L-1", CNC1, at_s=0, order=None)
    with pytest.raises(UnknownLotError, match="no lot 'L-9'"):
        service.hold_lot("L-9", by="qa", reason="x")
    with pytest.raises(InvalidLotError, match="a hold needs a reason"):
        service.hold_lot("L-1", by="qa", reason="  ")
    with pytest.raises(InvalidLotError, match="exists already"):
        add(service, "L-1", CNC2, at_s=5, order=None)
    service.hold_lot("L-1", by="qa", reason="burr")
    with pytest.raises(Exception, match=r"on hold already \(burr\)"):
        service.hold_lot("L-1", by="qa", reason="burr")
    assert outbox(engine) == [("LotHeld", "L-1")] and len(service.lot("L-1").history) == 2


def test_a_lot_changed_meanwhile_is_not_overwritten(service: QualityService) -> None:
    add(service, "L-1", CNC1, at_s=0, order=None)
    with service.unit_of_work() as uow:
        mine = uow.lots.get("L-1")
        # another writer saved it since it was read: its version moved on
        uow.connection.execute(t.lots.update().where(t.lots.c.id == "L-1").values(version=7))
        mine.end(by="loop", at_ns=T0 + NS)
        with pytest.raises(ConcurrentChangeError, match="lot L-1 changed meanwhile"):
            uow.commit()
    assert service.lot("L-1").state == "open"
    with service.unit_of_work() as uow:
        uow.lots.get("L-1")  # only looked at: not written, so no conflict
        uow.connection.execute(t.lots.update().where(t.lots.c.id == "L-1").values(version=9))
        uow.commit()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrading_keeps_nonconformances_and_their_order_holds(tmp_path: Path, kind: str) -> None:
    with mom_database(kind, tmp_path) as url:
        engine = open_engine(resolve_url(url, data_dir=tmp_path))
        upgrade(engine, revision="0009")
        row = {
            "asset": CNC1, "characteristic": f"{CNC1}/bore", "trigger": "spc_violation",
            "order_id": "PO-1", "state": "open", "quantity": 0, "occurrences": 1,
            "opened_ns": T0, "opened_by": "loop", "scrapped": 0, "note": "", "evidence": [],
            "history": [], "version": 1,
        }  # fmt: skip
        with engine.begin() as c:
            c.execute(nonconformances.insert().values(id="NC-1", held=True, **row))
            c.execute(nonconformances.insert().values(id="NC-2", held=False, **row))
        upgrade(engine)
        assert current_revision(engine) == "0010"
        counting = MomService(engine, clock=ManualClock(T0), assets={CNC1}).policy
        service = QualityService(engine, clock=ManualClock(T0), policy=POLICY, counting=counting)
        held, free = service.get("NC-1"), service.get("NC-2")
        assert (held.hold_target, held.lot, free.hold_target) == ("order", None, None)
        assert service.lots() == []
        engine.dispose()
