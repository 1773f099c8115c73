"""Lots in the quality loop end to end, on SQLite and PostgreSQL: an order's start opens
its lot and its completion closes it; a violation whose rule holds the lot holds the lot
(the order runs on), the disposition releases or scraps it, and every step's events are
in the outbox of its transaction; a lot-code tag starts lots with its codes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from plantos.analytics.spc.events import SpcViolation
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.core.events import Event
from plantos.integration.erp.file_drop_demo import deliver_all, file_drop_dispatcher
from plantos.integration.notify.config import notification_config
from plantos.integration.notify.routing import Router
from plantos.loops.quality import QualityLoop
from plantos.model import load_plant_text
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.domain.master import AssetOption, Product, Routing, RoutingStep
from plantos.mom.masterdata import MasterData
from plantos.mom.quality.errors import InvalidNonconformanceError
from plantos.mom.quality.policy import quality_policy
from plantos.mom.quality.service import QualityService
from plantos.mom.service import MomService
from plantos.mom.store import tables as t

pytestmark = pytest.mark.timeout(120)

NS = 1_000_000_000
T0 = 1_767_589_200 * NS
WELD = "p/welding/weld-line/weld-cell-1"
OTHER = "p/welding/weld-line/weld-cell-2"
CURRENT, GAP, LOT_CODE = f"{WELD}/weld_current", f"{WELD}/gap", f"{WELD}/lot_code"
PLANT = """\
plantos: 1
enterprise: {id: acme}
asset_types:
  weld-cell:
    tags:
      - {signal: weld_current, unit: A, range: [0, 400]}
      - {signal: gap, unit: mm, range: [0, 5]}
      - {signal: lot_code, type: text}
sites:
  - id: p
    areas:
      - id: welding
        lines:
          - id: weld-line
            assets: [{id: weld-cell-1, type: weld-cell}, {id: weld-cell-2, type: weld-cell}]
quality:
  hold_on: [spc_violation]
  rules:
    - {match: "*/weld_current", hold_target: lot}
"""


class Rig:
    def __init__(self, engine: sa.Engine, *, extra: str = "") -> None:
        self.engine = engine
        self.plant = load_plant_text(PLANT + extra)
        self.clock = ManualClock(T0)
        self.mom = MomService(engine, clock=self.clock, assets=self.plant.assets)
        routing = Routing("frame", "frame", (RoutingStep("weld", (AssetOption(WELD, 0, 40.0),)),))
        self.mom.seed_master_data(
            MasterData({"frame": Product("frame", "Frame", "frame")}, {"frame": routing})
        )
        self.mom.create_orders([NewOrder("PO-1", "frame", 100, T0 + 3600 * NS)])
        policy = quality_policy(self.plant)
        self.service = QualityService(engine, clock=self.clock, policy=policy,
                                      counting=self.mom.policy)  # fmt: skip
        config = notification_config(self.plant)
        self.loop = QualityLoop(
            service=self.service, plant=self.plant, router=Router(config.rules, config.roles),
            inspections={}, lot_codes={9: LOT_CODE} if policy.lot_codes else None,
        )  # fmt: skip

    def run(self, *messages: object) -> None:
        """Hand each message to both consumers of the loop, as the bus does."""

        async def go() -> None:
            for m in messages:
                await self.loop.handle(m)
                await self.loop.follow(m)

        asyncio.run(go())

    def start(self) -> None:
        """Start PO-1 on the weld cell and hand the loop the events, as the bus does."""
        self.run(*self.mom.transition("PO-1", "running", asset=WELD)[1])

    def book(self, good: int, *, at_s: int) -> list[Event]:
        counts = [Count("machine", WELD, T0 + (at_s + i) * NS, good=1) for i in range(good)]
        return self.mom.book(counts)[1]

    def outbox(self) -> list[str]:
        with self.engine.connect() as c:
            return sorted(r.kind for r in c.execute(sa.select(t.outbox.c.kind)))


def violation(at_s: int, subject: str = CURRENT) -> SpcViolation:
    return SpcViolation(
        ts_ns=T0 + at_s * NS, subject=subject, rule=1, rule_set="nelson", chart="xbar_r",
        statistic="xbar", point_ts_ns=(T0 + at_s * NS,), point_values=(231.0,),
        center=200.0, lcl=190.0, ucl=210.0, phase="monitoring",
    )  # fmt: skip


def test_an_order_start_opens_its_lot_and_its_completion_closes_it(engine: sa.Engine) -> None:
    rig = Rig(engine)
    rig.start()
    (lot,) = rig.service.lots(order="PO-1")
    assert (lot.id, lot.order, lot.product, lot.asset, lot.state) == (
        "PO-1-1", "PO-1", "frame", WELD, "open",
    )  # fmt: skip
    rig.book(30, at_s=10)
    assert rig.service.lot("PO-1-1").good == 30, "an open lot's parts are counted as it fills"
    events = rig.book(70, at_s=100)
    assert rig.mom.order("PO-1").state == "completed"
    rig.run(*events)
    done = rig.service.lot("PO-1-1")
    assert (done.state, done.good, done.closed_ns) == ("closed", 100, T0 + 169 * NS)
    rig.run(*events)  # the bus delivers again: nothing changes
    assert len(rig.service.lots()) == 1


def test_a_violation_holding_the_lot_holds_it_and_a_use_as_is_releases_it(
    engine: sa.Engine,
) -> None:
    rig = Rig(engine)
    rig.start()
    rig.book(10, at_s=10)
    rig.run(*(violation(s) for s in range(30, 60, 3)))
    (nc,) = rig.service.list()
    assert (nc.lot, nc.held, nc.hold_target, nc.occurrences) == ("PO-1-1", True, "lot", 10)
    lot = rig.service.lot("PO-1-1")
    assert (lot.state, lot.reason) == ("on_hold", f"{nc.id} opened")
    assert rig.mom.order("PO-1").state == "running", "a lot hold lets the order run on"
    assert rig.loop.reactions[-1].hold_target == "lot"
    assert rig.outbox().count("LotHeld") == 1 and "NonconformanceOpened" in rig.outbox()
    rig.clock.advance_to(T0 + 900 * NS)
    done, events = rig.service.dispose(nc.id, "use_as_is", by="qa-anna", note="in tolerance")
    assert (done.state, done.held) == ("closed", False)
    assert sorted(e.kind for e in events) == ["LotReleased", "NonconformanceDispositioned"]
    lot = rig.service.lot("PO-1-1")
    assert (lot.state, lot.history[-1]["by"], lot.history[-1]["nonconformance"]) == (
        "released", "qa-anna", nc.id,
    )  # fmt: skip
    assert rig.outbox().count("LotReleased") == 1


def test_a_scrap_disposition_scraps_the_lot_books_its_parts_and_opens_the_next(
    engine: sa.Engine,
) -> None:
    rig = Rig(engine)
    rig.start()
    rig.book(12, at_s=10)
    rig.run(violation(30))
    (nc,) = rig.service.list()
    before = rig.outbox()
    with pytest.raises(InvalidNonconformanceError, match="scraps the whole lot"):
        rig.service.dispose(nc.id, "scrap", by="qa", quantity=3)
    assert rig.outbox() == before and rig.service.lot("PO-1-1").state == "on_hold"
    done, events = rig.service.dispose(nc.id, "scrap", by="qa")
    order = rig.mom.order("PO-1")
    assert (done.scrapped, order.good_total, order.scrap_total) == (12, 0, 12)
    scrapped = rig.service.lot("PO-1-1")
    assert (scrapped.state, scrapped.good, scrapped.scrap) == ("scrapped", 0, 12)
    assert {"LotScrapped", "OrderProgressed"} <= {e.kind for e in events}
    (next_lot, _) = rig.service.lots(order="PO-1")
    assert (next_lot.id, next_lot.state) == ("PO-1-2", "open"), "the order's parts go on"
    rig.book(5, at_s=200)
    assert rig.service.lot("PO-1-2").good == 5


def test_a_rule_holding_the_order_keeps_todays_behaviour_and_records_the_lot(
    engine: sa.Engine,
) -> None:
    rig = Rig(engine)
    rig.start()
    rig.run(violation(30, GAP))
    (nc,) = rig.service.list()
    assert (nc.lot, nc.hold_target, nc.held) == ("PO-1-1", "order", True)
    assert rig.mom.order("PO-1").state == "paused"
    assert rig.service.lot("PO-1-1").state == "open"
    rig.service.dispose(nc.id, "rework", by="qa")
    assert rig.mom.order("PO-1").state == "running"


def test_a_lot_code_tag_starts_lots_with_its_codes(engine: sa.Engine) -> None:
    rig = Rig(engine, extra="  lot_codes: [lot_code]\n")
    rig.start()
    assert rig.service.lots() == [], "on a coded asset the tag, not the order, opens lots"

    def codes(*pairs: tuple[int, object]) -> SampleBatch:
        return SampleBatch.from_values([9] * len(pairs), [T0 + s * NS for s, _ in pairs],
                                       [c for _, c in pairs])  # fmt: skip

    rig.run(codes((10, "L-0042"), (20, "L-0042"), (30, "")))
    rig.book(4, at_s=40)
    rig.run(codes((50, "L-0043")))
    newest, first = rig.service.lots()
    assert (first.id, first.order, first.state, first.good) == ("L-0042", "PO-1", "closed", 4)
    assert (newest.id, newest.state, newest.good_from) == ("L-0043", "open", 4)
    rig.run(codes((60, "L-0042"), (61, "L-0042")))  # a code used before: refused, once
    assert rig.loop.counters["lot_codes_refused"] == 1
    assert rig.service.read(lambda uow: uow.lots.filling_on(WELD)).id == "L-0043"
    rig.run(violation(70))
    (nc,) = rig.service.list()
    assert (nc.lot, rig.service.lot("L-0043").state) == ("L-0043", "on_hold")


def test_parts_booked_before_the_loop_takes_the_start_belong_to_the_first_lot(
    engine: sa.Engine,
) -> None:
    rig = Rig(engine)
    started = rig.mom.transition("PO-1", "running", asset=WELD)[1]
    rig.book(6, at_s=1)  # the bus delivers the start to the loop a moment later
    rig.run(*started)
    assert rig.service.lot("PO-1-1").good == 6


def test_an_order_that_ended_before_the_loop_took_its_start_still_has_its_lot(
    engine: sa.Engine,
) -> None:
    rig = Rig(engine)
    started = rig.mom.transition("PO-1", "running", asset=WELD)[1]
    ended = rig.book(100, at_s=1)
    assert rig.mom.order("PO-1").state == "completed"
    rig.run(*started, *ended)
    (lot,) = rig.service.lots(order="PO-1")
    assert (lot.id, lot.state, lot.good) == ("PO-1-1", "closed", 100)


def test_the_erp_connector_delivers_the_lot_hold_and_release_once(
    engine: sa.Engine, tmp_path: Path
) -> None:
    rig = Rig(engine)
    rig.start()
    rig.run(*(violation(s) for s in range(10, 20)))
    (nc,) = rig.service.list()
    rig.clock.advance_to(T0 + 60 * NS)
    rig.service.dispose(nc.id, "rework", by="qa")
    dispatcher = file_drop_dispatcher(rig.engine, tmp_path / "erp")
    asyncio.run(deliver_all(dispatcher))
    lines = [
        json.loads(line)
        for f in sorted((tmp_path / "erp" / "jsonl").iterdir())
        for line in f.read_text().splitlines()
    ]
    lots = sorted(
        (m["payload"] for m in lines if m["kind"].startswith("Lot")), key=lambda p: p["ts_ns"]
    )
    assert [(p["kind"], p["subject"], p["order"], p["nonconformance"], p["by"]) for p in lots] == [
        ("LotHeld", "PO-1-1", "PO-1", nc.id, "loop:quality"),
        ("LotReleased", "PO-1-1", "PO-1", nc.id, "qa"),
    ]  # fmt: skip
    (opened,) = [m["payload"] for m in lines if m["kind"] == "NonconformanceOpened"]
    assert (opened["lot"], opened["hold_target"], opened["hold"]) == ("PO-1-1", "lot", True)


def test_a_lot_released_by_hand_is_left_as_it_is_by_the_disposition(engine: sa.Engine) -> None:
    rig = Rig(engine)
    rig.start()
    rig.book(8, at_s=5)
    rig.run(violation(30))
    (nc,) = rig.service.list()
    rig.service.release_lot("PO-1-1", by="qa-lead", reason="lab re-measured")
    with pytest.raises(InvalidNonconformanceError, match="give the quantity"):
        rig.service.dispose(nc.id, "scrap", by="qa")
    done, events = rig.service.dispose(nc.id, "use_as_is", by="qa")
    assert (done.state, done.held) == ("closed", False)
    assert [e.kind for e in events] == ["NonconformanceDispositioned"]
    lot = rig.service.lot("PO-1-1")
    assert (lot.state, lot.history[-1]["by"]) == ("released", "qa-lead")


def test_a_resume_on_another_asset_opens_the_next_lot_and_a_cancel_ends_it(
    engine: sa.Engine,
) -> None:
    rig = Rig(engine)
    rig.start()
    rig.book(3, at_s=1)
    paused = rig.mom.transition("PO-1", "paused")[1]
    rig.run(*paused)
    assert rig.service.lot("PO-1-1").state == "open", "a pause keeps the lot"
    rig.clock.advance_to(T0 + 100 * NS)
    rig.run(*rig.mom.transition("PO-1", "running", asset=OTHER)[1])
    second, first = rig.service.lots(order="PO-1")
    assert (first.id, first.state, first.good) == ("PO-1-1", "closed", 3)
    assert (second.id, second.asset, second.state, second.good_from) == (
        "PO-1-2", OTHER, "open", 3,
    )  # fmt: skip
    rig.run(*rig.mom.transition("PO-1", "cancelled")[1])
    assert rig.service.lot("PO-1-2").state == "closed"


def test_a_lot_whose_order_ended_unseen_by_the_loop_reads_as_ended(engine: sa.Engine) -> None:
    rig = Rig(engine)
    rig.start()
    rig.book(100, at_s=10)  # its completion never reaches the loop (the bus was closing)
    lot = rig.service.lot("PO-1-1")
    assert (lot.state, lot.good, lot.closed_ns) == ("closed", 100, T0 + 109 * NS)
    rig.service.hold_lot("PO-1-1", by="qa", reason="complaint")  # a writing unit saves it
    stored = rig.service.read(lambda uow: uow.lots.get("PO-1-1"))
    assert (stored.state, stored.closed_ns) == ("on_hold", T0 + 109 * NS)
    assert [h["to"] for h in stored.history] == ["open", "closed", "on_hold"]
