"""Build the outbox dispatcher from ``erp.yaml`` next to the plant file, on the
operations database; no file means no ERP connector and no dispatcher. The connectors
receive the ERP's business messages made from the outbox's domain events."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from plantos.core.clock import Clock, WallClock
from plantos.integration.erp.outbox.config import build_connectors, erp_file, load_connector_specs
from plantos.integration.erp.outbox.dispatcher import Connector, OutboxDispatcher
from plantos.integration.erp.outbox.store import DeliveryStore
from plantos.integration.erp.translate import OutboxTranslator


def open_erp(plant_file: Path, *, engine: sa.Engine, facts: Clock) -> OutboxDispatcher | None:
    """The dispatcher for the connectors configured beside ``plant_file``. Retries and
    signatures follow the wall clock even when the plant runs in simulated time: the ERP
    and its network live in real time. ``facts`` is the plant's clock, which stamps the
    outbox."""
    path = erp_file(plant_file)
    if not path.exists():
        return None
    connectors = build_connectors(load_connector_specs(path), clock=WallClock())
    return new_dispatcher(connectors, engine=engine, facts=facts)


def new_dispatcher(
    connectors: Sequence[Connector], *, engine: sa.Engine, facts: Clock
) -> OutboxDispatcher:
    """A dispatcher delivering the outbox of ``engine`` through ``connectors`` as ERP
    messages, woken by every commit that writes outbox rows."""
    store = DeliveryStore(engine, clock=WallClock(), facts=facts)
    dispatcher = OutboxDispatcher(store, connectors, translate=OutboxTranslator(engine))
    dispatcher.wake_on_commits(engine)
    return dispatcher
