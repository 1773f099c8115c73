"""ERP delivery: outbox throughput to a webhook and to an SQL interface table, and the lag
from a booked count to its delivery.

The operations store (a SQLite file or a fresh PostgreSQL database on 127.0.0.1) holds a
plant of 40 machines, each running a released order; counts booked through the
operations service (``MomService.book``, one machine count per machine per transaction)
fill the outbox with the real rows: releases, status changes and progress. PlantOS's
outbox dispatcher (``plantos.integration.erp.outbox``, with the translator that makes
the ERP's business messages, as ``erp.yaml`` sets it up) drains it through one
connector at a time:

- webhook: PlantOS's webhook channel to a receiver in its own process
  (``webhook_receiver.py``: signature checked, each idempotency key booked once);
  ceiling: a bare httpx client posting the same signed bodies, same connection limit;
- interface table: ``InterfaceTableChannel`` into a fresh PostgreSQL database;
  ceiling: bare psycopg ``executemany`` INSERTs of the same rows into a table of the same
  shape, in transactions of the dispatcher's batch size.

Each round clears the delivery state, so the same messages go again; the clock runs
until the dispatcher has recorded every delivery. Rounds alternate who goes first.

Lag: with both connectors running as the platform runs them, one count is booked every
``1 / rate`` s on the machines in turn; from the moment before the booking to the
receiver's arrival stamp (webhook) and to the row's ``written_at`` (table).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import httpx
import psycopg
import sqlalchemy as sa
from databases import fresh_postgres, operations_engine
from webhook_receiver import SECRET, Receiver, bare_post, receiver

from plantos.core.clock import WallClock
from plantos.integration.channels.base import OutboundMessage
from plantos.integration.channels.webhook import WebhookChannel
from plantos.integration.erp.interface_table import (
    InterfaceTableChannel,
    interface_url,
    outbound_table,
)
from plantos.integration.erp.outbox.dispatcher import Connector, OutboxDispatcher
from plantos.integration.erp.outbox.store import DeliveryStore
from plantos.integration.erp.outbox.tables import DEAD, DELIVERED, deliveries
from plantos.integration.erp.translate import OutboxTranslator
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.domain.events import OrderProgressed
from plantos.mom.domain.master import AssetOption, Product, Routing, RoutingStep
from plantos.mom.masterdata import MasterData
from plantos.mom.service import MomService
from plantos.mom.store import tables as t

ASSETS = [f"plant/machining/line-{i % 4}/cnc-{i:02d}" for i in range(40)]
TABLE, BARE_TABLE = "plantos_outbound", "bare_outbound"
WEBHOOK, TABLE_CONNECTOR = "erp-webhook", "erp-table"
PEERS = (("webhook", "bare httpx"), ("table", "bare psycopg"))
"""Each PlantOS connector and the bare client that measures its receiver's ceiling."""
BATCH = 100
"""Messages per dispatcher round (the connector default), rows per bare transaction."""


def plant(engine: sa.Engine) -> MomService:
    """The operations service with one product per machine and one order each."""
    service = MomService(engine, clock=WallClock(), assets=ASSETS)
    routings = {
        f"r{j}": Routing(f"r{j}", f"p{j}", (RoutingStep("mill", (AssetOption(a, 30, 40.0),)),))
        for j, a in enumerate(ASSETS)
    }
    products = {f"p{j}": Product(f"p{j}", f"Part {j}", f"r{j}") for j in range(len(ASSETS))}
    service.seed_master_data(MasterData(products, routings))
    due = time.time_ns() + 7 * 86400 * 10**9
    service.create_orders(
        [NewOrder(f"PO-{j:02d}", f"p{j}", 10**7, due) for j in range(len(ASSETS))]
    )
    return service


def book(service: MomService, asset: str) -> list[Any]:
    """One good part on ``asset``, booked now; the events of the change."""
    return service.book([Count("machine", asset, time.time_ns(), good=1)])[1]


def fill(service: MomService, messages: int) -> int:
    """Book counts until the outbox holds about ``messages`` rows; how many it holds."""
    for _ in range(max(messages // len(ASSETS), 1)):
        service.book([Count("machine", a, time.time_ns(), good=1) for a in ASSETS])
    with service.engine.connect() as c:
        return int(c.execute(sa.select(sa.func.count()).select_from(t.outbox)).scalar_one())


def erp_forms(engine: sa.Engine) -> list[OutboundMessage]:
    """Every outbox row as the ERP message the translator makes of it (untimed)."""
    store = DeliveryStore(engine, clock=WallClock())
    store.enrol("prepare")
    due = store.due("prepare", limit=10**9)
    with engine.begin() as c:
        c.execute(deliveries.delete())
    forms = OutboxTranslator(engine)([d.message for d in due])
    bad = [f for f in forms if isinstance(f, str)]
    if bad:
        raise RuntimeError(f"{len(bad)} rows cannot become ERP messages: {bad[0]}")
    return [f for f in forms if isinstance(f, OutboundMessage)]


async def drain(engine: sa.Engine, connectors: list[Connector], total: int) -> float:
    """Seconds for the dispatcher's stage body to deliver and record ``total`` messages
    on every connector; fails on a dead letter."""
    dispatcher = OutboxDispatcher(
        DeliveryStore(engine, clock=WallClock()), connectors, translate=OutboxTranslator(engine)
    )
    started = time.perf_counter()
    await dispatcher.run(stopping=lambda: all(c.counts[DELIVERED] >= total for c in connectors))
    elapsed = time.perf_counter() - started
    for c in connectors:
        if c.counts[DEAD]:
            raise RuntimeError(f"{c.name}: {c.counts[DEAD]} dead letters")
    return elapsed


def webhook(hook: Receiver) -> Connector:
    channel = WebhookChannel(hook.url, secret=SECRET, clock=WallClock(), name=WEBHOOK)
    return Connector(WEBHOOK, channel, batch_size=BATCH)


def table(url: str) -> Connector:
    channel = InterfaceTableChannel(interface_url(url), clock=WallClock(), name=TABLE_CONNECTOR)
    return Connector(TABLE_CONNECTOR, channel, batch_size=BATCH)


def table_rows(forms: list[OutboundMessage]) -> list[tuple[Any, ...]]:
    """The interface table's columns for each message, as the channel fills them."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return [
        (str(m.key), m.kind, m.ordering_key or "", m.created.astimezone(UTC).replace(tzinfo=None),
         json.dumps(dict(m.payload), sort_keys=True, allow_nan=False), "NEW", 1, now)
        for m in forms
    ]  # fmt: skip


def bare_insert(url: str, rows: list[tuple[Any, ...]]) -> float:
    """Seconds for bare psycopg to INSERT ``rows``, ``BATCH`` per transaction."""
    insert = (
        f"INSERT INTO {BARE_TABLE} (message_id, kind, ordering_key, created_at, payload, "
        "status, attempt, written_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    )
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        for i in range(0, len(rows), BATCH):
            with conn.cursor() as cursor:
                cursor.executemany(insert, rows[i : i + BATCH])
            conn.commit()
    return time.perf_counter() - started


def clear(engine: sa.Engine, erp: sa.Engine, hook: Receiver) -> None:
    """Forget every delivery: the same messages go again."""
    with engine.begin() as c:
        c.execute(deliveries.delete())
    with erp.begin() as c:
        c.execute(sa.text(f"TRUNCATE {TABLE}, {BARE_TABLE}"))
    hook.reset()


def delivered_rows(erp: sa.Engine, name: str) -> int:
    with erp.connect() as c:
        return int(
            c.execute(sa.text(f"SELECT count(DISTINCT message_id) FROM {name}")).scalar_one()
        )


def throughput_round(
    engine: sa.Engine, erp: sa.Engine, erp_url: str, hook: Receiver, total: int, r: int
) -> dict[str, float]:
    """Messages/s of the four contenders in one round; checks every message arrived once."""
    forms = erp_forms(engine)
    bodies = [(str(m.key), m.json_bytes()) for m in forms]
    rows = table_rows(forms)
    cases = {
        "webhook": lambda: asyncio.run(drain(engine, [webhook(hook)], total)),
        "bare httpx": lambda: asyncio.run(bare_post(hook.url, bodies)),
        "table": lambda: asyncio.run(drain(engine, [table(erp_url)], total)),
        "bare psycopg": lambda: bare_insert(erp_url, rows),
    }
    order = list(cases) if r % 2 == 0 else list(reversed(cases))
    out = {}
    for name in order:
        clear(engine, erp, hook)
        out[name] = total / cases[name]()
        if name in ("webhook", "bare httpx"):
            stats = hook.stats()
            if stats != {"requests": total, "booked": total, "refused": 0}:
                raise RuntimeError(f"{name}: the receiver saw {stats}, not {total} once each")
        else:
            got = delivered_rows(erp, TABLE if name == "table" else BARE_TABLE)
            if got != total:
                raise RuntimeError(f"{name}: {got} rows in the table, not {total}")
    return out


async def lag(
    service: MomService, erp: sa.Engine, erp_url: str, hook: Receiver, count: int, rate: float
) -> dict[str, list[float]]:
    """Booking to delivery, ms, per connector, for ``count`` counts booked at ``rate``/s
    while the dispatcher runs both connectors (everything older is delivered already)."""
    connectors = [webhook(hook), table(erp_url)]
    dispatcher = OutboxDispatcher(
        DeliveryStore(service.engine, clock=WallClock()), connectors,
        translate=OutboxTranslator(service.engine),
    )  # fmt: skip
    stop = False
    running = asyncio.create_task(dispatcher.run(stopping=lambda: stop))
    booked: dict[tuple[str, int], int] = {}
    for i in range(count):
        started = time.time_ns()
        for event in await asyncio.to_thread(book, service, ASSETS[i % len(ASSETS)]):
            if isinstance(event, OrderProgressed):
                booked[(event.subject, event.good)] = started
        await asyncio.sleep(1 / rate)
    deadline = time.monotonic() + 120
    while any(c.counts[DELIVERED] < count for c in connectors):
        if time.monotonic() > deadline or running.done():
            raise RuntimeError(f"not all delivered: {dispatcher.health()}")
        await asyncio.sleep(0.02)
    stop = True
    await running
    return await asyncio.to_thread(_lags, service.engine, erp, hook, booked)


def _lags(
    engine: sa.Engine, erp: sa.Engine, hook: Receiver, booked: dict[tuple[str, int], int]
) -> dict[str, list[float]]:
    keys: dict[str, int] = {}
    query = sa.select(t.outbox.c.id, t.outbox.c.aggregate_key, t.outbox.c.payload).where(
        t.outbox.c.kind == "OrderProgressed"
    )
    with engine.connect() as c:
        for key, order, payload in c.execute(query):
            started = booked.get((order, int(payload["good"])))
            if started is not None:
                keys[str(key)] = started
    if len(keys) != len(booked):
        raise RuntimeError(f"{len(booked)} bookings, {len(keys)} outbox rows found for them")
    arrived = hook.times()
    with erp.connect() as c:
        written = dict(c.execute(sa.text(f"SELECT message_id, written_at FROM {TABLE}")).all())
    return {
        "webhook": [(arrived[k] - t0) / 1e6 for k, t0 in keys.items()],
        "table": [(_ns(written[k]) - t0) / 1e6 for k, t0 in keys.items()],
    }


def _ns(naive_utc: datetime) -> int:
    return int(naive_utc.replace(tzinfo=UTC).timestamp() * 1e9)


def settle_backlog(engine: sa.Engine) -> None:
    """Mark every outbox message delivered on both connectors, so the lag run sees only
    the counts it books (the throughput rounds leave the delivery state cleared)."""
    store = DeliveryStore(engine, clock=WallClock())
    for name in (WEBHOOK, TABLE_CONNECTOR):
        store.enrol(name)
    with engine.begin() as c:
        c.execute(deliveries.update().values(state=DELIVERED))


def run_database(kind: str, hook: Receiver, args: argparse.Namespace) -> dict[str, Any]:
    """Fill the outbox, run the throughput rounds, then the lag run, on one database."""
    rates: dict[str, list[float]] = {}
    with (
        operations_engine(kind, common.work_dir(f"erp-delivery-{kind}")) as engine,
        fresh_postgres("plantos_bench_erp") as erp_url,
    ):
        erp = sa.create_engine(interface_url(erp_url))
        try:
            for name in (TABLE, BARE_TABLE):
                outbound_table(name).metadata.create_all(erp)
            service = plant(engine)
            total = fill(service, args.messages)
            for r in range(args.rounds):
                got = throughput_round(engine, erp, erp_url, hook, total, r)
                for name, rate in got.items():
                    rates.setdefault(name, []).append(rate)
                for name, bare in PEERS:
                    rates.setdefault(f"{name}/{bare}", []).append(got[name] / got[bare])
                print(f"{kind} round {r + 1}: " + ", ".join(
                    f"{n} {common.fmt_rate(v)}/s" for n, v in got.items()), flush=True)  # fmt: skip
            settle_backlog(engine)
            hook.reset()
            lags = asyncio.run(lag(service, erp, erp_url, hook, args.lag_count, args.rate))
        finally:
            erp.dispose()
    return {"total": total, **{n: statistics.median(v) for n, v in rates.items()}, "lag": lags}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="erp_delivery", description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=2000, help="outbox rows, about")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--lag-count", type=int, default=200)
    p.add_argument("--rate", type=float, default=10.0, help="bookings/s in the lag run")
    p.add_argument("--databases", default="sqlite,postgresql", help="for the operations store")
    p.add_argument("--quick", action="store_true", help="SQLite, small runs, no docs update")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = p.parse_args(argv)
    if args.quick:
        args.databases, args.messages, args.rounds = "sqlite", 200, 1
        args.lag_count, args.rate, args.no_doc = 20, 20.0, True
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results: dict[str, dict[str, Any]] = {}
    with receiver() as hook:
        for kind in args.databases.split(","):
            results[kind] = run_database(kind, hook, args)
    header = ["operations store", "connector", "PlantOS dispatcher", "bare client (ceiling)",
              "ratio", "lag p50", "lag p99", "lag max"]  # fmt: skip
    rows = []
    for kind, g in results.items():
        for name, bare in PEERS:
            lags = g["lag"][name]
            rows.append([
                kind, "webhook" if name == "webhook" else "interface table (PostgreSQL)",
                f"{common.fmt_rate(g[name])}/s", f"{common.fmt_rate(g[bare])}/s ({bare})",
                f"{g[f'{name}/{bare}']:.2f}", f"{common.percentile(lags, 0.5):.0f} ms",
                f"{common.percentile(lags, 0.99):.0f} ms", f"{max(lags):.0f} ms",
            ])  # fmt: skip
    common.print_table(header, rows)
    load = os.getloadavg()
    totals = ", ".join(f"{g['total']:,} on {k}" for k, g in results.items())
    md = "\n\n".join([
        "## ERP delivery (outbox to webhook and interface table)",
        common.machine_line({"httpx": httpx.__version__, "psycopg": psycopg.__version__}),
        f"The outbox of a plant of {len(ASSETS)} machines, each running a released order, "
        "filled by counts booked through the operations service (one machine count per "
        f"machine per transaction: releases, status changes, progress; {totals} rows), "
        "drained by PlantOS's outbox dispatcher (its stage body, `OutboxDispatcher.run`, "
        "with the translator that makes the ERP's business messages, batches of "
        f"{BATCH}) through one connector at a time until every delivery is recorded. "
        "Webhook: PlantOS's webhook channel (8 requests in flight, pooled connections) to "
        "a receiver in its own process on 127.0.0.1 (uvicorn, a bare ASGI app that checks "
        "the HMAC-SHA256 signature and books each idempotency key once); its ceiling is a "
        "bare httpx client posting the same signed bodies with the same connection limit. "
        "Interface table: `InterfaceTableChannel` into a fresh PostgreSQL database on "
        "127.0.0.1; its ceiling is bare psycopg `executemany` INSERTs of the same rows into "
        f"a table of the same shape, {BATCH} per transaction. All four run in every round, "
        f"in alternating order, on the same messages; medians of {args.rounds} round(s), "
        "the ratio is the median of each round's ratio. "
        f"Lag: {args.lag_count} counts booked through the operations service at "
        f"{args.rate:g}/s while the dispatcher runs both connectors as the platform runs it "
        "(a pass over the connectors, a 0.5 s pause when a pass moved nothing), from the "
        "moment before the booking to the receiver's arrival stamp (webhook) or to the "
        "row's `written_at`, stamped by the channel just before its insert commits (table).",
        common.markdown_table(header, rows),
        f"- Load average (1/5/15 min) at the end of the run: {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} on {os.cpu_count()} cores, shared with other work: absolute rates "
        "move from run to run, the ratio less so.\n"
        + (
            "- A ratio above 1 is the noise of this loaded machine between two runs seconds "
            "apart, not PlantOS outrunning the bare client.\n"
            if any(float(r[4]) > 1 for r in rows)
            else ""
        )
        + "- Goal (issue #14): outbox throughput in messages/s against each receiver's own "
        "ceiling with a bare client in the same run, and the lag p99 from a MOM change to "
        "its delivery: **met** as measurements (the table above); the issue sets no figure "
        "for either. The dispatcher's gap to the ceiling is its own bookkeeping: per round "
        "it enrols new rows, reads the due ones, translates them (reading the earlier facts "
        "of their orders) and records every outcome, several transactions per batch where "
        "the bare peers have one. The lag is close to uniform over the dispatcher's 0.5 s "
        "idle pause: the outbox dispatcher polls, no commit wakes it (the notification "
        "dispatcher is woken by each queueing), so p99 sits near that pause plus one pass.",
    ])  # fmt: skip
    common.publish("erp-delivery", md, skip=args.no_doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
