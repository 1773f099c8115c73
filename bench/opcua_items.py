"""OPC UA monitored items: data changes/s PlantOS keeps up with at 1 s publishing, and its loss.

An asyncua server runs in its own process on 127.0.0.1 with N Double variables and writes
every one of them once a second (tick k writes the value k to all N, through the address
space's ``write_attribute_value``, the cheapest write path asyncua has that still fires the
monitored items), so every item owes the client one data change per second. The server
reports each tick (when it started, how long the N writes took, how many succeeded):
the expected count comes from what the server did, not from what it was asked to do.

Contenders subscribe to the same N items in turn, over the same K sessions, with the same
publishing and sampling interval, request timeout and session probe (``--contenders``):

- **platform**: ``plantos serve`` for a generated plant file (one asset per session, a
  Double tag per item, an ``opcua`` connector per session), one process; what it stored
  is counted in its historian after a clean stop (``opcua_platform``);
- **bare** (the peer): one process, a plain asyncua ``Client`` +
  ``create_subscription(1000, handler)`` + ``subscribe_data_change(nodes)`` per session,
  a handler that only counts;
- **connector**: ``plantos.edge.opcua.OpcUaConnector`` objects, one per session, in one
  process, ``collect()`` every 250 ms: the platform's OPC UA client without the rest;
- **bare-split**: the bare client with the sessions dealt over ``--procs`` processes.

Because the value of an update is its tick number, a contender's sample says which update
it belongs to. After a warm-up, the window covers the ticks the server started during
``--window`` seconds; contenders are stopped a few seconds after the window, so a tick's
samples that arrive late still count, and loss = 1 - counted / written for the window's
ticks. Lag is how long after its tick was due the last sample of the tick was seen (for
the platform: stored and answered by its API).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import itertools
import logging
import math
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from opcua_platform import PROBE_S, PlatformRun, Report, Session

NS_URI = "urn:plantos:bench:items"
NS_INDEX = 2  # the first namespace a server registers
FIRST_ID = 1000  # numeric NodeId of item 0
FOLDER_ITEMS = 500  # variables per folder: adding to a folder gets slower with its size
POLL_S = 0.25  # how often clients collect and look at their pipe
DRAIN_S = 3.0  # time after the window for its last ticks to be published and collected
REQUEST_TIMEOUT_S = 60  # creating 10k monitored items in one request takes seconds
# The session probe (a read of the server state) must answer within this: with thousands of
# items a loaded server or client loop stays busy for over a second at a time, and the 1 s
# default declares healthy sessions dead. Every contender gets the same.
KEEPALIVE_S = 5
SETUP_TIMEOUT_S = 300  # server build, sessions and subscriptions, each bounded by this
CONNECTOR_OPTIONS = {
    "publishing_interval": "1s",
    "sampling_interval": "1s",
    "request_timeout": f"{REQUEST_TIMEOUT_S}s",
    "keepalive_interval": f"{KEEPALIVE_S}s",
}
"""Every PlantOS contender's connector settings; the bare client is given the same."""


def node(item: int) -> str:
    """The NodeId of an item, as a plant file writes it."""
    return f"ns={NS_INDEX};i={FIRST_ID + item}"


@dataclass(frozen=True)
class Contender:
    """Who subscribes (``mode``: platform, connector or bare) in how many processes."""

    name: str
    mode: str
    label: str
    split: bool = False  # the sessions dealt over --procs processes instead of one


CONTENDERS = {
    c.name: c
    for c in (
        Contender("platform", "platform", "PlantOS platform (plantos serve)"),
        Contender("bare", "bare", "bare asyncua"),
        Contender("connector", "connector", "PlantOS OpcUaConnector only"),
        Contender("bare-split", "bare", "bare asyncua", split=True),
    )
}
PEER = "bare"  # the like-for-like peer of the platform: one process, the same sessions


# ---- server process -----------------------------------------------------------------------


def serve(first: int, items: int, port: int, conn: Connection) -> None:
    """Child process: an asyncua server updating items ``first``.. every second."""
    quiet_asyncua()
    asyncio.run(_serve(first, items, port, conn))


async def _serve(first: int, items: int, port: int, conn: Connection) -> None:
    from asyncua import Server, ua

    t0 = time.perf_counter()
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/bench/")
    ns = await server.register_namespace(NS_URI)
    assert ns == NS_INDEX, ns
    node_ids = []
    for lo in range(first, first + items, FOLDER_ITEMS):
        folder = await server.nodes.objects.add_folder(ns, f"Items{lo // FOLDER_ITEMS}")
        for i in range(lo, min(lo + FOLDER_ITEMS, first + items)):
            variable = await folder.add_variable(ua.NodeId(FIRST_ID + i, ns), f"item{i}", 0.0)
            node_ids.append(variable.nodeid)
    await server.start()
    conn.send(("ready", time.perf_counter() - t0))
    try:
        await _update_every_second(server, node_ids, conn)
    finally:
        await server.stop()


async def _update_every_second(server: Any, node_ids: list[Any], conn: Connection) -> None:
    """Tick T, due at Unix second T, writes the value T to every variable and reports itself.

    Every server process shares the same ticks, so a sample's value names its update on
    any of them. A tick that overruns its second is followed at once by the next one (the
    reported start times show it). The pipe is read between ticks: any message stops the
    server.
    """
    from asyncua import ua

    aspace = server.iserver.aspace
    value_id = ua.AttributeIds.Value
    tick = math.ceil(time.time())
    while not conn.poll():
        await asyncio.sleep(max(0.0, tick - time.time()))
        began = time.time()
        now = datetime.now(UTC)
        dv = ua.DataValue(
            ua.Variant(float(tick), ua.VariantType.Double), SourceTimestamp=now, ServerTimestamp=now
        )
        written = 0
        for i, node_id in enumerate(node_ids):
            status = await aspace.write_attribute_value(node_id, value_id, dv)
            written += status.is_good()
            if i % 500 == 499:
                await asyncio.sleep(0)  # let the server answer publish requests meanwhile
        conn.send(("tick", tick, began, time.time() - began, written))
        tick += 1


class ServerProcess:
    """One server child process and what it reported about its ticks."""

    def __init__(self, first: int, items: int) -> None:
        self.first = first
        self.items = items
        self.port = common.free_port()
        self.url = f"opc.tcp://127.0.0.1:{self.port}/bench/"
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(first, items, self.port, child), daemon=True)
        self.ticks: dict[int, tuple[float, float, int]] = {}  # tick -> began, seconds, written

    def start(self) -> None:
        self.process.start()

    def wait_ready(self) -> float:
        """Wait until the server listens; the seconds it took to build."""
        kind, build_s = receive(self._conn, SETUP_TIMEOUT_S, "server start")
        assert kind == "ready"
        return float(build_s)

    def read_ticks(self) -> None:
        while self._conn.poll():
            _, tick, began, took, written = self._conn.recv()
            self.ticks[tick] = (began, took, written)

    def stop(self) -> None:
        stop_process(self.process, self._conn)


# ---- client processes ---------------------------------------------------------------------


@dataclass(frozen=True)
class ClientPlan:
    """What one client process subscribes: item ranges, one per session."""

    mode: str
    ranges: list[tuple[str, int, int]]  # server URL, first item, item count


@dataclass
class TickCounts:
    """Samples received per tick, and when the last of them was collected (wall clock)."""

    counts: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    arrival: dict[int, float] = field(default_factory=dict)

    def add(self, ticks: np.ndarray, now: float) -> None:
        values, counts = np.unique(ticks, return_counts=True)
        for tick, n in zip(values.tolist(), counts.tolist(), strict=True):
            self.counts[tick] += n
            self.arrival[tick] = now


def subscribe(plan: ClientPlan, conn: Connection) -> None:
    """Child process: subscribe per ``plan``, count until told to stop, report the counts."""
    quiet_asyncua()
    try:
        asyncio.run(_subscribe(plan, conn))
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        raise


async def _subscribe(plan: ClientPlan, conn: Connection) -> None:
    sessions = PlantosSessions(plan) if plan.mode == "connector" else BareSessions(plan)
    t0 = time.perf_counter()
    try:
        await asyncio.wait_for(sessions.start(), SETUP_TIMEOUT_S)
        conn.send(("ready", time.perf_counter() - t0))
        counts = TickCounts()
        marks: list[float] = []
        errors: list[str] = []
        while True:
            await asyncio.sleep(POLL_S)
            errors += await sessions.poll(counts)
            if conn.poll():
                if conn.recv() == "stop":
                    break
                marks.append(time.process_time())
        conn.send(("done", dict(counts.counts), counts.arrival, marks, errors, sessions.metrics()))
    finally:
        await sessions.close()


class PlantosSessions:
    """One ``OpcUaConnector`` per item range, collected every poll."""

    def __init__(self, plan: ClientPlan) -> None:
        from plantos.core.clock import WallClock
        from plantos.edge.opcua import OpcUaConnector, OpcUaSpec

        self.connectors = []
        for url, first, count in plan.ranges:
            spec = OpcUaSpec.model_validate(
                {
                    "kind": "opcua",
                    "name": f"bench-{first}",
                    "endpoint": url,
                    **CONNECTOR_OPTIONS,
                    "tags": [
                        {"tag": f"item{i}", "node": node(i)} for i in range(first, first + count)
                    ],
                }
            )
            ids = {f"item{i}": i + 1 for i in range(first, first + count)}
            self.connectors.append(OpcUaConnector(spec, ids, clock=WallClock()))

    async def start(self) -> None:
        await asyncio.gather(*(c.connect() for c in self.connectors))

    async def poll(self, counts: TickCounts) -> list[str]:
        errors = []
        now = time.time()
        for connector in self.connectors:
            try:
                batch = await connector.collect()
            except ConnectionError as exc:
                errors.append(str(exc))
                continue
            if len(batch):
                counts.add(batch.value[np.isfinite(batch.value)].astype(np.int64), now)
        return errors

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connectors))

    def metrics(self) -> dict[str, int]:
        total: dict[str, int] = defaultdict(int)
        for connector in self.connectors:
            for key, value in connector.metrics().items():
                if isinstance(value, int):
                    total[key] += value
        return dict(total)


class _CountingHandler:
    """The least a bare asyncua handler can do and still tell which update a sample is."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = defaultdict(int)

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.counts[int(val)] += 1


class BareSessions:
    """One plain asyncua client and subscription per item range."""

    def __init__(self, plan: ClientPlan) -> None:
        from asyncua import Client

        self.plan = plan
        self.clients = [
            Client(url, timeout=REQUEST_TIMEOUT_S, watchdog_intervall=KEEPALIVE_S)
            for url, _, _ in plan.ranges
        ]
        self.handler = _CountingHandler()
        self._seen: dict[int, int] = {}

    async def start(self) -> None:
        await asyncio.gather(
            *(self._start_one(c, r) for c, r in zip(self.clients, self.plan.ranges, strict=True))
        )

    async def _start_one(self, client: Any, item_range: tuple[str, int, int]) -> None:
        from asyncua import ua

        _, first, count = item_range
        await client.connect()
        subscription = await client.create_subscription(1000, self.handler)
        nodes = [
            client.get_node(ua.NodeId(FIRST_ID + i, NS_INDEX)) for i in range(first, first + count)
        ]
        await subscription.subscribe_data_change(nodes)

    async def poll(self, counts: TickCounts) -> list[str]:
        """Fold what the handler counted since the last poll into ``counts``."""
        now = time.time()
        for tick, n in list(self.handler.counts.items()):
            new = n - self._seen.get(tick, 0)
            if new:
                counts.counts[tick] += new
                counts.arrival[tick] = now
                self._seen[tick] = n
        return []

    async def close(self) -> None:
        async def one(client: Any) -> None:
            # A session that is already gone needs no goodbye.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 10)

        await asyncio.gather(*(one(c) for c in self.clients))

    def metrics(self) -> dict[str, int]:
        return {}


# ---- orchestration ------------------------------------------------------------------------


class ClientGroup:
    """Client processes subscribing with a contender's mode; driven through their pipes."""

    def __init__(self, mode: str, plans: list[list[tuple[str, int, int]]]) -> None:
        self.mode = mode
        self.plans = plans
        self.procs = len(plans)
        self._children: list[tuple[BaseProcess, Connection]] = []
        self._marks: list[float] = []

    def start(self) -> None:
        ctx = mp.get_context("spawn")
        for ranges in self.plans:
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=subscribe, args=(ClientPlan(self.mode, ranges), theirs), daemon=True
            )
            proc.start()
            self._children.append((proc, mine))
        for _, conn in self._children:
            expect(receive(conn, SETUP_TIMEOUT_S, f"{self.mode} subscribe"), "ready")

    def mark(self) -> None:
        self._marks.append(time.time())
        for _, conn in self._children:
            conn.send("mark")

    def finish(self) -> list[Report]:
        for _, conn in self._children:
            conn.send("stop")
        reports = []
        span_s = self._marks[-1] - self._marks[0]
        for _, conn in self._children:
            counts, arrival, marks, errors, metrics = expect(
                receive(conn, 60, f"{self.mode} report"), "done"
            )
            cpu_s = marks[-1] - marks[0] if len(marks) >= 2 else math.nan
            reports.append(Report(counts, arrival, cpu_s, span_s, sorted(set(errors)), metrics))
        return reports

    def close(self) -> None:
        for proc, conn in self._children:
            stop_process(proc, conn)


class PlatformGroup:
    """``plantos serve`` as one contender process (see ``opcua_platform``)."""

    procs = 1

    def __init__(self, servers: Sequence[ServerProcess], sessions: int) -> None:
        ranges = [r for plan in split(servers, sessions, 1) for r in plan]
        self.run = PlatformRun(
            [Session(url, range(first, first + count)) for url, first, count in ranges],
            CONNECTOR_OPTIONS,
            node,
            common.free_port(),
        )

    def start(self) -> None:
        self.run.start()

    def mark(self) -> None:
        self.run.mark()

    def finish(self) -> list[Report]:
        return [self.run.finish()]

    def close(self) -> None:
        self.run.close()


@dataclass
class Outcome:
    """One contender over one window."""

    contender: Contender
    items: int
    sessions: int
    procs: int
    setup_s: float
    ticks: int = 0
    due: int = 0
    written: int = 0
    received: int = 0
    lags: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    cpu_span_s: float = math.nan
    errors: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    stage_lag: dict[str, tuple[float, int]] = field(default_factory=dict)
    load_1m: float = math.nan  # the machine's load average at the end of the window

    @property
    def loss(self) -> float:
        return 1 - self.received / self.written if self.written else 1.0

    @property
    def rate(self) -> float:
        return self.received / self.ticks if self.ticks else 0.0

    @property
    def cpu_share(self) -> float:
        """CPU in share of one core, over the part of the window it was taken over."""
        return self.cpu_s / self.cpu_span_s

    @property
    def ok(self) -> bool:
        return self.loss < 0.01 and self.written == self.due and not self.errors


def split(
    servers: Sequence[ServerProcess], sessions: int, procs: int
) -> list[list[tuple[str, int, int]]]:
    """Sessions share each server's items evenly; they are dealt round robin to processes."""
    ranges = []
    for server in servers:
        bounds = np.linspace(0, server.items, sessions // len(servers) + 1).astype(int).tolist()
        ranges += [
            (server.url, server.first + lo, hi - lo) for lo, hi in itertools.pairwise(bounds)
        ]
    return [ranges[p::procs] for p in range(procs) if ranges[p::procs]]


def group_of(
    contender: Contender, servers: Sequence[ServerProcess], args: argparse.Namespace
) -> ClientGroup | PlatformGroup:
    if contender.mode == "platform":
        return PlatformGroup(servers, args.sessions)
    return ClientGroup(
        contender.mode, split(servers, args.sessions, args.procs if contender.split else 1)
    )


def run_phase(
    servers: Sequence[ServerProcess], contender: Contender, args: argparse.Namespace
) -> Outcome:
    """Subscribe as ``contender``, count over the window, stop it; always cleans up."""
    group = group_of(contender, servers, args)
    items = sum(s.items for s in servers)
    try:
        t0 = time.perf_counter()
        group.start()
        out = Outcome(contender, items, args.sessions, group.procs, time.perf_counter() - t0)
        time.sleep(args.warmup)
        group.mark()
        window = range(math.ceil(time.time()), math.ceil(time.time() + args.window))
        time.sleep(max(0.0, window.start + len(window) / 2 - time.time()))
        group.mark()  # the platform's probe starts: see opcua_platform.PlatformRun
        time.sleep(window.stop - time.time())
        group.mark()
        out.load_1m = os.getloadavg()[0]
        time.sleep(DRAIN_S)
        reports = group.finish()
    finally:
        group.close()
    for server in servers:
        server.read_ticks()
    tally(out, window, servers, reports)
    return out


def tally(
    out: Outcome, window: range, servers: Sequence[ServerProcess], reports: list[Report]
) -> None:
    """Fill ``out`` from the servers' ticks in the window and the contender's reports."""
    out.ticks = len(window)
    out.due = out.items * len(window)
    out.written = sum(s.ticks[t][2] for s in servers for t in window if t in s.ticks)
    for report in reports:
        out.received += sum(report.counts.get(t, 0) for t in window)
        out.cpu_s += report.cpu_s
        out.cpu_span_s = report.cpu_span_s
        out.errors += report.errors
        out.stage_lag |= report.stage_lag
        for key, value in report.metrics.items():
            out.metrics[key] = out.metrics.get(key, 0) + value
    for tick in window:
        arrivals = [r.arrival[tick] for r in reports if tick in r.arrival]
        if arrivals:
            out.lags.append(max(arrivals) - tick)


def receive(conn: Connection, timeout_s: float, what: str) -> tuple[Any, ...]:
    if not conn.poll(timeout_s):
        raise TimeoutError(f"{what}: no answer in {timeout_s:.0f} s")
    message = conn.recv()
    if message[0] == "error":
        raise RuntimeError(f"{what}: {message[1]}")
    return tuple(message)


def expect(message: tuple[Any, ...], kind: str) -> tuple[Any, ...]:
    if message[0] != kind:
        raise RuntimeError(f"expected {kind!r}, got {message[0]!r}")
    return message[1:]


def stop_process(proc: BaseProcess, conn: Connection) -> None:
    """Ask a child to stop, then terminate, then kill it: never leave one behind."""
    if proc.is_alive():
        with contextlib.suppress(OSError):
            conn.send("stop")
        proc.join(15)
    if proc.is_alive():
        proc.terminate()
        proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join(5)
    conn.close()


def quiet_asyncua() -> None:
    """asyncua warns about every session's timeout and the open endpoint: noise here."""
    logging.getLogger("asyncua").setLevel(logging.ERROR)


# ---- main ---------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="opcua_items", description=__doc__.split("\n\n")[0])
    p.add_argument("--items", default="10000", help="comma separated item counts to try")
    p.add_argument("--sessions", type=int, default=4, help="sessions (connectors) per run")
    p.add_argument(
        "--contenders",
        default="platform,connector,bare",
        help=f"comma separated, run in this order; of {', '.join(CONTENDERS)}",
    )
    p.add_argument("--procs", type=int, default=2, help="client processes of bare-split")
    p.add_argument("--servers", type=int, default=2, help="asyncua server processes")
    p.add_argument("--window", type=float, default=60.0, help="seconds counted")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds after subscribing")
    p.add_argument(
        "--keep-going", action="store_true", help="try every item count even after a failure"
    )
    p.add_argument("--quick", action="store_true", help="2,000 items, 15 s, no docs update")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = p.parse_args(argv)
    if args.quick:
        args.items, args.window, args.no_doc = "2000", 15.0, True
    args.item_counts = [int(n) for n in args.items.split(",")]
    names = [n.strip() for n in args.contenders.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONTENDERS]
    if unknown or not names:
        p.error(f"unknown contenders {unknown}: choose from {', '.join(CONTENDERS)}")
    args.chosen = [CONTENDERS[n] for n in dict.fromkeys(names)]
    if args.sessions % args.servers:
        p.error("--sessions must be a multiple of --servers")
    return args


def measure(items: int, args: argparse.Namespace) -> tuple[list[Outcome], dict[str, float]]:
    """Every contender in turn against the same servers holding ``items`` variables."""
    bounds = np.linspace(0, items, args.servers + 1).astype(int).tolist()
    servers = [ServerProcess(lo, hi - lo) for lo, hi in itertools.pairwise(bounds)]
    try:
        for server in servers:
            server.start()
        build_s = max(server.wait_ready() for server in servers)
        print(f"  {len(servers)} server(s), {items:,} variables, up in {build_s:.1f} s", flush=True)
        outcomes = []
        for contender in args.chosen:
            out = run_phase(servers, contender, args)
            print(f"  {describe(out)}", flush=True)
            outcomes.append(out)
        figures = server_figures(servers)
        print(
            f"  server ticks: {figures['ticks']:.0f}, writing took median "
            f"{figures['write_median_s']:.2f} s, max {figures['write_max_s']:.2f} s, "
            f"started at most {figures['late_max_s']:.2f} s late",
            flush=True,
        )
        return outcomes, figures
    finally:
        for server in servers:
            server.stop()


def server_figures(servers: Sequence[ServerProcess]) -> dict[str, float]:
    """How long the servers' ticks took and how late they started, over their whole run."""
    for server in servers:
        server.read_ticks()
    ticks = [v for s in servers for t, v in sorted(s.ticks.items())[2:]]  # 2 warm-up ticks
    took = [v[1] for v in ticks]
    late = [v[0] - t for s in servers for t, v in sorted(s.ticks.items())[2:]]
    return {
        "ticks": len(ticks),
        "write_median_s": statistics.median(took) if took else math.nan,
        "write_max_s": max(took, default=math.nan),
        "late_max_s": max(late, default=math.nan),
    }


def label(out: Outcome) -> str:
    c = out.contender
    return f"{c.label}, {out.procs} processes" if c.split else c.label


def lag_text(out: Outcome) -> str:
    if not out.lags:
        return common.DASH
    return f"{statistics.median(out.lags):.2f} / {max(out.lags):.2f} s"


def describe(out: Outcome) -> str:
    extra = f", errors {out.errors[:3]}" if out.errors else ""
    if out.stage_lag:
        worst = max(out.stage_lag.items(), key=lambda kv: kv[1])
        extra += f", worst stage lag {worst[0]} {worst[1][0]:.2f} s ({worst[1][1]} queued)"
    return (
        f"{label(out):<34} {out.items:>6,} items {out.sessions} sessions/"
        f"{out.procs} procs: {out.received:,} received / {out.written:,} written / "
        f"{out.due:,} due in {out.ticks} ticks, "
        f"{common.fmt_rate(out.rate)}/s, loss {100 * out.loss:.3f} %, "
        f"CPU {100 * out.cpu_share:.0f} %, lag median / max {lag_text(out)}, "
        f"setup {out.setup_s:.1f} s, load {out.load_1m:.1f}{extra}"
    )


HEADER = [
    "items",
    "contender",
    "processes",
    "samples/s",
    "loss",
    "lag median / max",
    "CPU (% of a core)",
    f"CPU / {CONTENDERS[PEER].label}",
    "setup",
]


def rows(outcomes: Sequence[Outcome]) -> list[list[str]]:
    """One row per contender; CPU relative to the one-process bare client of the same run."""
    peer = next((o for o in outcomes if o.contender.name == PEER), None)
    table = []
    for out in outcomes:
        ratio = out.cpu_share / peer.cpu_share if peer is not None and peer.cpu_s else math.nan
        table.append(
            [
                f"{out.items:,}",
                label(out),
                str(out.procs),
                f"{out.rate:,.0f}",
                f"{100 * out.loss:.3f} %",
                lag_text(out),
                f"{100 * out.cpu_share:.0f} %",
                common.DASH if math.isnan(ratio) else f"{ratio:.2f}",
                f"{out.setup_s:.1f} s",
            ]
        )
    return table


def judged(outcomes: Sequence[Outcome]) -> Outcome:
    """The outcome the goal is about: the platform's when it ran, else the first one."""
    return next((o for o in outcomes if o.contender.mode == "platform"), outcomes[0])


def main(argv: list[str] | None = None) -> int:
    if __name__ not in ("__main__", "opcua_items"):
        # bench/run.py runs this file as a module named "<run_path>", which the spawned
        # server and client processes cannot import to find their functions.
        return int(importlib.import_module("opcua_items").main(argv))
    args = parse(argv)
    print(
        f"opcua items: {args.item_counts} items, {args.sessions} sessions, contenders "
        f"{', '.join(c.name for c in args.chosen)}, warm-up {args.warmup:.0f} s, "
        f"window {args.window:.0f} s",
        flush=True,
    )
    results: list[tuple[list[Outcome], dict[str, float]]] = []
    for items in args.item_counts:
        outcomes, server = measure(items, args)
        results.append((outcomes, server))
        if not judged(outcomes).ok and not args.keep_going:
            break
    table = [r for outcomes, _ in results for r in rows(outcomes)]
    print()
    common.print_table(HEADER, table)
    md = report(args, results, table)
    print()
    print(md.split("\n\n")[-1])
    common.publish("opcua-items", md, skip=args.no_doc)
    return 0


DESCRIPTIONS = {
    "platform": (
        "**PlantOS platform**: `plantos serve` (one process) for a generated plant file: one "
        "asset per session with a Double tag per item, one `opcua` connector per session; the "
        "whole path runs (supervisor collecting each connector once a publishing interval, "
        "ingest gate, bus, historian writer with group commit into the DuckDB historian, live "
        "state, analytics and operations stages, API). What it *stored* is counted: after the "
        "window and the drain the server is stopped with SIGTERM, as a service manager stops "
        "it (it commits what is queued and exits 0), and every tag's raw samples are read from "
        "the historian file as `plantos query` reads them. CPU: the serve process, all its "
        "threads (from /proc), over the first half of the window, while nothing asks it "
        "anything. Lag, over the second half: every {probe_ms} ms the API is asked (an "
        "`integration` token from `plantos token issue`) for the newest stored samples of "
        "each session's last-written item; a tick's lag ends at the answer that held its "
        "value for every session."
    ),
    "bare": (
        "**bare asyncua** (the peer): one process, one `Client` per session with "
        "`create_subscription(1000, handler)` + `subscribe_data_change(nodes)`, a handler "
        "that only counts; stores nothing."
    ),
    "connector": (
        "**PlantOS OpcUaConnector only**: the platform's connector objects (one per session) "
        "in one process, `collect()` every {poll_ms} ms, samples counted and dropped: no "
        "supervisor, gate, bus or historian. It tells what of the platform's cost is the "
        "OPC UA client itself."
    ),
    "bare-split": (
        "**bare asyncua, {procs} processes**: the same bare client with the sessions dealt "
        "over {procs} processes (each with its own interpreter and event loop)."
    ),
}


def report(
    args: argparse.Namespace,
    results: Sequence[tuple[list[Outcome], dict[str, float]]],
    table: list[list[str]],
) -> str:
    passing = [judged(outcomes) for outcomes, _ in results if judged(outcomes).ok]
    best = max(passing, key=lambda o: o.items, default=None)
    goal = "met" if best is not None and best.items >= 10_000 else "NOT met"
    subject = label(judged(results[0][0]))
    fill = {"probe_ms": f"{PROBE_S * 1000:.0f}", "poll_ms": f"{POLL_S * 1000:.0f}"}
    fill["procs"] = str(args.procs)
    lines = [
        "## OPC UA monitored items",
        "",
        common.machine_line({"asyncua": common._version("asyncua")}),
        "",
        f"{args.servers} asyncua server process(es) on 127.0.0.1 share N Double variables and "
        f"write every one of them once a second (the value is the tick number, so each sample "
        f"says which update it is; several servers because one asyncua server process spends "
        f"most of a second deep-copying each written value for its monitored item). Each "
        f"contender in turn subscribes to all N over {args.sessions} sessions, the items split "
        f"evenly, with a 1 s publishing and sampling interval, a {REQUEST_TIMEOUT_S} s request "
        f"timeout and a {KEEPALIVE_S} s session probe (`keepalive_interval`, asyncua's "
        f"`watchdog_intervall`: with the 1 s default, probes time out while a loop decodes or "
        f"encodes thousands of notifications and sessions are lost). Counted over "
        f"{args.window:.0f} s after a {args.warmup:.0f} s warm-up; a window tick's samples "
        f"that arrive up to {DRAIN_S:.0f} s after the window still count. Loss = 1 - counted "
        f"/ written by the servers in the window's ticks. CPU: of the contender's processes, "
        f"in % of one core, over the window (the platform: its first half, see below).",
        "",
    ]
    lines += [f"- {DESCRIPTIONS[c.name].format(**fill)}" for c in args.chosen]
    lines += [
        f"- The clients' lag runs from the second a tick is due to the poll (every "
        f"{POLL_S * 1000:.0f} ms) that counted its last sample; up to 1 s of any lag is "
        f"waiting for the next publishing cycle.",
        "",
        common.markdown_table(HEADER, table, align="llrrrrrrr"),
        "",
    ]
    for outcomes, server in results:
        lines.append(
            f"- {outcomes[0].items:,} items: the servers' ticks took median "
            f"{server['write_median_s']:.2f} s, at most {server['write_max_s']:.2f} s to write "
            f"all N values (out of the 1 s they have), and started at most "
            f"{server['late_max_s']:.2f} s late. Setup: connect and create the monitored items "
            f"(the platform: from starting the process)."
        )
        for out in outcomes:
            lines += notes(out)
    loads = [o.load_1m for outcomes, _ in results for o in outcomes]
    cores = os.cpu_count() or 1
    if max(loads) > cores:
        lines.append(
            f"- Load average (1 min) at the end of each window: "
            f"{', '.join(f'{x:.1f}' for x in loads)} on {cores} cores; above the core count, "
            f"the servers and contenders wait for a core and every figure here is noise: "
            f"compare a quiet run."
        )
    lines += [
        "",
        f"- Goal ≥ 10,000 items at 1 s publishing with < 1 % loss, for the {subject}: "
        f"**{goal}**"
        + (
            f", {best.items:,} items over {best.sessions} sessions with "
            f"{100 * best.loss:.3f} % loss."
            if best is not None
            else ", no item count tried stayed under 1 % loss."
        ),
    ]
    return "\n".join(lines)


def notes(out: Outcome) -> list[str]:
    """What a contender's own counters say: the platform's stages and writer, errors."""
    lines = []
    if out.stage_lag:
        busy = sorted((k, v) for k, v in out.stage_lag.items() if v != (0.0, 0))
        stages = (
            "worst oldest queued message and queue depth: "
            + ", ".join(f"{name} {lag:.2f} s / {depth}" for name, (lag, depth) in busy)
            if busy
            else f"all {len(out.stage_lag)} stages' queues empty at every look"
        )
        m = out.metrics
        lines.append(
            f"  - {label(out)}, `GET /api/v1/health` each second from the middle of the "
            f"window to the stop: {stages}. Historian writer: "
            f"{m.get('acked_rows', 0):,.0f} rows committed in {m.get('commits', 0):,.0f} "
            f"commits over the run; connector errors {m.get('errors', 0):.0f}, reconnects "
            f"{m.get('reconnects', 0):.0f}, dropped notifications "
            f"{m.get('dropped_notifications', 0):.0f}. The API answered {m.get('up_s', 0):.1f} s "
            f"after the start, every item was monitored after {m.get('subscribed_s', 0):.1f} s; "
            f"the stop took {m.get('stop_s', 0):.1f} s."
        )
    if out.errors:
        lines.append(f"  - {label(out)} errors: {out.errors[:3]}.")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
