"""What the ERP would receive, as files: the file-drop connectors ``plantos demo
--headless --erp-out DIR`` delivers the outbox through, and the report of what arrived.

``DIR/b2mml`` gets one B2MML document per message that has a B2MML form (in the chosen
version); ``DIR/jsonl`` gets every message as JSON lines. The outbox is delivered after
the simulated run, completely, so the folder holds everything the run produced.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from plantos.core.clock import WallClock
from plantos.integration.channels.filedrop import FileDropChannel
from plantos.integration.channels.renderers import B2mmlRenderer, JsonLinesRenderer
from plantos.integration.erp.b2mml import Version
from plantos.integration.erp.outbox.dispatcher import Connector, OutboxDispatcher
from plantos.integration.erp.outbox.store import DeliveryStore
from plantos.integration.erp.translate import OutboxTranslator

B2MML_KINDS = frozenset({"production_performance", "production_schedule", "maintenance_work_order"})
"""The business messages with a B2MML form that the outbox produces."""
MAX_ROUNDS = 1_000_000
"""A bound on delivery rounds, far above any run's outbox, so a fault cannot spin forever."""


def file_drop_dispatcher(
    engine: sa.Engine, folder: Path, *, version: Version = Version.V0600
) -> OutboxDispatcher:
    """A dispatcher writing the outbox of ``engine`` into ``folder``'s b2mml and jsonl
    sub-folders (created here)."""
    drops = {"erp-b2mml": folder / "b2mml", "erp-jsonl": folder / "jsonl"}
    for path in drops.values():
        path.mkdir(parents=True, exist_ok=True)
    b2mml = B2mmlRenderer(version=version, sender="plantos-demo")
    connectors = [
        Connector(
            "erp-b2mml", FileDropChannel(drops["erp-b2mml"], renderer=b2mml, name="erp-b2mml"),
            kinds=B2MML_KINDS,
        ),
        Connector(
            "erp-jsonl",
            FileDropChannel(drops["erp-jsonl"], renderer=JsonLinesRenderer(), name="erp-jsonl"),
        ),
    ]  # fmt: skip
    store = DeliveryStore(engine, clock=WallClock())
    return OutboxDispatcher(store, connectors, translate=OutboxTranslator(engine))


async def deliver_all(dispatcher: OutboxDispatcher) -> None:
    """Rounds until a whole pass over the connectors settles nothing more; then close."""
    try:
        for _ in range(MAX_ROUNDS):
            moved = False
            for connector in dispatcher.connectors:
                moved = await dispatcher.round(connector) or moved
            if not moved:
                return
    finally:
        for connector in dispatcher.connectors:
            await connector.channel.close()


def erp_messages_report(dispatcher: OutboxDispatcher, folder: Path) -> dict[str, Any]:
    """Per connector: files by message kind, dead letters (count and first reasons) and
    what is still pending."""
    report: dict[str, Any] = {}
    for connector in dispatcher.connectors:
        sub = folder / ("b2mml" if connector.name == "erp-b2mml" else "jsonl")
        kinds = Counter(p.name.rsplit("-", 5)[0] for p in sub.iterdir() if p.name[0] != ".")
        letters = dispatcher.store.dead_letters(connector.name, limit=1000)
        status = dispatcher.store.status(connector.name)
        report[connector.name] = {
            "by_kind": dict(sorted(kinds.items())),
            "dead_letters": len(letters),
            "dead_letter_reasons": sorted({d.error for d in letters})[:5],
            "pending": status["pending"],
        }
    return report
