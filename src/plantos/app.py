"""The composition root: builds the platform from settings. The only module that
knows every layer.

``Platform`` owns the running parts (historian, bus, live state, writer stage,
sources); ``create_app`` wraps it in the FastAPI application whose lifespan
starts and stops them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI

from plantos.analytics.oee.reason_store import REASONS_FILE, ReasonStore
from plantos.analytics.stage import AnalyticsStage
from plantos.bus.memory import MemoryBus
from plantos.bus.protocol import EVENTS, SAMPLES
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock, WallClock
from plantos.core.events import Event
from plantos.edge.config import build_connector, connector_specs
from plantos.edge.connector import Connector
from plantos.edge.normalise import Normaliser
from plantos.edge.supervisor import Supervisor
from plantos.historian import open_historian
from plantos.historian.tiers import tiers_from_spec
from plantos.historian.writer import HistorianWriter
from plantos.live import LiveState
from plantos.model import Plant, TagDef, load_plant
from plantos.security import AuditLog, TokenStore, UserStore
from plantos.security.audit import AUDIT_FILE
from plantos.security.devices import device_writer
from plantos.security.ot_write import OtWrites
from plantos.security.zones import zoning

log = logging.getLogger(__name__)

DEFAULT_HISTORIAN_URL = "duckdb:///history.duckdb"
JUDGEMENTS_KEPT = 10_000
JUDGEMENT_KINDS = frozenset(
    {
        "AnomalyRaised",
        "AnomalyEscalated",
        "AnomalyCleared",
        "SpcViolation",
        "StuckSignal",
        "AlarmRaised",
        "AlarmFlood",
    }
)


@dataclass
class Settings:
    """What a PlantOS process needs to start. Paths are resolved by the caller (the CLI)."""

    config: Path
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    historian_url: str | None = None
    bus_capacity: int = 64


class Platform:
    """The running platform: plant model, historian, bus, live state and writer stage."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or WallClock()
        self.plant: Plant = load_plant(settings.config)
        tiers, raw_retention = tiers_from_spec(self.plant.spec.historian)
        url = settings.historian_url or self.plant.spec.historian.url or DEFAULT_HISTORIAN_URL
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.historian = open_historian(
            url,
            data_dir=settings.data_dir,
            tiers=tiers,
            raw_retention_ns=raw_retention,
            memory_limit=self.plant.spec.historian.memory_limit,
        )
        ids = self.historian.register_tags(self.plant.tags.values())
        self.tag_ids: dict[str, int] = {p: ids[p] for p in self.plant.tags}
        self.tags_by_id: dict[int, TagDef] = {
            i: self.plant.tags[p] for p, i in self.tag_ids.items()
        }
        self.live = LiveState(max(ids.values(), default=0) + 1)
        self.bus = MemoryBus()
        self.normaliser = Normaliser(
            np.fromiter(self.tag_ids.values(), dtype=np.int32), clock=self.clock
        )
        self.tokens = TokenStore(settings.data_dir / "security.sqlite", clock=WallClock())
        self.users = UserStore(settings.data_dir / "security.sqlite", clock=WallClock())
        self.audit = AuditLog(settings.data_dir / AUDIT_FILE, clock=WallClock())
        """Every security-relevant act, hash-chained (``plantos audit verify`` checks it)."""
        self.writer = HistorianWriter(
            self.historian,
            self.bus.subscribe(SAMPLES, name="historian", maxsize=settings.bus_capacity),
            clock=self.clock,
        )
        self._live_sub = self.bus.subscribe(SAMPLES, name="live", maxsize=settings.bus_capacity)
        self.reasons = ReasonStore(settings.data_dir / REASONS_FILE)
        """Every reason operators gave to stops, with who and when: kept across restarts."""
        self.analytics = AnalyticsStage(
            self.plant, self.tag_ids, clock=self.clock, reasons=self.reasons.book(clock=WallClock())
        )
        self._analytics_sub = self.bus.subscribe(
            SAMPLES, name="analytics", maxsize=settings.bus_capacity
        )
        self.judgements: deque[Event] = deque(maxlen=JUDGEMENTS_KEPT)
        """The newest judgements (anomalies, SPC findings, alarms), for the API and reports."""
        self._consumers: list[asyncio.Task[None]] = []
        self._feeders: list[asyncio.Task[None]] = []
        self._sources: list[Awaitable[None]] = []
        self.connectors: list[Supervisor] = []
        self.events_seen: dict[str, int] = {}
        for spec in connector_specs(self.plant):
            self.add_connector(build_connector(spec, self.tag_ids, clock=self.clock))
        self.ot_writes = OtWrites(
            zoning(self.plant),
            audit=self.audit,
            path=settings.data_dir / "security.sqlite",
            writer=device_writer(
                connector_specs(self.plant), lambda: [s.connector for s in self.connectors]
            ),
            clock=WallClock(),
        )
        """The only path back into OT: conduit, role, limits, approval, audit."""

    def add_connector(self, connector: Connector) -> Supervisor:
        """Run ``connector`` under a supervisor feeding :meth:`ingest`, from :meth:`start` on."""
        supervisor = Supervisor(
            connector, lambda batch: self.ingest(batch, source=connector.name), clock=self.clock
        )
        self.connectors.append(supervisor)
        self.add_source(supervisor.run())
        return supervisor

    def add_source(self, source: Awaitable[None]) -> None:
        """A coroutine that feeds the platform through :meth:`ingest`; started by :meth:`start`."""
        self._sources.append(source)

    async def ingest(self, batch: SampleBatch, *, source: str) -> None:
        """Check a batch at the gate and publish it; waits while the bus applies back-pressure."""
        clean = self.normaliser(batch, source=source)
        if len(clean):
            await self.bus.publish(SAMPLES, clean)

    async def emit(self, event: Event) -> None:
        """Publish an event. While the platform drains (the bus closing after the sources
        ended), the analytics stage still judges what was queued: its events are counted
        and kept, though no subscriber is left to receive them."""
        self.events_seen[event.kind] = self.events_seen.get(event.kind, 0) + 1
        if event.kind in JUDGEMENT_KINDS:
            self.judgements.append(event)
        if not self.bus.closed:
            await self.bus.publish(EVENTS, event)

    async def _judge(self) -> None:
        async for msg in self._analytics_sub:
            if isinstance(msg, SampleBatch):
                for event in self.analytics.judge(msg):
                    await self.emit(event)

    async def _follow_live(self) -> None:
        async for msg in self._live_sub:
            if isinstance(msg, SampleBatch):
                self.live.update(msg)

    async def start(self) -> None:
        """Rebuild live OEE from the historian (what it knew before a restart), then start
        the consumers of the bus, then the sources that feed it."""
        self.analytics.oee.warm_up(self.historian, self.clock.now_ns())
        self._consumers = [
            asyncio.create_task(self.writer.run(), name="historian-writer"),
            asyncio.create_task(self._follow_live(), name="live-state"),
            asyncio.create_task(self._judge(), name="analytics"),
        ]
        self._feeders = [asyncio.create_task(_guard(s)) for s in self._sources]

    async def drain(self) -> None:
        """Wait for the sources to finish, then for every queued batch to be committed."""
        if self._feeders:
            await asyncio.gather(*self._feeders)
        await self.bus.close()
        await asyncio.gather(*self._consumers)

    async def stop(self) -> None:
        """Stop the sources, let the consumers take what is queued, close the historian."""
        for task in self._feeders:
            task.cancel()
        await asyncio.gather(*self._feeders, return_exceptions=True)
        await self.bus.close()
        await asyncio.gather(*self._consumers, return_exceptions=True)
        self.historian.close()

    def metrics(self) -> dict[str, Any]:
        return {
            "bus": self.bus.metrics(),
            "ingest": self.normaliser.metrics(),
            "historian_writer": self.writer.metrics(),
            "events": dict(self.events_seen),
            "analytics": self.analytics.metrics(),
            "connectors": [c.metrics() for c in self.connectors],
        }


async def _guard(source: Awaitable[None]) -> None:
    try:
        await source
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("a source stopped with an error")
        raise


def create_app(platform: Platform) -> FastAPI:
    """The web application around a platform; its lifespan starts and stops the platform."""
    from plantos.api import install_api
    from plantos.ui import install_ui

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await platform.start()
        try:
            yield
        finally:
            await platform.stop()

    app = FastAPI(
        title="PlantOS",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served behind authentication by plantos.api
    )
    app.state.platform = platform
    install_api(app)
    install_ui(app)
    return app
