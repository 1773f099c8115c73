"""The dispatcher sends the ERP's business messages made from the real outbox rows, on
SQLite and PostgreSQL: JSON lines and B2MML files (valid against the XSDs) carry
cumulative confirmations whose final one equals the order's good count, the key of
each row; a connector taking only confirmations gets only those; a row that cannot
become a message is a dead letter with the reason."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from plantos.core.clock import ManualClock, WallClock
from plantos.core.events import Event
from plantos.integration.channels.filedrop import FileDropChannel
from plantos.integration.channels.renderers import B2mmlRenderer, JsonLinesRenderer
from plantos.integration.erp.b2mml import MessageKind, Version, validate_document
from plantos.integration.erp.interface_table import InterfaceTableChannel, interface_url
from plantos.integration.erp.outbox.dispatcher import Connector, OutboxDispatcher
from plantos.integration.erp.outbox.store import DeliveryStore
from plantos.integration.erp.translate import OutboxTranslator
from plantos.mom.domain.events import OrderProgressed, OrderReleased, OrderStateChanged
from plantos.mom.store.uow import SqlUnitOfWork
from tests.support.erp_db import erp_database

pytestmark = pytest.mark.timeout(60)
S = 10**9
T0 = 1_700_000_000 * S
GOOD = {"PO-1": [3, 7, 10], "PO-2": [4, 6]}


def record(engine: sa.Engine, *events: Event) -> None:
    with SqlUnitOfWork(engine, clock=ManualClock(T0)) as uow:
        for event in events:
            uow.record(event)
        uow.commit()


def write_production(engine: sa.Engine) -> None:
    """Two orders released, counted in turns (one commit per count) and completed; then
    progress on an order that was never released."""
    for order, goods in GOOD.items():
        record(engine, OrderReleased(ts_ns=T0, subject=order, product="bracket",
                                     quantity=goods[-1], due_ns=T0 + 3600 * S),
               OrderStateChanged(ts_ns=T0, subject=order, previous="released",
                                 state="running"))  # fmt: skip
    for step in range(3):
        for order, goods in GOOD.items():
            if step < len(goods):
                ts_ns = T0 + (step + 1) * 60 * S
                progressed = OrderProgressed(ts_ns=ts_ns, subject=order, asset="press-1",
                                             operation=0, good=goods[step], scrap=step,
                                             eta_ns=None)  # fmt: skip
                events: list[Event] = [progressed]
                if step == len(goods) - 1:
                    done = OrderStateChanged(
                        ts_ns=ts_ns, subject=order, previous="running", state="completed"
                    )
                    events.append(done)
                record(engine, *events)
    record(engine, OrderProgressed(ts_ns=T0, subject="PO-9", asset="press-1", operation=0,
                                   good=1, scrap=0, eta_ns=None))  # fmt: skip


def drain(engine: sa.Engine, connectors: list[Connector]) -> OutboxDispatcher:
    store = DeliveryStore(engine, clock=ManualClock(T0))
    run = OutboxDispatcher(store, connectors, translate=OutboxTranslator(engine))

    async def rounds() -> None:
        for connector in connectors:
            for _ in range(5):  # batches of 4: every message is decided in a few rounds
                await run.round(connector)
        for connector in connectors:
            await connector.channel.close()

    asyncio.run(rounds())
    return run


def test_files_carry_the_erp_messages_and_the_final_confirmations_sum_to_the_orders(
    engine: sa.Engine, tmp_path: Path, shared_data: Path
) -> None:
    write_production(engine)
    lines, xml = tmp_path / "jsonl", tmp_path / "xml"
    lines.mkdir(), xml.mkdir()
    renderer = B2mmlRenderer(version=Version.V0701, sender="plantos-test")
    run = drain(engine, [
        Connector("lines", FileDropChannel(lines, renderer=JsonLinesRenderer()), batch_size=4),
        Connector("b2mml", FileDropChannel(xml, renderer=renderer), batch_size=4,
                  kinds=frozenset({"production_performance"})),
    ])  # fmt: skip
    envelopes = [json.loads(p.read_text()) for p in sorted(lines.iterdir())]
    perf = [e["payload"] for e in envelopes if e["kind"] == "production_performance"]
    assert all(p["idempotency_key"] in {e["id"] for e in envelopes} for p in perf)
    assert len({p["idempotency_key"] for p in perf}) == len(perf)
    finals = [p for p in perf if p["final"]]
    assert {p["order_id"]: p["good"] for p in finals} == {o: g[-1] for o, g in GOOD.items()}
    assert sum(p["good"] for p in finals) == sum(g[-1] for g in GOOD.values())
    in_time = sorted(perf, key=lambda p: (p["end"], p["final"]))  # file names are keys
    by_order = {o: [p["good"] for p in in_time if p["order_id"] == o] for o in GOOD}
    assert by_order == {o: [*g, g[-1]] for o, g in GOOD.items()}  # cumulative, then final
    assert {e["kind"] for e in envelopes} == {
        "OrderReleased",
        "order_status",
        "production_performance",
    }

    documents = sorted(xml.iterdir())
    assert len(documents) == sum(len(g) + 1 for g in GOOD.values())
    for path in documents:
        validate_document(path.read_bytes(), schema_dir=shared_data / "b2mml",
                          version=Version.V0701, kind=MessageKind.PERFORMANCE)  # fmt: skip

    [letter] = run.store.dead_letters("lines")
    assert letter.kind == "OrderProgressed" and "PO-9" in letter.error
    assert run.store.dead_letters("b2mml")[0].error == letter.error
    assert run.store.status("lines")["pending"] == 0
    assert run.store.status("b2mml")["pending"] == 0
    assert run.health()["b2mml"]["skipped"] == len(GOOD)  # the running states: not its kind
    assert run.health()["b2mml"]["delivered"] == len(documents)


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_interface_table_rows_carry_the_erp_messages(engine: sa.Engine, kind: str) -> None:
    write_production(engine)
    with erp_database(kind) as url:
        erp = sa.create_engine(interface_url(url))
        try:
            channel = InterfaceTableChannel(erp.url, clock=WallClock(), name="erp-table")
            run = drain(engine, [Connector("erp-table", channel, batch_size=4)])
            with erp.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT message_id, kind, payload FROM plantos_outbound ORDER BY seq")
                ).all()
        finally:
            erp.dispose()
    finals = [json.loads(r.payload) for r in rows if r.kind == "production_performance"]
    finals = [p for p in finals if p["final"]]
    assert {p["order_id"]: p["good"] for p in finals} == {o: g[-1] for o, g in GOOD.items()}
    assert all(p["idempotency_key"] in {str(r.message_id) for r in rows} for p in finals)
    assert {r.kind for r in rows} == {"OrderReleased", "order_status", "production_performance"}
    assert len(run.store.dead_letters("erp-table")) == 1  # the order never released
