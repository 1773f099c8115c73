"""Wiring the quality loop into a platform: the composition root calls
:func:`install_quality` once, after maintenance (whose notification dispatcher it
shares)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from plantos.bus.protocol import EVENTS, SAMPLES, Message
from plantos.bus.supervision import Stage
from plantos.core.clock import Clock
from plantos.integration.notify.config import Rule, notification_config
from plantos.integration.notify.routing import Router
from plantos.loops.quality import QualityLoop
from plantos.loops.setup import OeeHost
from plantos.model import Plant
from plantos.mom.quality.policy import quality_policy
from plantos.mom.quality.service import QualityService
from plantos.mom.runtime import MomRuntime

KINDS = ["NonconformanceOpened"]
LOTS_QUEUE = 4096
"""Events the lots' consumer may have queued (it blocks the publishers beyond): every
order start and end is a write, which may wait behind the counts' transactions while
hundreds of other events pass."""


class QualityHost(Protocol):
    """What quality needs of the platform it joins: the plant, its time and tags, the
    operations runtime it shares a database (and counting rules) with, the wake-up of
    the notification dispatcher, and supervised consumers of the bus."""

    @property
    def plant(self) -> Plant: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def tag_ids(self) -> Mapping[str, int]: ...

    @property
    def mom(self) -> MomRuntime: ...

    @property
    def analytics(self) -> OeeHost: ...

    def add_consumer(
        self,
        name: str,
        topic: str,
        handler: Callable[[Message], Awaitable[None]],
        *,
        maxsize: int | None = None,
    ) -> Stage:
        """Run ``handler`` on every message of ``topic`` as a supervised stage, its queue
        bounded at ``maxsize`` (the platform's bus capacity when ``None``)."""


@dataclass(frozen=True)
class Quality:
    """What the platform runs for quality, for the API, the pages and the report."""

    service: QualityService
    loop: QualityLoop


def install_quality(platform: QualityHost, *, wake: Callable[[], None]) -> Quality:
    """Build the quality service and the loop: supervised consumers of the events (SPC
    violations; order starts and ends for the lots) and, when the plant names inspection
    or lot-code tags, of the samples.
    :class:`ConfigError` for a wrong ``quality`` section."""
    plant = platform.plant
    policy = quality_policy(plant)
    config = notification_config(plant)
    rules = list(config.rules)
    if policy.notify:
        rules.append(Rule(kinds=KINDS, to=list(policy.notify)))
    service = QualityService(
        platform.mom.service.engine,
        clock=platform.clock,
        policy=policy,
        counting=platform.mom.service.policy,
    )
    inspections = {platform.tag_ids[p]: p for p in sorted(policy.inspections)}
    oee = platform.analytics.oee_config
    counted = set()
    for path in inspections.values():
        tag = plant.tags[path]
        spec = oee.for_asset(tag.asset, plant.assets[tag.asset].type)
        if spec is not None and spec.counters.inspection == path.rsplit("/", 1)[-1]:
            counted.add(path)
    loop = QualityLoop(
        service=service,
        plant=plant,
        router=Router(rules, config.roles),
        inspections=inspections,
        counted=counted,
        lot_codes={platform.tag_ids[p]: p for p in sorted(policy.lot_codes)},
        notify=wake,
    )
    platform.add_consumer("quality-loop", EVENTS, loop.handle)
    platform.add_consumer("quality-lots", EVENTS, loop.follow, maxsize=LOTS_QUEUE)
    if inspections or policy.lot_codes:
        platform.add_consumer("quality-inspections", SAMPLES, loop.handle)
    return Quality(service, loop)
