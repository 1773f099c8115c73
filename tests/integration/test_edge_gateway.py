"""The edge gateway end to end over real peers: a pymodbus server as the machine, a private
Mosquitto as the broker and PlantOS's own Sparkplug B host as the core. The broker is
killed for 30 s in the middle of the stream: the gateway spools, then replays everything
in order, flagged historical, without a sample lost or written twice."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from plantos.bus.ack import acknowledge
from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import WallClock
from plantos.edge.gateway.config import load_edge_config
from plantos.edge.gateway.gateway import EdgeGateway
from plantos.edge.mqtt.server import MqttServer, TlsFiles
from plantos.edge.normalise import Normaliser
from plantos.edge.sparkplug.host import SparkplugHost
from plantos.edge.supervisor import Supervisor
from plantos.model.plant import TagDef
from tests.support import mosquitto as mosquitto_support
from tests.support.certs import make_ca, make_client_certificate, make_server_certificate
from tests.support.mosquitto import (
    ListenerTls,
    free_port,
    mosquitto_binary,
    mosquitto_passwd_binary,
    running_mosquitto,
)
from tests.unit.test_model_loader import BASE

FLOW = "site-1/area-1/line-1/pump-1/flow"
RUNNING = "site-1/area-1/line-1/pump-1/running"
POLL_S = 0.1
OUTAGE_S = 30.0
HOLDING_FC = 3


def write_edge_file(folder: Path, upstream: str, modbus_port: int, *, max_size: str) -> Path:
    """An edge file (and its plant) in ``folder``: ``upstream`` is the block's broker and
    credential lines; the gateway polls the test's Modbus server every ``POLL_S``."""
    folder.mkdir(exist_ok=True)
    (folder / "plant.yaml").write_text(BASE)
    path = folder / "edge.yaml"
    path.write_text(
        f"""\
plantos-edge: 1
plant: plant.yaml
upstream:
{upstream}  group: site-1
  primary_host: core
  report_by_exception: false
spool:
  path: spool.sqlite
  max_size: {max_size}
connectors:
  - kind: modbus-tcp
    name: pump-plc
    host: 127.0.0.1
    port: {modbus_port}
    poll_groups:
      - interval: {int(POLL_S * 1000)}ms
        table: holding
        tags:
          - {{tag: {FLOW}, address: 0, type: uint16}}
          - {{tag: {RUNNING}, address: 1, type: uint16}}
"""
    )
    return path


def edge_file(tmp_path: Path, broker_port: int, modbus_port: int) -> Path:
    upstream = f"  broker: mqtt://127.0.0.1:{broker_port}\n  edge_node: pumps\n"
    return write_edge_file(tmp_path, upstream, modbus_port, max_size="64MB")


async def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Core:
    """The receiving side as the platform runs it: PlantOS's Sparkplug host under its
    supervisor, through the ingest gate, keeping every batch in order and acknowledging
    it as the historian writer does after a commit."""

    def __init__(
        self,
        broker_port: int,
        host_id: str,
        tag_ids: dict[str, int],
        *,
        server: MqttServer | None = None,
        paths: tuple[str, ...] = (FLOW, RUNNING),
        tags: dict[int, TagDef] | None = None,
    ) -> None:
        tag_map = {("site-1", "pumps", None, path): tag_ids[path] for path in paths}
        self.host = SparkplugHost(
            server=server or MqttServer("127.0.0.1", broker_port),
            host_id=host_id,
            tag_map=tag_map,
            group_filter="site-1",
            interval_s=0.05,
        )
        self.batches: list[SampleBatch] = []
        self.gate = Normaliser(
            np.array(list(tag_map.values()), dtype=np.int32), clock=WallClock(), tags=tags
        )
        self.supervisor = Supervisor(
            self.host, self._sink, backoff_initial_s=0.1, backoff_max_s=0.5, rng=random.Random(1)
        )

    async def _sink(self, batch: SampleBatch) -> None:
        self.batches.append(self.gate(batch))
        acknowledge([batch])  # kept in memory: as committed as this core gets

    def good(self) -> SampleBatch:
        if not self.batches:
            return SampleBatch.empty()
        batch = SampleBatch.concat(self.batches)
        return batch.select(batch.quality == quality.GOOD)


@pytest.mark.timeout(150)
def test_a_30_s_broker_outage_is_replayed_in_order_without_loss_or_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker binary (/usr/sbin/mosquitto) is not installed")
    (tmp_path / "broker-a").mkdir()
    (tmp_path / "broker-b").mkdir()

    async def main() -> None:
        modbus_port = free_port()
        device = SimDevice(id=1, simdata=[SimData(0, values=[0] * 4, datatype=DataType.REGISTERS)])
        machine = ModbusTcpServer(device, address=("127.0.0.1", modbus_port))
        await machine.serve_forever(background=True)

        async def count_up() -> None:  # the machine's values change faster than the poll
            k = 0
            while True:
                k += 1
                await machine.async_setValues(1, HOLDING_FC, 0, [k % 65536, k % 2])
                await asyncio.sleep(POLL_S / 3)

        counter = asyncio.create_task(count_up())
        with contextlib.ExitStack() as first:
            broker = first.enter_context(running_mosquitto(tmp_path / "broker-a"))
            config = load_edge_config(edge_file(tmp_path, broker.port, modbus_port))
            gateway = EdgeGateway(config)
            core = Core(broker.port, "core", gateway.tag_ids)
            core_task = asyncio.create_task(core.supervisor.run())
            gateway_task = asyncio.create_task(gateway.run())
            try:
                await until(lambda: len(core.good()) >= 40, 20, "live data at the core")
                assert gateway.forwarder.live_samples > 0
                replayed_before = gateway.forwarder.historical_samples

                broker.process.kill()  # no goodbye: sockets die, nothing is flushed
                broker.process.wait(timeout=10)
                first.close()
                outage_started = time.monotonic()
                await until(
                    lambda: gateway.spool.pending_samples > 0, 10, "samples held in the spool"
                )
                await asyncio.sleep(OUTAGE_S - (time.monotonic() - outage_started))
                held = gateway.spool.pending_samples
                assert held >= 2 * 0.5 * OUTAGE_S / POLL_S  # both tags, at least half the polls
                assert not gateway.forwarder.metrics()["online"]

                monkeypatch.setattr(mosquitto_support, "free_port", lambda: broker.port)
                with running_mosquitto(tmp_path / "broker-b"):
                    await until(
                        lambda: (
                            gateway.spool.pending_samples < 10
                            and gateway.forwarder.live_samples > 0
                            and gateway.forwarder.historical_samples >= replayed_before + held
                        ),
                        60,
                        "the backlog to drain",
                    )
                    appended_before_stop = gateway.spool.appended_samples
                    await until(
                        lambda: len(core.good()) >= appended_before_stop,
                        20,
                        "the core to receive every sample the gateway collected",
                    )
            finally:
                for task in (gateway_task, core_task, counter):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await machine.shutdown()  # type: ignore[no-untyped-call]

        stored = gateway.spool.appended_samples
        received = core.good()
        assert core.host.metrics()["historical"] >= held
        for path in (FLOW, RUNNING):
            tag = gateway.tag_ids[path]
            ts = received.ts[received.tag_id == tag]
            bad = np.flatnonzero(np.diff(ts) <= 0)
            assert not len(bad), f"{path}: duplicates or out of order at {bad[:5]} of {len(ts)}"
            gaps_s = np.diff(ts) / 1e9
            assert gaps_s.max() < 10 * POLL_S, f"{path}: a hole of {gaps_s.max():.2f} s"
            assert (ts[-1] - ts[0]) / 1e9 > OUTAGE_S
        # every sample collected was delivered once (the last few may still be in flight
        # when the tasks were stopped)
        assert stored - 2 * 5 <= len(received) <= stored

    asyncio.run(main())


# ----------------------------------------------------------------------------- mutual TLS

GATEWAY_USER, CORE_USER = "pumps-gw", "plantos-core"
PASSWORDS = {GATEWAY_USER: "gw-s3cret", CORE_USER: "core-s3cret"}


def tls_edge_file(
    folder: Path,
    broker_port: int,
    modbus_port: int,
    *,
    edge_node: str,
    files: TlsFiles,
    login: bool,
) -> Path:
    """An edge file publishing over mqtts with a client certificate (and a login)."""
    credentials = (
        f"  username: {GATEWAY_USER}\n  password_env: PUMPS_GW_PASSWORD\n" if login else ""
    )
    upstream = (
        f"  broker: mqtts://127.0.0.1:{broker_port}\n  ca_file: {files.ca_file}\n"
        f"  cert_file: {files.cert_file}\n  key_file: {files.key_file}\n{credentials}"
        f"  edge_node: {edge_node}\n"
    )
    return write_edge_file(folder, upstream, modbus_port, max_size="16MB")


@pytest.mark.timeout(60)
def test_mutual_tls_delivers_to_the_core_and_a_certificate_of_another_ca_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker binary (/usr/sbin/mosquitto) is not installed")
    certs = tmp_path / "certs"
    certs.mkdir()
    ca_file, ca_key, ca_cert = make_ca(certs, "plant-ca")
    server_cert, server_key = make_server_certificate(certs, ca_key, ca_cert)
    gateway_files = TlsFiles(ca_file, *make_client_certificate(certs, "pumps-gw", ca_key, ca_cert))
    core_files = TlsFiles(ca_file, *make_client_certificate(certs, "core", ca_key, ca_cert))
    _, rogue_key, rogue_cert = make_ca(certs, "rogue-ca")
    # trusts the broker, but its own certificate comes from a CA the broker does not know
    rogue_files = TlsFiles(ca_file, *make_client_certificate(certs, "rogue", rogue_key, rogue_cert))
    login = mosquitto_passwd_binary() is not None  # without the tool: certificates only
    monkeypatch.setenv("PUMPS_GW_PASSWORD", PASSWORDS[GATEWAY_USER])
    monkeypatch.setenv("CORE_PASSWORD", PASSWORDS[CORE_USER])
    listener = ListenerTls(ca_file, server_cert, server_key, require_certificate=True)

    async def main(broker_port: int) -> None:
        modbus_port = free_port()
        device = SimDevice(id=1, simdata=[SimData(0, values=[0] * 4, datatype=DataType.REGISTERS)])
        machine = ModbusTcpServer(device, address=("127.0.0.1", modbus_port))
        await machine.serve_forever(background=True)

        async def count_up() -> None:
            k = 0
            while True:
                k += 1
                await machine.async_setValues(1, HOLDING_FC, 0, [k, k % 2])
                await asyncio.sleep(POLL_S / 3)

        files = {"edge_node": "pumps", "files": gateway_files, "login": login}
        gateway = EdgeGateway(
            load_edge_config(tls_edge_file(tmp_path / "gw", broker_port, modbus_port, **files))
        )
        rogue_file = tls_edge_file(
            tmp_path / "rogue", broker_port, modbus_port, edge_node="rogue", files=rogue_files,
            login=login,
        )  # fmt: skip
        rogue = EdgeGateway(load_edge_config(rogue_file))
        server = MqttServer(
            "127.0.0.1",
            broker_port,
            tls=core_files,
            username=CORE_USER if login else None,
            password_env="CORE_PASSWORD" if login else None,
        )
        core = Core(broker_port, "core", gateway.tag_ids, server=server)
        tasks = [
            asyncio.create_task(coro)
            for coro in (count_up(), core.supervisor.run(), gateway.run(), rogue.run())
        ]
        try:
            await until(lambda: len(core.good()) >= 20, 20, "values at the core over mutual TLS")
            await until(
                lambda: rogue.forwarder.errors >= 1 and rogue.spool.pending_samples >= 20,
                20,
                "the rogue gateway to be refused while it spools",
            )
            held = rogue.spool.pending_samples
            await until(lambda: rogue.spool.pending_samples > held, 5, "the rogue spool to grow")
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await machine.shutdown()  # type: ignore[no-untyped-call]

        received = core.good()
        flow = received.value[received.tag_id == gateway.tag_ids[FLOW]]
        assert len(flow) >= 10 and flow.max() > 0
        assert (np.diff(flow) >= 0).all(), "the counter went backwards on its way"
        assert gateway.forwarder.errors == 0 and gateway.forwarder.live_samples > 0
        assert rogue.forwarder.sessions == 0 and rogue.forwarder.live_samples == 0
        assert (rogue.forwarder.last_error or "").startswith("connect: ConnectionError")
        assert rogue.spool.acked_samples == 0
        assert not rogue.forwarder.metrics()["online"]

    with running_mosquitto(tmp_path, tls=listener, users=PASSWORDS if login else None) as broker:
        asyncio.run(main(broker.port))
