"""The chaos run: machines behind an edge gateway feeding a PlantOS core through a broker,
while the core is killed, the broker restarts, the historian refuses commits and the
analytics consumer fails. Shared by the test (a short run) and the benchmark (a long one).

The core serves its API as ``plantos serve`` does; through the run its ``/healthz`` and
``/api/v1/health`` are polled (:mod:`tests.support.chaos_health`), so the run also tells
what an operator saw of each fault and its recovery.

Every sample is counted where it is produced: each Modbus machine counts the read
responses it sends (its ``trace_pdu`` hook), and each response is one sample per register
read. At the end the historian must hold exactly those samples (Good ones), each once,
in order per tag.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from plantos.core import quality
from plantos.historian.duckdb_store import DuckDBHistorian
from plantos.historian.protocol import Tier
from tests.support import mosquitto as mosquitto_support
from tests.support.chaos_core import ANALYTICS_FAULT, REFUSE, STATUS
from tests.support.chaos_health import Probe, issue_token, probe
from tests.support.mosquitto import Broker, free_port, running_mosquitto

REPO = Path(__file__).resolve().parents[2]
PLANTOS = Path(sys.executable).with_name("plantos")
POLL_S = 0.1
PUMPS = ("pump-1", "pump-2")
NS = 1_000_000_000

PLANT = """\
plantos: 1
enterprise: {id: acme}
calendars:
  day:
    timezone: Europe/Berlin
    shifts: [{name: day, start: "06:00", end: "14:00"}]
asset_types:
  pump:
    tags:
      - {signal: flow, unit: l/min, range: [0, 100000]}
      - {signal: running, type: bool}
sites:
  - id: site-1
    calendar: day
    areas:
      - id: area-1
        lines:
          - id: line-1
            assets:
              - {id: pump-1, type: pump}
              - {id: pump-2, type: pump}
"""


def tag(pump: str, signal_name: str) -> str:
    return f"site-1/area-1/line-1/{pump}/{signal_name}"


class CountingMachine:
    """A Modbus TCP machine whose two registers (a counter and its parity) change three
    times per poll; it counts every read response it sends."""

    def __init__(self) -> None:
        self.port = free_port()
        self.reads = 0
        self._counter = 0
        self._server: ModbusTcpServer | None = None
        self._task: asyncio.Task[None] | None = None

    def _trace(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if sending and pdu.function_code == 3:  # a Read Holding Registers response
            self.reads += 1
        return pdu

    async def start(self) -> None:
        device = SimDevice(id=1, simdata=[SimData(0, values=[0] * 2, datatype=DataType.REGISTERS)])
        self._server = ModbusTcpServer(
            device, address=("127.0.0.1", self.port), trace_pdu=self._trace
        )
        await self._server.serve_forever(background=True)
        self._task = asyncio.create_task(self._count_up())

    async def _count_up(self) -> None:
        assert self._server is not None
        while True:
            self._counter += 1
            k = self._counter
            await self._server.async_setValues(1, 3, 0, [k % 65536, k % 2])
            await asyncio.sleep(POLL_S / 3)

    async def stop(self) -> None:
        task, self._task = self._task, None
        server, self._server = self._server, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if server is not None:
            await server.shutdown()  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def mosquitto_on(port: int, workdir: Path) -> Iterator[Broker]:
    """Mosquitto on a given port, so a restarted broker has the old one's address."""
    workdir.mkdir(parents=True, exist_ok=True)
    with (
        mock.patch.object(mosquitto_support, "free_port", return_value=port),
        running_mosquitto(workdir) as broker,
    ):
        yield broker


def write_files(folder: Path, broker_port: int, machines: list[CountingMachine]) -> Path:
    """The core's plant file and the gateway's edge file; returns the edge file."""
    (folder / "plant.yaml").write_text(PLANT)
    (folder / "core.yaml").write_text(
        PLANT
        + f"""\
connectors:
  - kind: sparkplug-host
    name: gateways
    broker: mqtt://127.0.0.1:{broker_port}
    host_id: core
    group: site-1
    metric_names_are_tags: true
"""
    )
    connectors = "".join(
        f"""\
  - kind: modbus-tcp
    name: {pump}-plc
    host: 127.0.0.1
    port: {machine.port}
    timeout: 5s
    poll_groups:
      - interval: {int(POLL_S * 1000)}ms
        table: holding
        tags:
          - {{tag: {tag(pump, "flow")}, address: 0, type: uint16}}
          - {{tag: {tag(pump, "running")}, address: 1, type: uint16}}
"""
        for pump, machine in zip(PUMPS, machines, strict=True)
    )
    edge = folder / "edge.yaml"
    edge.write_text(
        f"""\
plantos-edge: 1
plant: plant.yaml
upstream:
  broker: mqtt://127.0.0.1:{broker_port}
  group: site-1
  edge_node: pumps
  primary_host: core
  report_by_exception: false
spool:
  path: spool.sqlite
  max_size: 256MB
connectors:
{connectors}"""
    )
    return edge


@dataclass
class Run:
    """The processes of one chaos run and what happened to them."""

    folder: Path
    broker_port: int
    metrics_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    token: str = ""
    """An admin API token of the core, for ``/api/v1/health``."""
    probes: list[Probe] = field(default_factory=list)
    core: subprocess.Popen[bytes] | None = None
    gateway: subprocess.Popen[bytes] | None = None
    events: list[tuple[float, str]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    max_spooled: float = 0.0
    """The most samples the gateway held, not yet committed at the core."""

    @property
    def faults(self) -> Path:
        return self.folder / "faults"

    def note(self, what: str) -> None:
        self.events.append((round(time.monotonic() - self.started, 1), what))

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "COLUMNS": "200"}
        with (self.folder / log).open("ab") as out:
            return subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                start_new_session=True,
            )  # fmt: skip

    def start_core(self) -> None:
        self.faults.mkdir(exist_ok=True)
        (self.faults / STATUS).unlink(missing_ok=True)
        self.core = self._spawn(
            [
                sys.executable, "-m", "tests.support.chaos_core",
                str(self.folder / "core.yaml"), str(self.folder / "data"), str(self.faults),
                str(self.api_port),
            ],
            "core.log",
        )  # fmt: skip
        self.note("core started")

    def kill_core(self) -> None:
        assert self.core is not None
        os.killpg(self.core.pid, signal.SIGKILL)
        self.core.wait(timeout=10)
        self.note("core killed (SIGKILL)")

    def start_gateway(self) -> None:
        self.gateway = self._spawn(
            [
                str(PLANTOS), "edge", "--config", str(self.folder / "edge.yaml"),
                "--metrics-port", str(self.metrics_port),
            ],
            "edge.log",
        )  # fmt: skip
        self.note("gateway started")

    def status(self) -> dict[str, Any] | None:
        import json

        try:
            data: dict[str, Any] = json.loads((self.faults / STATUS).read_text())
        except (OSError, ValueError):
            return None
        return data

    def committed_rows(self) -> int:
        status = self.status()
        return int(status["writer"]["acked_rows"]) if status else 0

    def gateway_metric(self, name: str) -> float | None:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2
            ) as r:
                text = r.read().decode()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def switch(self, name: str, on: bool) -> None:
        path = self.faults / name
        if on:
            path.touch()
        else:
            path.unlink(missing_ok=True)

    def stop_all(self) -> None:
        for proc, sig in ((self.gateway, signal.SIGINT), (self.core, signal.SIGTERM)):
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(sig)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
                raise
        self.note("gateway and core stopped")

    def kill_all(self) -> None:
        for proc in (self.gateway, self.core):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


async def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def watch_spool(run: Run) -> None:
    """Until cancelled: the peak of what the gateway holds for the core."""
    while True:
        held = await asyncio.to_thread(run.gateway_metric, "plantos_edge_spool_pending_samples")
        run.max_spooled = max(run.max_spooled, held or 0.0)
        await asyncio.sleep(1.0)


async def watch_health(run: Run) -> None:
    """Until cancelled: the core's readiness and stage health, about twice a second."""
    while True:
        run.probes.append(await asyncio.to_thread(probe, run.api_port, run.token, run.started))
        await asyncio.sleep(0.5)


async def progress(run: Run, what: str, *, rows: int = 40, timeout_s: float = 60.0) -> None:
    """Wait until the core committed ``rows`` more samples than when called."""
    before = run.committed_rows()
    await until(lambda: run.committed_rows() >= before + rows, timeout_s, what)
    run.note(f"{what}: committing again")


@dataclass(frozen=True)
class Outcome:
    produced: dict[str, int]
    stored: dict[str, int]
    duplicates: dict[str, int]
    out_of_order: dict[str, int]


def historian_outcome(data_dir: Path, machines: list[CountingMachine]) -> Outcome:
    """Compare what each machine produced with what the historian holds (Good samples)."""
    store = DuckDBHistorian(
        data_dir / "history.duckdb", tiers=[Tier(60 * NS, None)], read_only=True
    )
    try:
        ids = store.tag_ids()
        produced: dict[str, int] = {}
        stored: dict[str, int] = {}
        duplicates: dict[str, int] = {}
        out_of_order: dict[str, int] = {}
        for pump, machine in zip(PUMPS, machines, strict=True):
            for name in ("flow", "running"):
                path = tag(pump, name)
                raw = store.query_raw(ids[path], 0, 2**62, limit=10_000_000)
                good = raw.quality == quality.GOOD
                ts, value = raw.ts[good], raw.value[good]
                produced[path] = machine.reads
                stored[path] = len(ts)
                duplicates[path] = int(len(ts) - len(np.unique(ts)))
                order = value if name == "flow" else ts
                out_of_order[path] = int(np.count_nonzero(np.diff(order) < 0))
    finally:
        store.close()
    return Outcome(produced, stored, duplicates, out_of_order)


async def chaos_run(
    folder: Path, *, run_s: float, refuse_s: float, down_s: float = 2.0
) -> tuple[Run, Outcome]:
    """The whole run (see the module doc); ``run_s`` is the calm time between faults."""
    machines = [CountingMachine() for _ in PUMPS]
    for machine in machines:
        await machine.start()
    broker_port = free_port()
    write_files(folder, broker_port, machines)
    run = Run(folder, broker_port, token=issue_token(folder / "data"))
    stack = contextlib.ExitStack()
    watchers = [asyncio.create_task(watch_spool(run)), asyncio.create_task(watch_health(run))]
    try:
        stack.enter_context(mosquitto_on(broker_port, folder / "broker-1"))
        run.start_core()
        run.start_gateway()
        await progress(run, "start", timeout_s=90)
        await asyncio.sleep(run_s)

        run.switch(ANALYTICS_FAULT, True)
        run.note("analytics consumer fault injected")
        await progress(run, "analytics consumer restarted")  # ingestion does not stall
        await asyncio.sleep(run_s)
        run.kill_core()
        await asyncio.sleep(down_s)
        run.start_core()
        await progress(run, "core restart 1")
        await asyncio.sleep(run_s)

        run.switch(REFUSE, True)
        run.note("historian refuses commits")
        await asyncio.sleep(refuse_s)
        run.switch(REFUSE, False)
        run.note("historian accepts commits again")
        await progress(run, "historian back")
        await asyncio.sleep(run_s)

        stack.close()  # the broker goes away
        run.note("broker stopped")
        await asyncio.sleep(down_s)
        stack.enter_context(mosquitto_on(broker_port, folder / "broker-2"))
        run.note("broker restarted")
        await progress(run, "broker restart")
        await asyncio.sleep(run_s)

        run.kill_core()
        await asyncio.sleep(down_s)
        run.start_core()
        await progress(run, "core restart 2")
        await asyncio.sleep(run_s)

        for machine in machines:
            await machine.stop()
        run.note("machines stopped")
        await until(
            lambda: run.gateway_metric("plantos_edge_spool_pending_samples") == 0.0,
            120,
            "the gateway to have everything committed",
        )
        await asyncio.to_thread(run.stop_all)
    finally:
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        run.kill_all()
        stack.close()
        for machine in machines:
            await machine.stop()
    return run, historian_outcome(folder / "data", machines)
