"""Gateway replay after a 10-minute outage: time to drain, versus live rate.

An edge gateway that was cut off from the core for 10 minutes holds 10 minutes of data in
its spool; when the link returns it must send that backlog while it keeps collecting. How
fast the backlog drains, against the rate at which data arrives live, says how long the
core shows stale values after an outage and how long an outage the gateway can ride out
without falling ever further behind.

The spool is filled directly (no 10 real minutes): one batch per poll, as a connector
produces them, with timestamps one second apart over the 10 minutes, for N tags at 1 Hz.
Then, timed: the gateway's ``Forwarder`` with the real ``SparkplugEdgeNode`` (``data_qos=1``,
as ``plantos edge`` runs it) sends the backlog through a private Mosquitto on 127.0.0.1 to
PlantOS's ``SparkplugHost`` in a separate process (the core is another machine; here it
only must not share the gateway's interpreter), until the spool is empty and the host has
collected every sample. In the same run, the peer: a bare paho-mqtt publisher sending the
same encoded payloads with QoS 1 (the same in-flight window of 20) through the same broker
to a bare paho subscriber in a separate process, the ceiling of the transport.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import sparkplug_ingest

if str(common.REPO) not in sys.path:  # tests.support.mosquitto finds the broker binary
    sys.path.insert(0, str(common.REPO))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.edge.gateway.forwarder import Forwarder
from plantos.edge.gateway.spool import Spool, SpooledBatch
from plantos.edge.mqtt.server import MqttServer
from plantos.edge.sparkplug.codec import DataType
from plantos.edge.sparkplug.columnar_encode import encode_seq
from plantos.edge.sparkplug.host import SparkplugHost
from plantos.edge.sparkplug.node import NodeMetric, SparkplugEdgeNode

WAIT_S = 600.0
GROUP, NODE, HOST_ID = "plant-a", "replay-gw", "plantos-core"
IN_FLIGHT = 20
TAGS_PER_CONNECTOR = 2000
"""Tags of one connector: each polls its tags once a second into one batch, so 10,000
tags are five batches a second. (One batch of 5,000 or more samples is split into several
NDATA messages with the same stream sequence number, and the host drops all but the
first as duplicates: see the gateway-replay notes in the report.)"""
"""paho's in-flight window of ``open_session``, given to the bare publisher too."""


def metric_name(j: int) -> str:
    """Metric names are tag paths, as the gateway publishes them."""
    return f"plant-a/replay/line-1/cell-{j // 100:03d}/signal_{j % 100:02d}"


# ---- the spool ----------------------------------------------------------------------------


class TimedSpool(Spool):
    """The gateway's spool, counting the seconds its reads and acknowledgements take."""

    def __init__(self, path: Path, *, max_bytes: int) -> None:
        super().__init__(path, max_bytes=max_bytes, durable=True)
        self.read_s = 0.0
        self.ack_s = 0.0
        self.reads = 0

    def read(self, *, after: int = 0, limit: int = 64) -> list[SpooledBatch]:
        t0 = time.perf_counter()
        try:
            return super().read(after=after, limit=limit)
        finally:
            self.read_s += time.perf_counter() - t0
            self.reads += 1

    def ack(self, seq: int) -> None:
        t0 = time.perf_counter()
        try:
            super().ack(seq)
        finally:
            self.ack_s += time.perf_counter() - t0


def fill(path: Path, tags: int, outage_s: int, seed: int = 7) -> TimedSpool:
    """A spool holding ``outage_s`` polls of ``tags`` tags, the last one a second ago."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)
    spool = TimedSpool(path, max_bytes=1 << 34)
    rng = np.random.default_rng(seed)
    ids = np.arange(tags, dtype=np.int32)
    start_ns = time.time_ns() - outage_s * 1_000_000_000
    for k in range(outage_s):
        ts = np.full(tags, start_ns + k * 1_000_000_000, dtype=np.int64)
        values = np.round(rng.normal(100, 15, tags), 2)
        for lo in range(0, tags, TAGS_PER_CONNECTOR):
            hi = min(lo + TAGS_PER_CONNECTOR, tags)
            spool.append(SampleBatch.of(ids[lo:hi], ts[lo:hi], values[lo:hi]), now_ns=int(ts[0]))
    return spool


def node(port: int, tags: int) -> SparkplugEdgeNode:
    return SparkplugEdgeNode(
        server=MqttServer("127.0.0.1", port),
        group_id=GROUP,
        edge_node_id=NODE,
        metrics=[NodeMetric(j, metric_name(j), DataType.Double) for j in range(tags)],
        data_qos=1,
        primary_host_id=HOST_ID,
    )


# ---- the consumer process -----------------------------------------------------------------


def consumer_main(kind: str, port: int, tags: int, expected: int) -> int:
    """The core side: ``host`` counts Good samples through ``SparkplugHost``, ``paho``
    counts NDATA messages; prints ``ready``, then one JSON line when it has ``expected``."""
    if kind == "host":
        return asyncio.run(_host_consumer(port, tags, expected))
    done = threading.Event()
    got = 0

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal got
        got += 1
        if got >= expected:
            done.set()

    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-replay-sub")
    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    client.connect("127.0.0.1", port, 60)
    client.loop_start()
    try:
        client.subscribe(f"spBv1.0/{GROUP}/NDATA/{NODE}", qos=0)  # as the host subscribes
        if not subscribed.wait(10):
            return 1
        print("ready", flush=True)
        ok = done.wait(WAIT_S)
        print(json.dumps({"done": time.time(), "count": got}), flush=True)
        return 0 if ok else 1
    finally:
        client.disconnect()
        client.loop_stop()


async def _host_consumer(port: int, tags: int, expected: int) -> int:
    host = SparkplugHost(
        server=MqttServer("127.0.0.1", port),
        host_id=HOST_ID,
        tag_map={},
        metric_names={metric_name(j): j for j in range(tags)},
        group_filter=GROUP,
    )
    await host.connect()  # STATE online (retained) before the gateway connects
    try:
        print("ready", flush=True)
        got = 0
        deadline = time.monotonic() + WAIT_S
        while got < expected and time.monotonic() < deadline:
            batch = await host.collect()
            got += int((batch.quality == quality.GOOD).sum())
            await asyncio.sleep(0.005)
        print(json.dumps({"done": time.time(), "count": got, **host.metrics()}), flush=True)
        return 0 if got >= expected else 1
    finally:
        await host.close()


@dataclass
class Consumer:
    proc: subprocess.Popen[str]
    lines: list[str]

    def result(self, timeout_s: float) -> dict[str, object]:
        deadline = time.monotonic() + timeout_s
        while len(self.lines) < 2 and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.005)
        time.sleep(0.05)  # the reader thread may still append the last line
        if len(self.lines) < 2:
            raise RuntimeError(f"the consumer did not finish: {self.lines}")
        result: dict[str, object] = json.loads(self.lines[1])
        return result


@contextlib.contextmanager
def consumer(kind: str, port: int, tags: int, expected: int) -> Iterator[Consumer]:
    """The consumer process, connected and subscribed; always ended on exit."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--consume", kind, str(port), str(tags), str(expected)],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 30
        while not lines and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        if lines[:1] != ["ready"]:
            raise RuntimeError(f"the {kind} consumer did not get ready: {lines}")
        yield Consumer(proc, lines)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


# ---- the contenders -----------------------------------------------------------------------


@dataclass(frozen=True)
class Drain:
    seconds: float
    samples: int
    spool_empty_s: float
    read_s: float = 0.0
    ack_s: float = 0.0
    reads: int = 0
    messages: int = 0
    host: dict[str, object] | None = None


def plantos_drain(port: int, spool: TimedSpool, tags: int) -> Drain:
    """Forwarder + SparkplugEdgeNode until the spool is empty and the host has it all."""
    samples = spool.pending_samples
    upstream = node(port, tags)
    with consumer("host", port, tags, samples) as core:

        async def run() -> float:
            forwarder = Forwarder(spool, upstream)
            task = asyncio.create_task(forwarder.run())
            t0 = time.perf_counter()
            try:
                while spool.pending_samples:
                    if time.perf_counter() - t0 > WAIT_S or task.done():
                        raise RuntimeError(f"drain stalled: {forwarder.metrics()}")
                    await asyncio.sleep(0.01)
                return time.perf_counter() - t0
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        wall0 = time.time()
        empty_s = asyncio.run(run())
        got = core.result(WAIT_S)
    if got["count"] != samples or got["duplicates_dropped"] or got["rebirths_requested"]:
        raise RuntimeError(f"the host has {got['count']} of {samples}: {got}")
    done_s = float(got["done"]) - wall0  # type: ignore[arg-type]
    return Drain(
        max(done_s, empty_s),
        samples,
        empty_s,
        spool.read_s,
        spool.ack_s,
        spool.reads,
        int(upstream.counters["messages"]),
        got,
    )


def encoded_payloads(spool: Spool, tags: int) -> list[bytes]:
    """The NDATA payloads the edge node sends for the spooled batches (historical, with
    their stream sequence numbers), encoded by the node's own code, for the peer."""
    encoder = node(0, tags)
    out: list[bytes] = []
    after = 0
    while batch := spool.read(after=after, limit=64):
        for item in batch:
            idx, ts, value, codes = encoder._prepare(item.batch)
            for _scope, data in encoder._data_payloads(idx, ts, value, codes, True, item.seq):
                out.append(data + encode_seq(len(out) % 256))
        after = batch[-1].seq
    return out


def paho_drain(port: int, payloads: list[bytes], samples: int) -> Drain:
    """A bare paho QoS 1 publisher of the same payloads to a bare paho subscriber."""
    topic = f"spBv1.0/{GROUP}/NDATA/{NODE}"
    with consumer("paho", port, 0, len(payloads)) as sub:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-replay-pub")
        client.max_inflight_messages_set(IN_FLIGHT)
        connected = threading.Event()
        client.on_connect = lambda *a: connected.set()
        client.connect("127.0.0.1", port, 60)
        client.loop_start()
        try:
            if not connected.wait(10):
                raise RuntimeError("the bare publisher could not connect")
            wall0, t0 = time.time(), time.perf_counter()
            infos = [client.publish(topic, p, qos=1) for p in payloads]
            for info in infos:
                info.wait_for_publish(WAIT_S)
            acked_s = time.perf_counter() - t0
            got = sub.result(WAIT_S)
        finally:
            client.disconnect()
            client.loop_stop()
    done_s = float(got["done"]) - wall0  # type: ignore[arg-type]
    return Drain(max(done_s, acked_s), samples, acked_s, messages=len(payloads))


# ---- main ---------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="gateway_replay", description=__doc__.split("\n\n")[0])
    p.add_argument("--tags", default="2000,10000", help="tags at 1 Hz, comma separated")
    p.add_argument("--outage", type=int, default=600, help="outage in seconds (default 600)")
    p.add_argument("--quick", action="store_true", help="2,000 tags, 60 s outage, no docs")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = p.parse_args(argv)
    if args.quick:
        args.tags, args.outage, args.no_doc = "2000", 60, True
    return args


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--consume"]:
        return consumer_main(argv[1], int(argv[2]), int(argv[3]), int(argv[4]))
    args = parse(argv)
    workdir = common.work_dir("gateway_replay")
    rows, notes = [], []
    with sparkplug_ingest.broker(workdir) as port:
        for tags in (int(t) for t in args.tags.split(",")):
            live = float(tags)  # samples/s: every tag once a second
            path = workdir / f"spool-{tags}.sqlite"
            t0 = time.perf_counter()
            spool = fill(path, tags, args.outage)
            fill_s = time.perf_counter() - t0
            payloads = encoded_payloads(spool, tags)
            try:
                ours = plantos_drain(port, spool, tags)
            finally:
                spool.close()
            peer = paho_drain(port, payloads, ours.samples)
            for name, d in (("PlantOS forwarder", ours), ("bare paho QoS 1", peer)):
                rate = d.samples / d.seconds
                rows.append(
                    [
                        f"{tags:,} tags",
                        name,
                        f"{d.samples:,}",
                        f"{d.messages:,}",
                        common.fmt_s(d.seconds),
                        f"{common.fmt_rate(rate)}/s",
                        f"{args.outage / d.seconds:.0f}{common.TIMES}",
                        f"{rate / live:.0f}{common.TIMES}",
                    ]
                )
                print(f"{tags} tags {name}: {d}")
            host = ours.host or {}
            notes.append(
                f"{tags:,} tags: spool fill (untimed setup) {fill_s:.1f} s; in the drain, "
                f"spool reads {ours.read_s:.2f} s over {ours.reads} reads and acks "
                f"{ours.ack_s:.2f} s of {ours.seconds:.2f} s "
                f"({(ours.read_s + ours.ack_s) / ours.seconds:.0%}); spool empty at "
                f"{ours.spool_empty_s:.2f} s; host: {host.get('historical', 0):,} historical "
                f"samples, {host.get('duplicates_dropped', 0)} duplicates dropped, "
                f"{host.get('seq_gaps', 0)} seq gaps; PlantOS / bare paho drain time "
                f"{ours.seconds / peer.seconds:.1f}{common.TIMES}"
            )
            path.unlink(missing_ok=True)
    header = [
        "tags at 1 Hz",
        "sender",
        "samples",
        "messages",
        "drain time",
        "drain rate",
        "catch-up (outage / drain)",
        "drain / live rate",
    ]
    print()
    common.print_table(header, rows)
    print("\n".join(notes))
    md = "\n".join(
        [
            "## Gateway replay after a 10-minute outage",
            "",
            common.machine_line(sparkplug_ingest.versions()),
            "",
            f"A gateway spool holding {args.outage} s of N tags at 1 Hz (one batch per poll "
            f"of each connector of {TAGS_PER_CONNECTOR:,} tags, as connectors produce them), "
            "sent by the gateway's `Forwarder` with the real `SparkplugEdgeNode` "
            "(`data_qos: 1`, historical, stream sequence numbers) through "
            "a private Mosquitto on 127.0.0.1 to PlantOS's `SparkplugHost` in another process; "
            "drain time = until the spool is empty and the host has collected every sample. "
            "Peer in the same run: a bare paho-mqtt publisher sending the same encoded "
            f"payloads with QoS 1 (in-flight window {IN_FLIGHT}, as the node's) to a bare "
            "paho subscriber: the ceiling of the transport. One round.",
            "",
            common.markdown_table(header, rows, align="llrrrrrr"),
            "",
            "- Catch-up: how many seconds of outage one second of replay clears. Drain / "
            "live: how many times faster than data arrives (N samples/s) the backlog leaves. "
            "The two are equal, since the spool holds outage x live rate samples; live data "
            "collected during the replay (not in this measurement) takes 1/catch-up of it.",
            *(f"- {n}." for n in notes),
            "",
        ]
    )
    common.publish("gateway-replay", md, skip=args.no_doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
