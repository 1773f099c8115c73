"""Text and 64-bit integers from a gateway's connector to the core, exact all the way.

A pymodbus server holds a recipe name (a string register block), two signed 64-bit
counters at 2**53 + 1 and -2**63 and an unsigned one at 2**64 - 1. The gateway polls it and
publishes to a private Mosquitto as a Sparkplug B edge node; PlantOS's host at the core
reads the messages and passes them through the ingest gate, which knows each tag's type.
Every value must arrive exactly, Good, live and again after the broker was down and the
spool replayed what was collected meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from pathlib import Path

import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.edge.gateway.config import load_edge_config
from plantos.edge.gateway.gateway import EdgeGateway
from tests.integration.test_edge_gateway import HOLDING_FC, Core, until
from tests.support import mosquitto as mosquitto_support
from tests.support.mosquitto import free_port, mosquitto_binary, running_mosquitto

ASSET = "site-1/area-1/line-1/press-1"
RECIPE, PARTS, FLOOR, ENERGY = (f"{ASSET}/{s}" for s in ("recipe", "parts", "floor", "energy"))
PATHS = (RECIPE, PARTS, FLOOR, ENERGY)
LIVE = {RECIPE: "RZ-1 Ü", PARTS: 2**53 + 1, FLOOR: -(2**63), ENERGY: 2**64 - 1}
OUTAGE = {RECIPE: "", PARTS: 2**53 + 3, FLOOR: -(2**63) + 1, ENERGY: 2**64 - 2}

PLANT = """\
plantos: 1
enterprise: {id: acme}
asset_types:
  press:
    tags:
      - {signal: recipe, type: text, max_length: 32}
      - {signal: parts, type: int}
      - {signal: floor, type: int}
      - {signal: energy, type: uint}
sites:
  - id: site-1
    areas:
      - id: area-1
        lines:
          - id: line-1
            assets:
              - {id: press-1, type: press}
"""


def edge_file(folder: Path, broker_port: int, modbus_port: int) -> Path:
    (folder / "plant.yaml").write_text(PLANT)
    path = folder / "edge.yaml"
    path.write_text(
        f"""\
plantos-edge: 1
plant: plant.yaml
upstream:
  broker: mqtt://127.0.0.1:{broker_port}
  edge_node: pumps
  group: site-1
  primary_host: core
spool:
  path: spool.sqlite
  max_size: 16MB
connectors:
  - kind: modbus-tcp
    name: press-plc
    host: 127.0.0.1
    port: {modbus_port}
    poll_groups:
      - interval: 100ms
        table: holding
        tags:
          - {{tag: {RECIPE}, address: 0, type: string, length: 8}}
          - {{tag: {PARTS}, address: 8, type: int64}}
          - {{tag: {FLOOR}, address: 12, type: int64}}
          - {{tag: {ENERGY}, address: 16, type: uint64}}
"""
    )
    return path


def registers(values: dict[str, object]) -> list[int]:
    """The holding registers for ``values``: the text as UTF-8, high byte first, NUL
    padded; 64-bit integers big-endian (the Modicon word order)."""
    text = str(values[RECIPE]).encode().ljust(16, b"\0")
    words = list(struct.unpack(">8H", text))
    words += struct.unpack(">4H", struct.pack(">q", values[PARTS]))
    words += struct.unpack(">4H", struct.pack(">q", values[FLOOR]))
    words += struct.unpack(">4H", struct.pack(">Q", values[ENERGY]))
    return words


def exact_values(batch: SampleBatch, tag_id: int) -> list[object]:
    """The values the core holds for one tag, exactly: text and big integers from the
    exact column, the rest as whole numbers."""
    exact = batch.exact_column()
    return [
        exact[i] if exact[i] is not None else int(batch.value[i])
        for i in range(len(batch))
        if batch.tag_id[i] == tag_id
    ]


@pytest.mark.timeout(120)
def test_text_and_64_bit_integers_arrive_exact_live_and_after_a_spool_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker binary (/usr/sbin/mosquitto) is not installed")
    for name in ("broker-a", "broker-b"):
        (tmp_path / name).mkdir()

    async def main() -> None:
        modbus_port = free_port()
        device = SimDevice(id=1, simdata=[SimData(0, values=[0] * 20, datatype=DataType.REGISTERS)])
        machine = ModbusTcpServer(device, address=("127.0.0.1", modbus_port))
        await machine.serve_forever(background=True)
        await machine.async_setValues(1, HOLDING_FC, 0, registers(LIVE))
        with contextlib.ExitStack() as first:
            broker = first.enter_context(running_mosquitto(tmp_path / "broker-a"))
            config = load_edge_config(edge_file(tmp_path, broker.port, modbus_port))
            gateway = EdgeGateway(config)
            ids = gateway.tag_ids
            tags = {ids[p]: config.plant.tags[p] for p in PATHS}
            core = Core(broker.port, "core", ids, paths=PATHS, tags=tags)
            tasks = [asyncio.create_task(c) for c in (core.supervisor.run(), gateway.run())]

            def arrived(values: dict[str, object]) -> bool:
                good = core.good()
                return all(values[p] in exact_values(good, ids[p]) for p in PATHS)

            try:
                await until(lambda: arrived(LIVE), 20, "the live values at the core")
                broker.process.kill()
                broker.process.wait(timeout=10)
                first.close()
                await until(lambda: gateway.spool.pending_samples > 0, 10, "spooling")
                await machine.async_setValues(1, HOLDING_FC, 0, registers(OUTAGE))
                held = gateway.spool.pending_samples
                await until(
                    lambda: gateway.spool.pending_samples >= held + 8, 10, "outage values spooled"
                )
                assert not arrived(OUTAGE)
                monkeypatch.setattr(mosquitto_support, "free_port", lambda: broker.port)
                with running_mosquitto(tmp_path / "broker-b"):
                    await until(lambda: arrived(OUTAGE), 60, "the replayed values at the core")
            finally:
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await machine.shutdown()  # type: ignore[no-untyped-call]

        everything = SampleBatch.concat(core.batches)
        marks = everything.select(everything.quality != quality.GOOD)
        # the only Bad samples are the host's marks that the link was lost: no value
        # was refused by the gate or the edge node
        assert set(marks.quality.tolist()) <= {quality.BAD_COMMUNICATION_ERROR}, marks
        assert marks.exact is None or not any(e is not None for e in marks.exact)
        assert not core.gate.rejected
        received = core.good()
        assert core.host.metrics()["historical"] > 0
        node = gateway.forwarder.metrics()
        assert node["type_mismatch"] == node["out_of_range"] == 0, node
        for path in PATHS:
            got = set(exact_values(received, ids[path]))
            assert got == {LIVE[path], OUTAGE[path]}, path
            for value in got:  # no float stand-in ever reached the core
                assert type(value) is type(LIVE[path])

    asyncio.run(main())
