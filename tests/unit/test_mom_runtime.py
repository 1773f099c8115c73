"""The operations consumers on a real in-process bus: counts booked from counter batches,
breakdowns and repairs replanned each as of its own time, the order of a machine that went
down paused with exactly the parts made before it. Planning uses the small stand-in
scheduler of tests/support."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from plantos.analytics.config import analytics_spec
from plantos.bus.memory import MemoryBus
from plantos.bus.protocol import EVENTS, SAMPLES
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.core.events import Event, MachineStateChanged
from plantos.model import load_plant_text
from plantos.mom.counters import CounterReader
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.domain.events import ScheduleChanged
from plantos.mom.domain.master import AssetOption, Product, Routing, RoutingStep
from plantos.mom.domain.plan import PlannedOperation, PublishedPlan
from plantos.mom.masterdata import MasterData
from plantos.mom.planner import Planner
from plantos.mom.runtime import MomRuntime
from plantos.mom.service import MomService
from plantos.mom.store import open_engine, resolve_url, upgrade
from tests.support.mom_scheduler import SCHEDULER
from tests.support.server import MIXER_OEE_PLANT
from tests.support.waiting import until

NS = 1_000_000_000
T0 = 1_767_589_200 * NS
M1, M2 = "site-1/mixing/line-1/mixer-1", "site-1/mixing/line-1/mixer-2"


def build(
    tmp_path: Path, *, engine: sa.Engine | None = None
) -> tuple[MomRuntime, MemoryBus, dict[str, int], list[Event]]:
    """The runtime on a SQLite file in ``tmp_path``, or on ``engine`` (migrated)."""
    plant = load_plant_text(MIXER_OEE_PLANT)
    ids = {p: i for i, p in enumerate(plant.tags)}
    if engine is None:
        engine = open_engine(resolve_url("sqlite:///mom.sqlite", data_dir=tmp_path))
        upgrade(engine)
    service = MomService(engine, clock=ManualClock(T0), assets=plant.assets)
    step = RoutingStep("mix", (AssetOption(M1, 0, 60.0), AssetOption(M2, 0, 60.0)))
    service.seed_master_data(
        MasterData(
            {"paint": Product("paint", "Paint", "paint")},
            {"paint": Routing("paint", "paint", (step,))},
        )
    )
    _, oee = analytics_spec(plant)
    reader = CounterReader(plant, oee, ids, assets=plant.assets)
    planner = Planner(service, plant, SCHEDULER, frozen_horizon_ns=0)  # type: ignore[arg-type]
    bus = MemoryBus()
    published: list[Event] = []

    async def emit(event: Event) -> None:
        published.append(event)
        if not bus.closed:
            await bus.publish(EVENTS, event)

    return MomRuntime(service, reader, planner, emit=emit), bus, ids, published


def counter(ids: dict[str, int], asset: str, start_s: int, values: list[float]) -> SampleBatch:
    ts = T0 + (start_s + np.arange(len(values))) * NS
    return SampleBatch.of(np.full(len(values), ids[f"{asset}/batches"]), ts, np.array(values))


def started(runtime: MomRuntime, bus: MemoryBus) -> list[asyncio.Task[None]]:
    """The runtime's consumers as tasks, as the platform's supervisor starts them."""
    stages = runtime.stages(bus.subscribe(SAMPLES, name="mom"), bus.subscribe(EVENTS, name="floor"))
    return [asyncio.create_task(consume(), name=name) for name, consume in stages.items()]


async def scenario(runtime: MomRuntime, bus: MemoryBus, ids: dict[str, int]) -> None:
    tasks = started(runtime, bus)
    await bus.publish(SAMPLES, counter(ids, M1, 0, [0.0]))  # the counter's baseline
    await bus.publish(SAMPLES, counter(ids, M1, 10, [1.0, 2.0]))  # starts the order on mixer-1
    await bus.publish(
        EVENTS,
        MachineStateChanged(ts_ns=T0 + 20 * NS, subject=M1, previous="running", state="down"),
    )
    await bus.publish(
        SAMPLES, counter(ids, M1, 15, [3.0])
    )  # made before the breakdown, arrives late
    await bus.publish(
        EVENTS,
        MachineStateChanged(ts_ns=T0 + 600 * NS, subject=M1, previous="down", state="running"),
    )
    await bus.publish(SAMPLES, counter(ids, M1, 601, [3.0]))
    await asyncio.sleep(0.5)
    await bus.close()
    await asyncio.gather(*tasks)


def test_breakdown_pauses_with_the_parts_made_before_it_and_replans(tmp_path: Path) -> None:
    runtime, bus, ids, published = build(tmp_path)
    due = T0 + 3600 * NS
    runtime.service.create_orders([NewOrder("o-1", "paint", 10, due, T0)])
    asyncio.run(scenario(runtime, bus, ids))
    order = runtime.service.order("o-1")
    assert order.good_total == 3  # two, then one made at 15 s that arrived after the pause
    assert order.state == "paused"
    assert order.runs == [[M1, T0 + 10 * NS, T0 + 20 * NS]]
    by_trigger: dict[str, Any] = {c.trigger: c for c in runtime.changes}
    down, back = by_trigger["asset down"], by_trigger["asset back"]
    assert (down.at_ns, down.asset, down.down) == (T0 + 20 * NS, M1, (M1,))
    assert down.planned_on_down == 0
    assert (back.at_ns, back.down) == (T0 + 600 * NS, ())
    kinds = [e.kind for e in published]
    assert kinds.count("ScheduleChanged") == len(runtime.changes) and "OrderProgressed" in kinds
    assert runtime.metrics()["parts_booked"] == 3


def test_counts_with_no_order_are_counted_not_lost(tmp_path: Path) -> None:
    runtime, bus, ids, _ = build(tmp_path)

    async def run() -> None:
        tasks = started(runtime, bus)
        await bus.publish(SAMPLES, counter(ids, M2, 0, [5.0, 6.0, 8.0]))
        await bus.close()
        await asyncio.gather(*tasks)

    asyncio.run(run())
    assert runtime.metrics()["unassigned_parts"] == {"no order for the asset": 3}


def test_counts_queued_while_a_booking_ran_are_booked_together_and_all(tmp_path: Path) -> None:
    """Batches that wait in the queue are booked in one transaction each time, so a slow
    commit does not fill the queue and hold the bus; every part still counts once."""
    runtime, bus, ids, _ = build(tmp_path)
    runtime.service.create_orders([NewOrder("o-1", "paint", 100, T0 + 3600 * NS, T0)])
    batches = 40

    async def run() -> None:
        samples = bus.subscribe(SAMPLES, name="mom", maxsize=batches + 1)
        events = bus.subscribe(EVENTS, name="floor")
        await bus.publish(SAMPLES, counter(ids, M1, 0, [0.0]))
        for i in range(1, batches + 1):
            await bus.publish(SAMPLES, counter(ids, M1, i, [float(i)]))
        stages = runtime.stages(samples, events)
        tasks = [asyncio.create_task(consume()) for consume in stages.values()]
        await bus.close()
        await asyncio.gather(*tasks)

    asyncio.run(run())
    assert runtime.service.order("o-1").good_total == batches
    m = runtime.metrics()
    assert m["parts_booked"] == batches and m["bookings"] == 1


def test_counts_whose_events_cannot_be_published_are_booked_once(tmp_path: Path) -> None:
    """The booking committed, then publishing its events failed: the counts are booked
    and never booked again (the failure is counted), and later counts still are."""
    runtime, bus, ids, _ = build(tmp_path)
    runtime.service.create_orders([NewOrder("o-1", "paint", 100, T0 + 3600 * NS, T0)])
    emit, failures = runtime.emit, []

    async def failing_once(event: Event) -> None:
        if not failures:
            failures.append(event)
            raise RuntimeError("the bus refused the event")
        await emit(event)

    runtime.emit = failing_once

    async def run() -> None:
        tasks = started(runtime, bus)
        await bus.publish(SAMPLES, counter(ids, M1, 0, [0.0, 1.0, 2.0]))
        await until(lambda: runtime.metrics().get("parts_booked", 0) == 2)
        await bus.publish(SAMPLES, counter(ids, M1, 3, [3.0, 4.0]))
        await until(lambda: runtime.metrics()["parts_booked"] == 4)
        await bus.close()
        await asyncio.gather(*tasks)

    asyncio.run(run())
    assert failures and runtime.metrics()["count_errors"] == 1
    assert runtime.service.order("o-1").good_total == 4


def test_a_plan_from_before_a_manual_pause_does_not_resume_the_order(tmp_path: Path) -> None:
    """Someone pauses a running order; the next parts of its machine arrive while the replan
    the pause triggered is still solving. The plan in force was made before the pause: the
    order stays paused. A plan made after the pause that keeps it there may resume it."""
    runtime, _, _, _ = build(tmp_path)
    service, clock = runtime.service, runtime.service.clock
    assert isinstance(clock, ManualClock)
    service.create_orders([NewOrder("o-1", "paint", 10, T0 + 3600 * NS, T0)])

    def plan_at(ns: int) -> PublishedPlan:
        operation = PlannedOperation("o-1", 0, M1, 0, 600)
        return PublishedPlan(ns, "test", None, "test", "OPTIMAL", 0, 600, 0, 1.0, (operation,))

    def schedule_changed(plan_id: int) -> Event:
        return ScheduleChanged(
            ts_ns=clock.now_ns(), subject="plant", trigger="test", plan_id=plan_id
        )

    service.publish_plan(plan_at(T0), schedule_changed)
    service.book([Count("machine", M1, T0 + 5 * NS, 1)])
    assert service.order("o-1").state == "running"
    clock.advance_to(T0 + 10 * NS)
    service.transition("o-1", "paused")
    service.book([Count("machine", M1, T0 + 12 * NS, 1)])
    assert service.order("o-1").state == "paused", "the stale plan resumed a paused order"
    service.publish_plan(plan_at(T0 + 11 * NS), schedule_changed)
    service.book([Count("machine", M1, T0 + 13 * NS, 1)])
    assert service.order("o-1").state == "running"
