"""The Sparkplug B stream the MQTT benches publish: one edge node, a private Mosquitto,
and a publisher process that writes the stream as fast as the broker takes it.

``sparkplug_ingest.py`` (the host alone) and ``broker_historian.py`` (broker to
historian in a running platform) measure against the same stream, broker, publisher,
bare paho ceiling and command line; they live here so that both measure alike.
Run as a script, this module is the publisher process (``publisher`` starts it).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import pickle
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import common
import numpy as np

if str(common.REPO) not in sys.path:  # tests.support.mosquitto finds the broker binary
    sys.path.insert(0, str(common.REPO))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from tests.support.mosquitto import mosquitto_binary, running_mosquitto

from plantos.edge.sparkplug import (
    STREAM_PARTS,
    STREAM_SEQ_METRIC,
    DataType,
    Metric,
    bdseq_metric,
    decode_payload,
    encode_payload,
)

WAIT_S = 120.0


def versions() -> dict[str, str]:
    """paho-mqtt's and Mosquitto's versions, for the machine line."""
    binary = mosquitto_binary()
    banner = (
        subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=10).stdout
        if binary
        else ""
    )
    words = banner.split()
    mosquitto = words[2] if len(words) > 2 and words[1] == "version" else common.DASH
    return {"paho-mqtt": importlib.metadata.version("paho-mqtt"), "mosquitto": mosquitto}


# ---- the stream ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    """One edge node's messages: its NBIRTH, then NDATA payloads (seq 1, 2, ...)."""

    group: str
    node: str
    metrics: int
    birth: bytes
    data: list[bytes]
    numbered: bool = False
    """Each NDATA carries ``PlantOS/Stream Seq`` as a PlantOS edge gateway sends it; the
    birth then restates values and gives no samples."""

    @property
    def samples(self) -> int:
        """Samples a host delivers: every data metric, plus the birth's unless numbered."""
        return self.metrics * (len(self.data) + (0 if self.numbered else 1))

    @property
    def topics(self) -> tuple[str, str]:
        return (
            f"spBv1.0/{self.group}/NBIRTH/{self.node}",
            f"spBv1.0/{self.group}/NDATA/{self.node}",
        )

    @property
    def names(self) -> list[str]:
        return [metric_name(self.group, j) for j in range(self.metrics)]


def metric_name(group: str, j: int) -> str:
    """Metric names are tag paths, as the PlantOS edge gateway publishes them."""
    return f"{group.lower()}/ingest/line-1/cell-{j // 50:02d}/signal_{j % 50:02d}"


def _varint(values: np.ndarray, width: int) -> np.ndarray:
    """``values`` as protobuf varints of exactly ``width`` bytes each (rows)."""
    out = np.empty((len(values), width), dtype=np.uint8)
    v = values.astype(np.uint64)
    for k in range(width):
        out[:, k] = (v >> np.uint64(7 * k)) & np.uint64(0x7F)
    out[:, :-1] |= 0x80
    if (v >> np.uint64(7 * width)).any() or (out[:, -1] == 0).any():
        raise ValueError(f"values do not take exactly {width} varint bytes")
    return out


def _pyvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def build_stream(
    group: str, metrics: int, messages: int, seed: int = 7, *, numbered: bool = False
) -> Stream:
    """``messages`` NDATA payloads of ``metrics`` Doubles by alias, timestamps 1 ms apart;
    ``numbered``: each ends with the ``PlantOS/Stream Seq`` metric, as a gateway sends.

    Encoded with numpy (every payload has the same layout) because the codec would
    take minutes for millions of metrics; two payloads are checked against the codec.
    """
    rng = np.random.default_rng(seed)
    t0 = (time.time_ns() // 1_000_000) - messages  # the last payload is about now
    birth = encode_payload(
        timestamp_ms=t0,
        seq=0,
        metrics=[
            bdseq_metric(0),
            *(
                Metric(name=metric_name(group, j), alias=j, datatype=DataType.Double, value=0.0)
                for j in range(metrics)
            ),
            *(
                [Metric(name=STREAM_SEQ_METRIC, alias=metrics, datatype=DataType.UInt64, value=0)]
                if numbered
                else []
            ),
        ],
    )
    # one record: 0x12 len 0x10 alias 0x18 ts(6) 0x69 f8
    alias_len = np.where(np.arange(metrics) < 128, 1, 2)
    rec_len = 2 + 1 + alias_len + 1 + 6 + 1 + 8
    offsets = np.concatenate(([7], 7 + np.cumsum(rec_len)[:-1]))  # after 0x08 ts(6)
    body = 7 + int(rec_len.sum())
    template = np.zeros(body, dtype=np.uint8)
    template[0] = 0x08
    for j in range(metrics):
        o = int(offsets[j])
        template[o : o + 3] = (0x12, rec_len[j] - 2, 0x10)
        alias = _varint(np.array([j]), int(alias_len[j]))[0] if j else np.array([0], np.uint8)
        template[o + 3 : o + 3 + alias_len[j]] = alias
        template[o + 3 + alias_len[j]] = 0x18
        template[o + 3 + alias_len[j] + 7] = 0x69
    ts_at = offsets + 3 + alias_len + 1
    value_at = ts_at + 7
    out = np.tile(template, (messages, 1))
    ts_ms = t0 + np.arange(messages, dtype=np.int64)
    out[:, 1:7] = _varint(ts_ms, 6)
    metric_ts = _varint(np.repeat(ts_ms, metrics) - np.tile(np.arange(metrics) % 7, messages), 6)
    values = np.round(rng.normal(100, 15, (messages, metrics)), 2).view(np.uint8)
    rows = np.arange(messages)[:, None, None]
    out[rows, ts_at[None, :, None] + np.arange(6)] = metric_ts.reshape(messages, metrics, 6)
    out[rows, value_at[None, :, None] + np.arange(8)] = values.reshape(messages, metrics, 8)
    data = []
    first = time.time_ns() // 1000  # above any earlier run's numbers, as a gateway's spool
    for i in range(messages):
        seq = (i + 1) % 256
        tail = bytes([0x18, seq]) if seq < 128 else bytes([0x18, seq & 0x7F | 0x80, 1])
        if numbered:  # metric: alias (field 2), long_value (field 11)
            record = b"\x10" + _pyvarint(metrics) + b"\x58" + _pyvarint((first + i) * STREAM_PARTS)
            tail = b"\x12" + _pyvarint(len(record)) + record + tail
        data.append(out[i].tobytes() + tail)
    types: dict[int | str, DataType] = {j: DataType.Double for j in range(metrics)}
    types[metrics] = DataType.UInt64
    for i in (0, messages - 1):  # the encoder above against the codec
        got = decode_payload(data[i], datatypes=dict(types))
        assert got.seq == (i + 1) % 256 and got.timestamp_ms == int(ts_ms[i])
        doubles = got.metrics[:metrics]
        assert [m.alias for m in doubles] == list(range(metrics))
        assert [m.value for m in doubles] == np.round(values.view(np.float64)[i], 2).tolist()
        if numbered:
            assert got.metrics[metrics].value == (first + i) * STREAM_PARTS
    return Stream(group, "E1", metrics, birth, data, numbered)


# ---- broker and publisher -----------------------------------------------------------------


@contextlib.contextmanager
def broker(workdir: Path) -> Iterator[int]:
    """A private Mosquitto with unbounded queues; yields its port, always stops it."""
    if mosquitto_binary() is None:
        raise SystemExit("mosquitto is not installed (/usr/sbin/mosquitto)")
    with running_mosquitto(workdir, unbounded_queues=True) as running:
        yield running.port


def _remaining(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _publish_packet(topic: str, payload: bytes) -> bytes:
    t = topic.encode()
    body = len(t).to_bytes(2, "big") + t + payload
    return b"\x30" + _remaining(len(body)) + body


def publisher_main(port: int, path: Path) -> int:
    """The publisher process: connect, wait for ``go`` on stdin, write every packet."""
    stream: Stream = pickle.loads(path.read_bytes())
    birth_topic, data_topic = stream.topics
    blob = _publish_packet(birth_topic, stream.birth) + b"".join(
        _publish_packet(data_topic, d) for d in stream.data
    )
    client_id = f"bench-pub-{stream.group}".encode()
    variable = b"\x00\x04MQTT\x04\x02\x00\x3c"
    payload = len(client_id).to_bytes(2, "big") + client_id
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(b"\x10" + _remaining(len(variable) + len(payload)) + variable + payload)
        connack = sock.recv(4)
        if len(connack) != 4 or connack[3] != 0:
            print(f"CONNACK refused: {connack!r}", flush=True)
            return 1
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return 1
        sock.sendall(blob)
        sock.sendall(b"\xe0\x00")  # DISCONNECT after the last PUBLISH
        sock.shutdown(socket.SHUT_WR)
        sock.recv(1)  # the broker closes when it has read everything
    return 0


@contextlib.contextmanager
def publisher(port: int, stream: Stream, workdir: Path) -> Iterator[subprocess.Popen[str]]:
    """The publisher process, connected and waiting for ``go``; always ended on exit."""
    path = workdir / f"stream-{stream.group}.pickle"
    path.write_bytes(pickle.dumps(stream))
    proc = subprocess.Popen(
        [sys.executable, __file__, str(port), str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = _readline(proc, WAIT_S)
        if line != "ready":
            raise RuntimeError(f"publisher did not get ready: {line!r}")
        yield proc
        proc.wait(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        path.unlink(missing_ok=True)


def _readline(proc: subprocess.Popen[str], timeout_s: float) -> str:
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    return got[0].strip() if got else ""


def go(proc: subprocess.Popen[str]) -> float:
    """Tell the publisher to send; the start of the clock."""
    assert proc.stdin is not None
    t0 = time.perf_counter()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return t0


# ---- the receive ceiling ----------------------------------------------------------------


def bare_paho(port: int, stream: Stream, workdir: Path) -> float:
    """(a) Seconds until a bare paho subscriber has received every message."""
    expected = 1 + len(stream.data)
    done = threading.Event()
    count = 0
    end = 0.0

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal count, end
        count += 1
        if count == expected:
            end = time.perf_counter()
            done.set()

    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{stream.group}")
    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    client.connect("127.0.0.1", port, 60)
    client.loop_start()
    try:
        client.subscribe(f"spBv1.0/{stream.group}/#", qos=0)
        if not subscribed.wait(10):
            raise RuntimeError("no SUBACK")
        with publisher(port, stream, workdir) as proc:
            t0 = go(proc)
            if not done.wait(WAIT_S):
                raise RuntimeError(f"bare paho got {count} of {expected} messages")
        return end - t0
    finally:
        client.disconnect()
        client.loop_stop()


# ---- command line -------------------------------------------------------------------------


def parse_args(prog: str, description: str, argv: list[str] | None) -> argparse.Namespace:
    """The options both stream benches take: payload sizes, metrics per run, rounds, docs."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--metrics", default="100,500", help="metrics per NDATA, comma separated")
    p.add_argument("--total", type=int, default=3_000_000, help="metrics per run (default 3M)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of every contender")
    p.add_argument("--quick", action="store_true", help="500k metrics, 1 round, no docs update")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = p.parse_args(argv)
    if args.quick:
        args.total, args.rounds, args.no_doc = 500_000, 1, True
    return args


if __name__ == "__main__":
    raise SystemExit(publisher_main(int(sys.argv[1]), Path(sys.argv[2])))
