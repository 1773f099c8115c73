"""Notification throughput and delivery latency to a local webhook receiver.

PlantOS's notification dispatcher (``plantos.integration.notify``) delivers queued
notifications from the operations database (a SQLite file or a fresh PostgreSQL
database on 127.0.0.1) through its webhook channel to a receiver in its own process
(``webhook_receiver.py``: signature checked, each idempotency key booked once).

Throughput: N notifications about N different assets (no consolidation folds them)
are queued untimed; the clock runs while the dispatcher's rounds deliver them and
record each delivery, until all are recorded. The ceiling, in the same round, is a bare
httpx client posting the same bodies, signed, with the same connection limit. Rounds
alternate which of the two goes first.

Latency: notifications queued one at a time at a steady rate while the dispatcher
runs as the platform runs it (``follow``, woken by each queueing); from the queue
commit's timestamp to the receiver's arrival stamp. The bare client sends at the same
rate; its latency is from the moment before its POST.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import httpx
import sqlalchemy as sa
import uvicorn
from databases import operations_engine
from webhook_receiver import SECRET, Receiver, bare_paced, bare_post, receiver

from plantos.core.clock import WallClock
from plantos.integration.channels.retry import RetryPolicy
from plantos.integration.channels.webhook import WebhookChannel
from plantos.integration.notify import store
from plantos.integration.notify.dispatcher import Dispatcher, _message
from plantos.integration.notify.routing import Address, Notice
from plantos.integration.notify.tables import notifications

HOOK = "maintenance-hook"


def notice(i: int) -> Notice:
    asset = f"plant/machining/line-{i % 5}/cnc-{i:05d}"
    return Notice(
        asset=asset, line=asset.rsplit("/", 1)[0], site="plant", kind="WorkOrderOpened",
        priority=1 + i % 3, reference=f"WO-{i:05d}", title=f"WO-{i:05d} vibration on {asset}",
        body={"work_order": f"WO-{i:05d}", "failure_mode": "VIB", "score": 31.5},
    )  # fmt: skip


def queue(engine: sa.Engine, first: int, count: int) -> None:
    """``count`` notifications for the webhook, committed together, stamped now."""
    with engine.begin() as c:
        for i in range(first, first + count):
            store.queue(c, notice(i), [Address(HOOK)], now_ns=time.time_ns())


def dispatcher(engine: sa.Engine, url: str) -> Dispatcher:
    """The dispatcher as the platform builds it, with a webhook channel of defaults."""
    wall = WallClock()
    channel = WebhookChannel(url, secret=SECRET, clock=wall, name=HOOK)
    return Dispatcher(engine, {HOOK: channel}, wall=wall, retry=RetryPolicy())


async def drain(engine: sa.Engine, url: str, n: int) -> float:
    """Seconds for the dispatcher's rounds to deliver and record ``n`` notifications."""
    sender = dispatcher(engine, url)
    started = time.perf_counter()
    delivered = 0
    while delivered < n:
        got = await sender.run_once()
        if got == 0:
            raise RuntimeError(f"a round delivered nothing: {dict(sender.counters)}")
        delivered += got
    elapsed = time.perf_counter() - started
    await sender.close()
    return elapsed


def checked(hook: Receiver, n: int, who: str) -> None:
    stats = hook.stats()
    if stats != {"requests": n, "booked": n, "refused": 0}:
        raise RuntimeError(f"{who}: the receiver saw {stats}, expected {n} booked once each")


def throughput_round(engine: sa.Engine, hook: Receiver, n: int, bare_first: bool) -> dict:
    with engine.begin() as c:
        c.execute(notifications.delete())
    queue(engine, 0, n)
    bodies = [
        (str(item.id), _message(item).json_bytes())
        for item in store.due(engine, now=datetime.now(UTC), limit=n)
    ]
    out: dict[str, float] = {}
    for who in ("bare", "plantos") if bare_first else ("plantos", "bare"):
        hook.reset()
        if who == "bare":
            out[who] = n / asyncio.run(bare_post(hook.url, bodies))
        else:
            out[who] = n / asyncio.run(drain(engine, hook.url, n))
        checked(hook, n, who)
    return out


async def _until(stop: asyncio.Event) -> AsyncIterator[object]:
    """The platform's event stream stand-in: open until ``stop``, nothing in it."""
    await stop.wait()
    for item in ():
        yield item


async def plantos_latency(engine: sa.Engine, hook: Receiver, count: int, rate: float) -> list:
    """Queue-commit to arrival, ms, for ``count`` notifications queued at ``rate``/s."""
    with engine.begin() as c:
        c.execute(notifications.delete())
    hook.reset()
    sender, stop = dispatcher(engine, hook.url), asyncio.Event()
    running = asyncio.create_task(sender.follow(_until(stop)))
    for i in range(count):
        await asyncio.to_thread(queue, engine, i, 1)
        sender.wake.set()  # as the maintenance loop does after its commit
        await asyncio.sleep(1 / rate)
    deadline = time.monotonic() + 60
    while (await asyncio.to_thread(hook.stats))["booked"] < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not all delivered: {dict(sender.counters)}")
        await asyncio.sleep(0.05)
    stop.set()
    await running
    checked(hook, count, "plantos latency")
    times = hook.times()
    rows = store.listing(engine, limit=count)
    return [(times[str(r.id)] - r.created_ns) / 1e6 for r in rows]


async def bare_latency(hook: Receiver, bodies: list[tuple[str, bytes]], rate: float) -> list:
    """Before-POST to arrival, ms, for the bodies sent at ``rate``/s."""
    hook.reset()
    sent = await bare_paced(hook.url, bodies, rate=rate)
    checked(hook, len(bodies), "bare latency")
    times = hook.times()
    return [(times[k] - t) / 1e6 for k, t in sent.items()]


def run_database(kind: str, hook: Receiver, args: argparse.Namespace) -> dict:
    """Throughput rounds, then the paced latency runs, on one operations database."""
    rates: dict[str, list[float]] = {"plantos": [], "bare": [], "ratio": []}
    with operations_engine(kind, common.work_dir(f"notify-{kind}")) as engine:
        for r in range(args.rounds):
            got = throughput_round(engine, hook, args.notifications, bare_first=r % 2 == 0)
            for who, rate in got.items():
                rates[who].append(rate)
            rates["ratio"].append(got["plantos"] / got["bare"])
            print(
                f"{kind} round {r + 1}: dispatcher {common.fmt_rate(got['plantos'])}/s, "
                f"bare {common.fmt_rate(got['bare'])}/s",
                flush=True,
            )
        bodies = [
            (str(item.id), _message(item).json_bytes())
            for item in store.listing(engine, limit=args.latency_count)
        ]
        bare = asyncio.run(bare_latency(hook, bodies, args.rate))
        plantos = asyncio.run(plantos_latency(engine, hook, args.latency_count, args.rate))
    return {
        **{who: statistics.median(v) for who, v in rates.items()},
        "latency": plantos,
        "bare_latency": bare,
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="notify_throughput", description=__doc__.split("\n\n")[0])
    p.add_argument("--notifications", type=int, default=2000, help="per throughput round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--latency-count", type=int, default=300)
    p.add_argument("--rate", type=float, default=20.0, help="notifications/s in the latency run")
    p.add_argument("--databases", default="sqlite,postgresql")
    p.add_argument("--quick", action="store_true", help="SQLite, small runs, no docs update")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = p.parse_args(argv)
    if args.quick:
        args.databases, args.notifications, args.rounds = "sqlite", 200, 1
        args.latency_count, args.rate, args.no_doc = 40, 40.0, True
    return args


def ms(values: list[float], q: float) -> str:
    return f"{common.percentile(values, q):.1f} ms"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results = {}
    with receiver() as hook:
        for kind in args.databases.split(","):
            results[kind] = run_database(kind, hook, args)
    header = ["database", "dispatcher", "bare httpx (ceiling)", "ratio",
              "latency p50", "p99", "bare p50", "bare p99"]  # fmt: skip
    rows = [
        [kind, f"{common.fmt_rate(g['plantos'])}/s", f"{common.fmt_rate(g['bare'])}/s",
         f"{g['ratio']:.2f}", ms(g["latency"], 0.5), ms(g["latency"], 0.99),
         ms(g["bare_latency"], 0.5), ms(g["bare_latency"], 0.99)]
        for kind, g in results.items()
    ]  # fmt: skip
    common.print_table(header, rows)
    load = os.getloadavg()
    md = "\n\n".join([
        "## Notification throughput (webhook)",
        common.machine_line({"httpx": httpx.__version__, "uvicorn": uvicorn.__version__}),
        f"{args.notifications:,} notifications per round (each about another asset, so none "
        "is folded into another), queued untimed in the operations database, then delivered "
        "by PlantOS's notification dispatcher (`plantos.integration.notify`: rounds of 100 "
        "due notifications, the webhook channel with its defaults, 8 requests in flight over "
        "pooled connections, each delivery recorded in the database) to a webhook receiver in "
        "its own process on 127.0.0.1 (uvicorn, a bare ASGI app that checks the HMAC-SHA256 "
        "signature and books each idempotency key once); the clock stops when every delivery "
        "is recorded. The ceiling is a bare httpx client posting the same signed bodies to the "
        "same receiver with the same connection limit, in the same round; the two alternate "
        f"who goes first. Medians of {args.rounds} round(s); the ratio is the median of "
        "each round's ratio. In Python this pair (uvicorn receiving, httpx sending) is "
        "the ceiling any sender gets, so it is the like-for-like peer. "
        f"Latency: {args.latency_count} "
        f"notifications queued one at a time at {args.rate:g}/s while the dispatcher runs as "
        "the platform runs it (woken by each queueing), from the queue commit's timestamp to "
        "the receiver's arrival stamp; the bare client sends the same bodies at the same rate, "
        "timed from the moment before its POST.",
        common.markdown_table(header, rows),
        f"- Load average (1/5/15 min) at the end of the run: {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} on {os.cpu_count()} cores, shared with other work: absolute rates "
        "move from run to run, the ratio less so.\n"
        + (
            "- A ratio above 1 is the noise of this loaded machine between two runs seconds "
            "apart, not PlantOS outrunning the bare client.\n"
            if any(g['ratio'] > 1 for g in results.values())
            else ""
        )
        + "- Goal (issue #13): notification throughput stated against the receiver's own ceiling "
        "with a bare client in the same run: **met** (the ratio above); the issue sets no "
        "figure the ratio must reach. The dispatcher's gap to the ceiling is its database "
        "work: each round reads the due notifications and records every delivery in its own "
        "transaction.",
    ])  # fmt: skip
    common.publish("notify-throughput", md, skip=args.no_doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
