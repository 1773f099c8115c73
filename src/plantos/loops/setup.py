"""Wiring the maintenance loop and the notification dispatcher into a platform: the
composition root calls :func:`install_maintenance` once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from plantos.analytics.meters import machine_states, meter_reading
from plantos.analytics.oee.config import OeeSpec
from plantos.bus.pipeline import Pipeline
from plantos.bus.protocol import EVENTS, Bus, Message
from plantos.bus.supervision import Stage
from plantos.core.clock import Clock, WallClock
from plantos.core.errors import ConfigError
from plantos.historian.protocol import Historian
from plantos.integration.channels.base import Channel
from plantos.integration.channels.config import build_channel
from plantos.integration.notify.config import notification_config
from plantos.integration.notify.dispatcher import Dispatcher
from plantos.integration.notify.escalation import Escalator
from plantos.integration.notify.routing import Router
from plantos.loops.maintenance import MaintenanceLoop
from plantos.loops.preventive import PreventiveLoop
from plantos.model import Plant
from plantos.mom.entry.config import entry_config
from plantos.mom.entry.service import EntryService
from plantos.mom.maintenance.errors import InvalidPlanError
from plantos.mom.maintenance.plan_config import PlanSection, build_plan, file_plans
from plantos.mom.maintenance.plans import PreventivePlan
from plantos.mom.maintenance.policy import maintenance_policy
from plantos.mom.maintenance.service import MaintenanceService
from plantos.mom.runtime import MomRuntime

log = logging.getLogger(__name__)


class BusSettings(Protocol):
    """The one setting maintenance reads: the queue size of its notification feed."""

    @property
    def bus_capacity(self) -> int:
        """How many messages a new subscription queues before it pushes back."""


class ClosingBus(Bus, Protocol):
    """A bus that says when it closed: stages without a subscription end then."""

    @property
    def closed(self) -> bool: ...


class OeeHost(Protocol):
    """The analytics' OEE configuration: which machine states each asset has."""

    @property
    def oee_config(self) -> OeeSpec: ...


class MaintenanceHost(Protocol):
    """What maintenance needs of the platform it joins: the plant and its time, the
    operations runtime it replans and shares a database with, and the bus and pipeline
    it adds its two supervised stages to."""

    @property
    def plant(self) -> Plant: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def mom(self) -> MomRuntime: ...

    @property
    def bus(self) -> ClosingBus: ...

    @property
    def pipeline(self) -> Pipeline: ...

    @property
    def settings(self) -> BusSettings: ...

    @property
    def historian(self) -> Historian: ...

    @property
    def analytics(self) -> OeeHost: ...

    def add_consumer(
        self, name: str, topic: str, handler: Callable[[Message], Awaitable[None]]
    ) -> Stage:
        """Run ``handler`` on every message of ``topic`` as a supervised stage."""


@dataclass(frozen=True)
class Maintenance:
    """What the platform runs for maintenance, for the API, the pages and the report."""

    service: MaintenanceService
    loop: MaintenanceLoop
    dispatcher: Dispatcher
    preventive: PreventiveLoop
    plan_of: Callable[[PlanSection], PreventivePlan]
    """A plan written over the API, checked like the plant file's
    (:class:`InvalidPlanError` naming each wrong field)."""
    entry: EntryService
    """Checklists (lock-out/tag-out gates the start of a job) and the entry settings."""


def install_maintenance(platform: MaintenanceHost) -> Maintenance:
    """Build the maintenance service, the loop (a supervised consumer of events) and the
    notification dispatcher (a supervised stage that ends with the bus); the planner
    closes the windows the loop schedules. :class:`ConfigError` for a wrong plant file."""
    plant = platform.plant
    policy = maintenance_policy(plant)
    config = notification_config(plant)
    engine = platform.mom.service.engine
    entry = EntryService(engine, clock=platform.clock, plant=plant, config=entry_config(plant))
    service = MaintenanceService(
        engine,
        clock=platform.clock,
        catalogue=policy.catalogue,
        asset_types={path: asset.type for path, asset in plant.assets.items()},
        before_start=entry.before_start,
    )
    channels: dict[str, Channel] = {}
    unusable: dict[str, str] = {}
    wall = WallClock()
    for spec in config.channels:
        try:
            channels[spec.name] = build_channel(spec, clock=wall)
        except ConfigError as exc:
            unusable[spec.name] = f"channel {spec.name} is not usable: {exc}"
            log.warning("%s", unusable[spec.name])
    escalator = (
        Escalator(engine, config.escalation, config.roles, clock=platform.clock)
        if config.escalation
        else None
    )
    dispatcher = Dispatcher(
        engine, channels, wall=wall, retry=config.retry, unusable=unusable, escalator=escalator
    )
    loop = MaintenanceLoop(
        service=service,
        replan=platform.mom.trigger,
        plans=platform.mom.service.plans,
        plant=plant,
        policy=policy,
        router=Router(config.rules, config.roles),
        notify=dispatcher.wake.set,
    )
    if platform.mom.planner is not None:
        platform.mom.planner.blocked = loop.blocked
    platform.add_consumer("maintenance-loop", EVENTS, loop.handle)
    events = platform.bus.subscribe(EVENTS, name="notify", maxsize=platform.settings.bus_capacity)
    platform.pipeline.add("notify", lambda: dispatcher.follow(events), subscription=events)
    preventive = install_preventive(platform, service, policy.plans, policy.plans_every_ns)
    return Maintenance(
        service,
        loop,
        dispatcher,
        preventive,
        partial(_api_plan, platform.plant, platform.analytics),
        entry,
    )


def install_preventive(
    platform: MaintenanceHost,
    service: MaintenanceService,
    sections: Sequence[PlanSection],
    every_ns: int,
) -> PreventiveLoop:
    """Check the plant file's preventive plans, put them in the database, and run the
    loop that opens their work orders as a supervised stage (first round at start-up)."""
    plant, oee = platform.plant, platform.analytics.oee_config
    plans = file_plans(list(sections), plant, partial(machine_states, plant, oee))

    def meter(plan: PreventivePlan, start_ns: int, end_ns: int) -> float:
        if plan.meter is None:
            return 0.0
        return meter_reading(
            platform.historian, plant, oee, plan.asset, plan.meter, start_ns, end_ns
        )

    preventive = PreventiveLoop(service=service, meter=meter, every_ns=every_ns)
    preventive.sync(plans)
    platform.pipeline.add(
        "preventive",
        lambda: preventive.run(lambda: platform.bus.closed),
        subscription=None,
        detail=preventive.metrics,
    )
    return preventive


def _api_plan(plant: Plant, analytics: OeeHost, section: PlanSection) -> PreventivePlan:
    plan, problems = build_plan(
        section, plant, partial(machine_states, plant, analytics.oee_config), origin="api"
    )
    if plan is None:
        raise InvalidPlanError("; ".join(f"{field}: {message}" for field, message in problems))
    return plan
