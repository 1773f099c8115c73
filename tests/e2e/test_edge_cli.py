"""``plantos check`` and ``plantos edge`` as an operator runs them, as separate processes.

The kill test is the promise of the spool at its hardest: the gateway process is killed
with SIGKILL in the middle of a stream (no handler runs, nothing is flushed), then
started again on the same spool. What it had collected before the kill must reach the
core exactly once and in order; only the polls that fell in the down time are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from plantos.core.batch import SampleBatch
from plantos.core.quality import BAD_NO_COMMUNICATION, GOOD
from plantos.edge.gateway.config import load_edge_config
from plantos.edge.gateway.spool import Spool, decode
from tests.conftest import REPO
from tests.integration.test_edge_gateway import FLOW, HOLDING_FC, POLL_S, Core, edge_file, until
from tests.support.mosquitto import free_port, mosquitto_binary, running_mosquitto

EXAMPLE = REPO / "examples" / "edge-gateway" / "edge.yaml"
PLANTOS = Path(sys.executable).with_name("plantos")
"""The console script of the virtualenv running the tests, as an operator starts it."""
ENV = {**os.environ, "COLUMNS": "200"}
NS = 1_000_000_000
MS = 1_000_000


def plantos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PLANTOS), *args], capture_output=True, text=True, timeout=60, env=ENV, cwd=REPO
    )


def test_check_accepts_the_example_edge_gateway() -> None:
    result = plantos("check", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "edge gateway plant-a/heat-treat-gateway" in " ".join(result.stdout.split())


def test_check_names_file_and_line_of_a_broken_edge_file(tmp_path: Path) -> None:
    path = edge_file(tmp_path, 1883, 5020)
    text = path.read_text()
    path.write_text(text.replace(FLOW, FLOW + "_typo"))
    line = 1 + text.splitlines().index(f"          - {{tag: {FLOW}, address: 0, type: uint16}}")
    result = plantos("check", str(path))
    assert result.returncode == 1
    assert f"edge.yaml:{line}" in result.stderr and f"{FLOW}_typo" in result.stderr

    path.write_text(text.replace("  report_by_exception: false", "  data_qos: 2"))
    line = 1 + text.splitlines().index("  report_by_exception: false")
    result = plantos("check", str(path))
    assert result.returncode == 1
    assert f"edge.yaml:{line}" in result.stderr and "data_qos" in result.stderr


@contextlib.contextmanager
def edge_process(config: Path, metrics_port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``plantos edge`` in its own process group; always gone (SIGKILL) on exit."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(PLANTOS), "edge", "--config", str(config), "--metrics-port", str(metrics_port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=ENV,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def scrape(port: int, timeout_s: float) -> str:
    """The gateway's /metrics text, retried until its HTTP server listens."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                return str(r.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def spooled(path: Path) -> tuple[int, SampleBatch, int]:
    """What a stopped gateway's spool holds: (highest sequence number given, the samples
    not yet acknowledged upstream, how many batches those are)."""
    db = sqlite3.connect(path)
    try:
        (last,) = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'batch'").fetchone()
        rows = [decode(data) for (data,) in db.execute("SELECT data FROM batch ORDER BY seq")]
    finally:
        db.close()
    return int(last), SampleBatch.concat(rows) if rows else SampleBatch.empty(), len(rows)


class RecordingCore(Core):
    """The core, also keeping what the Sparkplug host delivered before the ingest gate,
    whose restatement filter would hide a batch delivered twice."""

    def __init__(self, broker_port: int, host_id: str, tag_ids: dict[str, int]) -> None:
        super().__init__(broker_port, host_id, tag_ids)
        self.flow_id = tag_ids[FLOW]
        self.raw: list[SampleBatch] = []

    async def _sink(self, batch: SampleBatch) -> None:
        self.raw.append(batch)
        await super()._sink(batch)

    def flow(self, *, good: bool = True) -> SampleBatch:
        """The flow tag's samples as the host delivered them: Good ones, or the others."""
        batch = SampleBatch.concat(self.raw) if self.raw else SampleBatch.empty()
        return batch.select((batch.tag_id == self.flow_id) & ((batch.quality == GOOD) == good))


@pytest.mark.timeout(120)
def test_kill_9_mid_stream_loses_and_doubles_nothing_that_was_collected(tmp_path: Path) -> None:
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker binary (/usr/sbin/mosquitto) is not installed")
    (tmp_path / "broker").mkdir()
    log = tmp_path / "edge.log"

    async def main() -> None:
        modbus_port = free_port()
        device = SimDevice(id=1, simdata=[SimData(0, values=[0] * 4, datatype=DataType.REGISTERS)])
        machine = ModbusTcpServer(device, address=("127.0.0.1", modbus_port))
        await machine.serve_forever(background=True)

        async def count_up() -> None:  # a new value at every poll
            k = 0
            while True:
                k += 1
                await machine.async_setValues(1, HOLDING_FC, 0, [k % 65536, k % 2])
                await asyncio.sleep(POLL_S / 3)

        tasks = [asyncio.create_task(count_up())]
        with contextlib.ExitStack() as stack:
            broker = stack.enter_context(running_mosquitto(tmp_path / "broker"))
            config_path = edge_file(tmp_path, broker.port, modbus_port)
            config = load_edge_config(config_path)
            tag_ids = {path: i for i, path in enumerate(config.plant.tags)}
            # Made here, so the first sequence number the gateway will give is known.
            spool = Spool(config.spool_path, max_bytes=1 << 20)
            first_seq = spool.last_seq() + 1
            spool.close()
            core = RecordingCore(broker.port, "core", tag_ids)
            tasks.append(asyncio.create_task(core.supervisor.run()))
            try:
                port = free_port()
                first = stack.enter_context(edge_process(config_path, port, log))
                await until(lambda: len(core.flow()) >= 20, 30, "live data from the gateway")
                metrics = await asyncio.to_thread(scrape, port, 10)
                assert "plantos_edge_spool_pending_samples " in metrics
                assert 'plantos_connector_connected{connector="pump-plc"} 1.0' in metrics

                killed_ns = time.time_ns()
                first.send_signal(signal.SIGKILL)  # mid-stream: polls every 100 ms
                first.wait(timeout=10)
                _, held, _ = await asyncio.to_thread(spooled, config.spool_path)
                await asyncio.sleep(1.0)  # down time: these polls are not collected

                restarted_ns = time.time_ns()
                second = stack.enter_context(edge_process(config_path, free_port(), log))
                await until(
                    lambda: (core.flow().ts > restarted_ns).sum() >= 20, 30, "the restarted stream"
                )
                second.send_signal(signal.SIGINT)  # an operator's Ctrl-C
                # Waited for in a thread: the machine and the core keep serving meanwhile.
                assert await asyncio.to_thread(second.wait, 30) == 0, log.read_text()
                last_seq, pending, pending_batches = await asyncio.to_thread(
                    spooled, config.spool_path
                )
                delivered = last_seq - first_seq + 1 - pending_batches
                await until(lambda: len(core.flow()) >= delivered, 10, "every acknowledged batch")
            finally:
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await machine.shutdown()  # type: ignore[no-untyped-call]

        # Not collected samples: each death (the broker's Will after the kill, NDEATH after
        # Ctrl-C) says "no communication"; a birth's "no value yet" adds no sample.
        marks = core.flow(good=False)
        assert np.isnan(marks.value).all()
        assert marks.quality.tolist() == [BAD_NO_COMMUNICATION] * 2
        ts = core.flow().ts
        bad = np.flatnonzero(np.diff(ts) <= 0)
        assert not len(bad), f"duplicates or out of order at {bad[:5]} of {len(ts)}"
        # one flow sample per collected batch: each batch given a sequence number either
        # reached the core or is still in the spool (nothing acknowledged was lost)
        assert delivered <= len(ts) <= last_seq - first_seq + 1
        # what was in the spool, not yet committed at the core, when the process died reached
        # the core (Sparkplug carries timestamps in ms)
        held_flow = held.ts[held.tag_id == tag_ids[FLOW]] // MS
        lost = held_flow[~np.isin(held_flow, ts // MS)]
        assert not len(lost), f"{len(lost)} of {len(held_flow)} spooled before the kill lost"
        assert len(pending) == 0 or pending.ts.min() > killed_ns
        # the only hole is the down time; it starts at the kill, not before
        gaps = np.diff(ts)
        holes = np.flatnonzero(gaps > 5 * POLL_S * NS)
        assert len(holes) == 1, f"holes at {holes} ({gaps[holes] / NS} s)"
        start, end = ts[holes[0]], ts[holes[0] + 1]
        assert killed_ns - 3 * POLL_S * NS <= start <= killed_ns
        assert restarted_ns <= end
        assert (ts < killed_ns).sum() >= 20 and (ts > restarted_ns).sum() >= 20
        assert core.host.metrics()["dropped"] == 0

    asyncio.run(main())
