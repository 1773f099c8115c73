"""The maintenance loop end to end on SQLite and PostgreSQL, with the CP-SAT scheduler,
a STARTTLS mail server and a webhook receiver that is down at first: an anomaly on a
busy CNC becomes exactly one predictive work order with its evidence, the station and
maintenance are told (each alert delivered once), and the replan leaves no operation on
that machine during the window; an escalation adds evidence to the same work order; a
closed one is linked as a possible repeat; a healthy machine gets nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from plantos.analytics.anomaly.events import AnomalyEscalated, AnomalyRaised, Evidence
from plantos.core.clock import ManualClock, WallClock
from plantos.core.events import Event
from plantos.integration.channels.config import build_channel
from plantos.integration.notify import store
from plantos.integration.notify.config import notification_config
from plantos.integration.notify.dispatcher import Dispatcher
from plantos.integration.notify.routing import Router
from plantos.loops.maintenance import TRIGGER, MaintenanceLoop
from plantos.model import Plant, load_plant_text
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.master import AssetOption, Product, Routing, RoutingStep
from plantos.mom.maintenance.policy import maintenance_policy
from plantos.mom.maintenance.service import MaintenanceService
from plantos.mom.masterdata import MasterData
from plantos.mom.planner import Planner
from plantos.mom.planning import installed_scheduler
from plantos.mom.service import MomService
from tests.support.mosquitto import free_port
from tests.support.receivers import SECRET, Mailbox, Receiver, mail_server, serving

pytestmark = pytest.mark.timeout(120)

NS = 1_000_000_000
T0 = 1_767_589_200 * NS  # 2026-01-05T05:00:00Z
LINE = "p/machining/line-1"
CNC7, CNC1 = f"{LINE}/cnc-07", f"{LINE}/cnc-01"
PLANT = """\
plantos: 1
enterprise: {{id: acme}}
asset_types:
  cnc-mill:
    tags: [{{signal: spindle_vibration, unit: mm/s, range: [0, 40]}}]
sites:
  - id: p
    areas:
      - id: machining
        lines:
          - id: line-1
            assets:
              - {{id: cnc-07, type: cnc-mill, criticality: critical}}
              - {{id: cnc-01, type: cnc-mill}}
maintenance: {{auto_approve: 2, window: 2h, notice: 30m, margin: 1h}}
notifications:
  channels:
    - {{kind: email, name: maintenance-mail, host: 127.0.0.1, port: {mail_port},
       sender: plantos@acme.example, ca_file: {ca_file}, timeout_s: 5}}
    - {{kind: webhook, name: maintenance-hook, url: "http://127.0.0.1:{hook_port}/alerts",
       secret_env: PLANTOS_TEST_ALERT_SECRET, timeout_s: 5}}
  roles:
    maintenance:
      - {{channel: maintenance-mail, to: maintenance@acme.example}}
      - {{channel: maintenance-hook}}
  rules:
    - {{kinds: [WorkOrderOpened, WorkOrderUpdated], to: [station]}}
    - {{kinds: [WorkOrderOpened], priority_at_most: 2, to: [maintenance]}}
"""


@dataclass
class Rig:
    plant: Plant
    mom: MomService
    planner: Planner
    service: MaintenanceService
    loop: MaintenanceLoop
    dispatcher: Dispatcher
    triggers: list[tuple[str, str]]
    mailbox: Mailbox
    hook_port: int


@pytest.fixture
def rig(engine: sa.Engine, tmp_path: Path) -> Iterator[Rig]:
    scheduler = installed_scheduler()
    if scheduler is None:
        pytest.skip("the CP-SAT scheduler (ortools) is not installed")
    with mail_server(tmp_path) as (mailbox, mail_port, ca_file):
        hook_port = free_port()
        plant = load_plant_text(
            PLANT.format(mail_port=mail_port, ca_file=ca_file, hook_port=hook_port)
        )
        clock = ManualClock(T0)
        mom = MomService(engine, clock=clock, assets=plant.assets)
        routing = Routing(
            "shaft", "shaft",
            (RoutingStep("mill", (AssetOption(CNC7, 300, 60.0), AssetOption(CNC1, 300, 90.0))),),
        )  # fmt: skip
        mom.seed_master_data(
            MasterData({"shaft": Product("shaft", "Shaft", "shaft")}, {"shaft": routing})
        )
        mom.create_orders(
            [NewOrder(f"PO-{i:02d}", "shaft", 40, T0 + (10 + i) * 3600 * NS) for i in range(16)]
        )
        planner = Planner(mom, plant, scheduler, frozen_horizon_ns=0, time_limit_s=2.0)
        policy = maintenance_policy(plant)
        config = notification_config(plant)
        service = MaintenanceService(
            engine, clock=clock, catalogue=policy.catalogue,
            asset_types={p: a.type for p, a in plant.assets.items()},
        )  # fmt: skip
        environ = {"PLANTOS_TEST_ALERT_SECRET": SECRET.decode()}
        channels = {
            s.name: build_channel(s, clock=WallClock(), environ=environ) for s in config.channels
        }
        wall = ManualClock(int(datetime(2026, 3, 2, tzinfo=UTC).timestamp()) * NS)
        dispatcher = Dispatcher(engine, channels, wall=wall, retry=config.retry)
        triggers: list[tuple[str, str]] = []
        loop = MaintenanceLoop(
            service=service, replan=lambda kind, asset: triggers.append((kind, asset)),
            plans=mom.plans, plant=plant, policy=policy,
            router=Router(config.rules, config.roles), notify=dispatcher.wake.set,
        )  # fmt: skip
        planner.blocked = loop.blocked
        yield Rig(plant, mom, planner, service, loop, dispatcher, triggers, mailbox, hook_port)


def anomaly(kind: type[Event], at_s: int, *, low_h: float, asset: str = CNC7) -> Event:
    extra = {"previous": "warning"} if kind is AnomalyEscalated else {}
    return kind(  # type: ignore[call-arg]
        ts_ns=T0 + at_s * NS, subject=asset, score=54.0,
        severity="alarm" if extra else "warning", severity_rank=2 if extra else 1,
        detector="hotelling", time_to_threshold_s=20 * 3600.0,
        time_to_threshold_low_s=low_h * 3600, **extra,
        evidence=(Evidence("band_2500_3500hz", 1.12, 0.07, 21.1, "beyond its healthy range"),),
    )  # fmt: skip


def test_an_anomaly_becomes_one_work_order_alerts_and_a_blocked_window(rig: Rig) -> None:
    first, _ = rig.planner.replan("orders released", now_ns=T0)
    assert first is not None
    on_cnc7 = {o.order_id for o in rig.mom.plans()[0].on_asset(CNC7)}
    assert on_cnc7, "the plan uses the faster machine"

    reaction = (
        asyncio.run(rig.loop.handle(anomaly(AnomalyRaised, 60, low_h=6.0)))
        or rig.loop.reactions[-1]
    )
    (order,) = rig.service.list()
    assert (order.asset, order.kind, order.state, order.failure_mode) == (
        CNC7, "predictive", "scheduled", "VIB",
    )  # fmt: skip
    assert order.priority <= 2 and order.evidence[0]["features"][0]["feature"] == "band_2500_3500hz"
    assert set(order.affected_orders) == on_cnc7
    assert order.window is not None and order.estimated_failure_ns is not None
    assert order.window.start_ns >= T0 + 60 * NS + 30 * 60 * NS  # the notice
    assert order.window.end_ns <= order.estimated_failure_ns - 3600 * NS  # the margin
    assert [t["by"] for t in order.transitions] == ["loop:maintenance"] * 3
    assert rig.triggers == [(TRIGGER, CNC7)]

    # the machine is busy up to the failure: the window takes planned work
    start_s, end_s = order.window.start_ns // NS, order.window.end_ns // NS
    in_window = [
        o for o in rig.mom.plans()[0].on_asset(CNC7) if o.start_s < end_s and start_s < o.end_s
    ]
    assert in_window
    # the planner closes the window; the loop checks the published plan
    change, events = rig.planner.replan(TRIGGER, asset=CNC7, now_ns=T0 + 60 * NS)
    assert change is not None and change.moved, "operations left the window"
    (published,) = [e for e in events if e.kind == "ScheduleChanged"]
    asyncio.run(rig.loop.handle(published))
    reaction = rig.loop.reactions[-1]
    assert reaction.operations_in_window == 0 and reaction.schedule_published_ms is not None
    assert not [
        o for o in rig.mom.plans()[0].on_asset(CNC7) if o.start_s < end_s and start_s < o.end_s
    ]

    # station and maintenance are told; the webhook receiver is down, then comes back
    receiver = Receiver()

    async def deliver() -> None:
        await rig.dispatcher.run_once()
        assert isinstance(rig.dispatcher.wall, ManualClock)
        rig.dispatcher.wall.advance_to(rig.dispatcher.wall.now_ns() + 600 * NS)
        with serving(receiver, rig.hook_port):
            await rig.dispatcher.run_once()
            await rig.dispatcher.run_once()
        await rig.dispatcher.close()

    asyncio.run(deliver())
    states = sorted((n.channel, n.state) for n in store.listing(rig.service.engine))
    assert states == [
        ("maintenance-hook", "delivered"), ("maintenance-mail", "delivered"), ("station", "open"),
    ]  # fmt: skip
    assert len(rig.mailbox.received) == 1 and order.id.encode() in rig.mailbox.received[0][1]
    assert receiver.requests == 1
    assert [e["payload"]["work_order"] for e in receiver.effects.values()] == [order.id]


def test_an_escalation_updates_the_open_work_order_and_brings_its_window_forward(
    rig: Rig,
) -> None:
    rig.planner.replan("orders released", now_ns=T0)
    asyncio.run(rig.loop.handle(anomaly(AnomalyRaised, 60, low_h=12.0)))
    (before,) = rig.service.list()
    asyncio.run(rig.loop.handle(anomaly(AnomalyEscalated, 600, low_h=4.0)))
    (after,) = rig.service.list()
    assert after.id == before.id and len(after.evidence) == 2
    assert after.evidence[-1]["severity"] == "alarm" and after.priority <= before.priority
    assert after.window is not None and after.estimated_failure_ns is not None
    assert after.window.end_ns <= after.estimated_failure_ns - 3600 * NS
    station = store.listing(rig.service.engine, station=LINE)
    assert {n.kind for n in station} == {"WorkOrderOpened", "WorkOrderUpdated"}
    assert [k for k, _ in rig.triggers] == [TRIGGER, TRIGGER]
    # a failure now expected sooner than any window can be: the window in hand stays
    asyncio.run(rig.loop.handle(anomaly(AnomalyEscalated, 1200, low_h=0.5)))
    (last,) = rig.service.list()
    assert last.window == after.window and len(last.evidence) == 3
    assert len(rig.triggers) == 2


def test_a_recently_closed_job_is_linked_as_a_repeat_and_healthy_machines_get_nothing(
    rig: Rig,
) -> None:
    asyncio.run(rig.loop.handle(anomaly(AnomalyRaised, 60, low_h=6.0)))
    (first,) = rig.service.list()
    rig.service.transition(first.id, "in_progress", by="carl")
    rig.service.transition(first.id, "done", by="carl", remedy="spindle bearing replaced")
    asyncio.run(rig.loop.handle(anomaly(AnomalyRaised, 7200, low_h=6.0)))
    second = next(o for o in rig.service.list() if o.id != first.id)
    assert second.repeat_of == first.id and second.last_service_ns is not None
    assert (
        asyncio.run(rig.loop.react(anomaly(AnomalyRaised, 60, low_h=6.0, asset="p/x/y/z"))) is None
    )  # type: ignore[arg-type]
    assert rig.service.list(asset=CNC1) == []
    assert not [n for n in store.listing(rig.service.engine) if n.asset == CNC1]


def test_a_window_moves_after_a_running_job_the_planner_cannot_move(rig: Rig) -> None:
    rig.planner.replan("orders released", now_ns=T0)
    rig.mom.create_orders([NewOrder("PO-RUN", "shaft", 100, T0 + 20 * 3600 * NS)])
    rig.mom.transition("PO-RUN", "running", asset=CNC7)  # 100 min of work left on the machine
    asyncio.run(rig.loop.handle(anomaly(AnomalyRaised, 60, low_h=6.0)))
    for _ in range(2):
        _, events = rig.planner.replan(TRIGGER, asset=CNC7, now_ns=T0 + 60 * NS)
        (published,) = [e for e in events if e.kind == "ScheduleChanged"]
        asyncio.run(rig.loop.handle(published))
    reaction = rig.loop.reactions[-1]
    assert reaction.window_moves == 1 and reaction.operations_in_window == 0
    (order,) = rig.service.list()
    running = [o for o in rig.mom.plans()[0].on_asset(CNC7) if o.order_id == "PO-RUN"]
    assert order.window is not None and order.window.start_ns == running[0].end_s * NS
    assert [k for k, _ in rig.triggers] == [TRIGGER, TRIGGER]
