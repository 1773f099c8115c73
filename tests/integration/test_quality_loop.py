"""The quality loop end to end on SQLite and PostgreSQL, with a real webhook receiver for
the quality role: a flood of SPC violations and failed inspections becomes one
nonconformance per characteristic and order, the running order is held where the rules
say so, quality is told once, and dispositions release the hold or book the scrap, all
in the transaction of their outbox rows; a refused disposition changes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from plantos.analytics.spc.events import SpcViolation
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock, WallClock
from plantos.core.quality import BAD
from plantos.integration.channels.config import build_channel
from plantos.integration.erp.file_drop_demo import deliver_all, file_drop_dispatcher
from plantos.integration.notify import store
from plantos.integration.notify.config import Rule, notification_config
from plantos.integration.notify.dispatcher import Dispatcher
from plantos.integration.notify.routing import Router
from plantos.loops.quality import QualityLoop
from plantos.model import Plant, load_plant_text
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.domain.master import AssetOption, Product, Routing, RoutingStep
from plantos.mom.errors import CountRejectedError
from plantos.mom.masterdata import MasterData
from plantos.mom.quality.errors import IllegalDispositionError, InvalidNonconformanceError
from plantos.mom.quality.policy import quality_policy
from plantos.mom.quality.service import QualityService
from plantos.mom.service import MomService
from plantos.mom.store import open_engine, resolve_url, upgrade
from plantos.mom.store import tables as t
from tests.support.mom_db import mom_database
from tests.support.mosquitto import free_port
from tests.support.receivers import SECRET, Receiver, serving

pytestmark = pytest.mark.timeout(120)

NS = 1_000_000_000
T0 = 1_767_589_200 * NS
WELD = "p/welding/weld-line/weld-cell-1"
CURRENT, INSPECTION = f"{WELD}/weld_current", f"{WELD}/inspection_passed"
PLANT = """\
plantos: 1
enterprise: {{id: acme}}
asset_types:
  weld-cell:
    tags:
      - {{signal: weld_current, unit: A, range: [0, 400]}}
      - {{signal: inspection_passed, type: bool}}
sites:
  - id: p
    areas:
      - id: welding
        lines:
          - id: weld-line
            assets: [{{id: weld-cell-1, type: weld-cell}}]
quality:
  inspections: [inspection_passed]
  hold_on: [spc_violation]
  rules:
    - {{match: "*/inspection_passed", hold_on: [failed_inspection], scrap_releases_hold: false}}
notifications:
  channels:
    - {{kind: webhook, name: quality-hook, url: "http://127.0.0.1:{hook_port}/nc",
       secret_env: PLANTOS_TEST_ALERT_SECRET, timeout_s: 5}}
  roles:
    quality: [{{channel: quality-hook}}]
"""


@dataclass
class Rig:
    plant: Plant
    engine: sa.Engine
    clock: ManualClock
    mom: MomService
    service: QualityService
    loop: QualityLoop
    dispatcher: Dispatcher
    hook_port: int


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    with mom_database(request.param, tmp_path) as url:
        engine = open_engine(resolve_url(url, data_dir=tmp_path))
        upgrade(engine)
        yield engine
        engine.dispose()


def build(
    plant: Plant, engine: sa.Engine, clock: ManualClock, mom: MomService, *, counted: bool = False
) -> QualityLoop:
    policy = quality_policy(plant)
    config = notification_config(plant)
    service = QualityService(engine, clock=clock, policy=policy, counting=mom.policy)
    rules = [*config.rules, Rule(kinds=["NonconformanceOpened"], to=list(policy.notify))]
    return QualityLoop(
        service=service, plant=plant, router=Router(rules, config.roles),
        inspections={7: INSPECTION}, counted={INSPECTION} if counted else set(),
    )  # fmt: skip


@pytest.fixture
def rig(engine: sa.Engine) -> Rig:
    hook_port = free_port()
    plant = load_plant_text(PLANT.format(hook_port=hook_port))
    clock = ManualClock(T0)
    mom = MomService(engine, clock=clock, assets=plant.assets)
    routing = Routing("frame", "frame", (RoutingStep("weld", (AssetOption(WELD, 0, 40.0),)),))
    mom.seed_master_data(
        MasterData({"frame": Product("frame", "Frame", "frame")}, {"frame": routing})
    )
    mom.create_orders([NewOrder(f"PO-{i}", "frame", 100, T0 + 3600 * NS) for i in (1, 2)])
    mom.transition("PO-1", "running", asset=WELD)
    channels = {
        s.name: build_channel(
            s, clock=WallClock(), environ={"PLANTOS_TEST_ALERT_SECRET": SECRET.decode()}
        )
        for s in notification_config(plant).channels
    }
    dispatcher = Dispatcher(
        engine, channels, wall=WallClock(), retry=notification_config(plant).retry
    )
    loop = build(plant, engine, clock, mom)
    return Rig(plant, engine, clock, mom, loop.service, loop, dispatcher, hook_port)


def violation(at_s: int, *, phase: str = "monitoring") -> SpcViolation:
    return SpcViolation(
        ts_ns=T0 + at_s * NS, subject=CURRENT, rule=1, rule_set="nelson", chart="xbar_r",
        statistic="xbar", point_ts_ns=(T0 + at_s * NS,), point_values=(231.0,),
        center=200.0, lcl=190.0, ucl=210.0, phase=phase,
    )  # fmt: skip


def inspections(values: list[float], *, bad: int | None = None) -> SampleBatch:
    n = len(values)
    quality = np.zeros(n, dtype=np.uint32)
    if bad is not None:
        quality[bad] = BAD
    return SampleBatch(
        np.array([7] * n, dtype=np.int32), T0 + np.arange(n, dtype=np.int64) * 40 * NS,
        np.array(values, dtype=np.float64), quality,
    )  # fmt: skip


def outbox(engine: sa.Engine) -> list[str]:
    with engine.connect() as c:
        return sorted(r.kind for r in c.execute(sa.select(t.outbox.c.kind)))


def run(rig: Rig, *messages: object) -> None:
    async def go() -> None:
        for m in messages:
            await rig.loop.handle(m)

    asyncio.run(go())


def test_a_flood_of_violations_is_one_nonconformance_that_holds_the_order_and_tells_quality_once(
    rig: Rig,
) -> None:
    run(rig, *(violation(s) for s in range(0, 600, 3)))
    (nc,) = rig.service.list()
    assert (nc.characteristic, nc.asset, nc.trigger, nc.order, nc.state, nc.held) == (
        CURRENT, WELD, "spc_violation", "PO-1", "open", True,
    )  # fmt: skip
    assert nc.occurrences == 200 and len(nc.evidence) == 50 and nc.evidence[-1]["values"] == [231.0]
    assert rig.mom.order("PO-1").state == "paused", "the running order is on hold"
    assert [r.opened for r in rig.loop.reactions].count(True) == 1
    # quality is told, once, over the real webhook
    receiver = Receiver()

    async def deliver() -> None:
        with serving(receiver, rig.hook_port):
            await rig.dispatcher.run_once()
        await rig.dispatcher.close()

    asyncio.run(deliver())
    (note,) = store.listing(rig.engine)
    assert (note.channel, note.kind, note.reference, note.state) == (
        "quality-hook", "NonconformanceOpened", nc.id, "delivered",
    )  # fmt: skip
    assert [e["payload"]["nonconformance"] for e in receiver.effects.values()] == [nc.id]
    assert outbox(rig.engine).count("NonconformanceOpened") == 1
    assert "OrderStateChanged" in outbox(rig.engine), "the hold left in the same commit"


def test_use_as_is_releases_the_hold_and_the_order_runs_again(rig: Rig) -> None:
    run(rig, violation(0), violation(5))
    (nc,) = rig.service.list()
    rig.clock.advance_to(T0 + 900 * NS)
    done, events = rig.service.dispose(nc.id, "use_as_is", by="qa-anna", note="within drawing")
    assert (done.state, done.disposition, done.held, done.scrapped) == (
        "closed",
        "use_as_is",
        False,
        0,
    )
    assert rig.mom.order("PO-1").state == "running"
    assert sorted(e.kind for e in events) == ["NonconformanceDispositioned", "OrderStateChanged"]
    assert done.history[-1] == {
        "to": "closed", "disposition": "use_as_is", "by": "qa-anna", "at_ns": T0 + 900 * NS,
        "scrapped": 0, "hold_released": True, "note": "within drawing",
    }  # fmt: skip
    # a new violation after the disposition opens a new nonconformance
    run(rig, violation(1000))
    assert len(rig.service.list(states=["open"])) == 1 and len(rig.service.list()) == 2


def test_rework_releases_and_is_recorded(rig: Rig) -> None:
    run(rig, violation(0))
    (nc,) = rig.service.list()
    done, _ = rig.service.dispose(nc.id, "rework", by="qa-anna", note="regrind seam")
    assert (done.disposition, rig.mom.order("PO-1").state) == ("rework", "running")
    assert rig.service.get(nc.id).history[-1]["disposition"] == "rework"


def test_failed_inspections_count_parts_and_a_scrap_disposition_books_them(rig: Rig) -> None:
    mom = rig.mom
    mom.book([Count("machine", WELD, T0 + i * NS, good=1) for i in range(10)])
    run(rig, inspections([1, 0, 1, 0, 0, 1]), inspections([0], bad=0))
    (nc,) = rig.service.list()
    assert (nc.characteristic, nc.trigger, nc.quantity, nc.occurrences) == (
        INSPECTION, "failed_inspection", 3, 3,
    ), "three failed inspections; a Bad sample is no inspection"  # fmt: skip
    assert nc.held and mom.order("PO-1").state == "paused"

    done, events = rig.service.dispose(nc.id, "scrap", by="qa-anna")
    order = mom.order("PO-1")
    assert (done.scrapped, order.good_total, order.scrap_total) == (3, 7, 3)
    assert order.state == "paused" and done.held, "the rule keeps the hold after scrap"
    assert sorted(e.kind for e in events) == ["NonconformanceDispositioned", "OrderProgressed"]
    assert "NonconformanceDispositioned" in outbox(rig.engine)


def test_bad_dispositions_are_refused_with_the_reason_and_change_nothing(rig: Rig) -> None:
    run(rig, violation(0))
    (nc,) = rig.service.list()
    before = outbox(rig.engine)
    with pytest.raises(InvalidNonconformanceError, match="disposition must be one of"):
        rig.service.dispose(nc.id, "bin_it", by="qa")
    with pytest.raises(InvalidNonconformanceError, match="give the quantity"):
        rig.service.dispose(nc.id, "scrap", by="qa")  # an SPC finding counts no parts
    with pytest.raises(CountRejectedError, match="only 0 of them were counted good"):
        rig.service.dispose(nc.id, "scrap", by="qa", quantity=5)
    assert rig.service.get(nc.id).state == "open" and rig.mom.order("PO-1").state == "paused"
    assert outbox(rig.engine) == before, "nothing half-written"
    rig.service.dispose(nc.id, "use_as_is", by="qa")
    with pytest.raises(IllegalDispositionError, match="was closed already \\(use_as_is\\)"):
        rig.service.dispose(nc.id, "rework", by="qa")


def test_the_hold_is_released_only_when_the_last_nonconformance_on_the_order_closes(
    rig: Rig,
) -> None:
    run(rig, violation(0), inspections([0]))
    spc, insp = sorted(rig.service.list(), key=lambda n: n.trigger, reverse=True)
    assert (spc.order, insp.order) == ("PO-1", "PO-1") and spc.held and insp.held
    rig.service.dispose(spc.id, "use_as_is", by="qa")
    assert rig.mom.order("PO-1").state == "paused", "the inspection still holds it"
    rig.service.dispose(insp.id, "rework", by="qa")
    assert rig.mom.order("PO-1").state == "running"


def test_a_baseline_violation_or_unknown_tag_opens_nothing(rig: Rig) -> None:
    run(rig, violation(0, phase="baseline"), replace(violation(1), subject=f"{WELD}/nothing"))
    assert rig.service.list() == [] and rig.loop.counters["violations_ignored"] == 2
    assert rig.mom.order("PO-1").state == "running"


def test_open_nonconformances_survive_a_restart(rig: Rig) -> None:
    run(rig, violation(0))
    (nc,) = rig.service.list()
    again = build(rig.plant, rig.engine, rig.clock, rig.mom)  # a new process, same database
    asyncio.run(again.handle(violation(30)))
    (same,) = again.service.list()
    assert same.id == nc.id and same.occurrences == 2


def test_failures_the_counters_book_as_scrap_add_no_part_to_scrap_again(rig: Rig) -> None:
    loop = build(rig.plant, rig.engine, rig.clock, rig.mom, counted=True)
    asyncio.run(loop.handle(inspections([0, 0])))
    (nc,) = loop.service.list()
    assert (nc.occurrences, nc.quantity, nc.evidence[0]["booked_as_scrap"]) == (2, 0, True)
    with pytest.raises(InvalidNonconformanceError, match="give the quantity"):
        loop.service.dispose(nc.id, "scrap", by="qa")


def test_the_erp_connector_delivers_the_hold_and_the_disposition_once(
    rig: Rig, tmp_path: Path
) -> None:
    run(rig, *(violation(s) for s in range(20)))
    (nc,) = rig.service.list()
    rig.clock.advance_to(T0 + 60 * NS)
    rig.service.dispose(nc.id, "use_as_is", by="qa")
    dispatcher = file_drop_dispatcher(rig.engine, tmp_path / "erp")
    asyncio.run(deliver_all(dispatcher))
    lines = [
        json.loads(line)
        for f in sorted((tmp_path / "erp" / "jsonl").iterdir())
        for line in f.read_text().splitlines()
    ]
    quality = sorted(  # the files are named by idempotency key: order by time
        (m for m in lines if m["kind"].startswith("Nonconformance")),
        key=lambda m: m["payload"]["ts_ns"],
    )
    assert [(m["kind"], m["payload"]["subject"]) for m in quality] == [
        ("NonconformanceOpened", nc.id), ("NonconformanceDispositioned", nc.id),
    ]  # fmt: skip
    assert quality[0]["payload"]["hold"] is True and quality[0]["payload"]["order"] == "PO-1"
    status = [m["payload"] for m in lines if m["kind"] == "order_status"]
    moves = sorted((p["changed"], p["previous"], p["state"]) for p in status)
    assert [(a, b) for _, a, b in moves][-2:] == [("running", "paused"), ("paused", "running")]
