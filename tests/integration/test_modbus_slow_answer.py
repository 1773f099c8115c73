"""One answer slower than the timeout, from a real pymodbus server, under the real
supervisor: the connector sends the request once more on the same connection and the
poll delivers its values; the link is not dropped, no tag is marked Bad, and the resent
read is counted. With ``retries: 0`` the same slow answer drops the link."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import WallClock
from plantos.edge.modbus import ModbusTcpConnector, ModbusTcpSpec
from plantos.edge.supervisor import Supervisor
from tests.support.ports import free_port

pytestmark = pytest.mark.timeout(30)

TIMEOUT_S = 0.5
SLOW_READ = 4
"""The device answers its 4th read only after 1.5 timeouts; every other read at once."""
GOOD_POLLS = SLOW_READ + 3
IDS = {"f/zone_1_temperature": 1, "f/gas_flow": 2}


class SlowOnce:
    """A pymodbus simulator action: counts the reads and holds one answer back."""

    def __init__(self) -> None:
        self.reads = 0

    async def answer(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.reads += 1
        if self.reads == SLOW_READ:
            await asyncio.sleep(1.5 * TIMEOUT_S)
        return None


def spec(port: int, **extra: Any) -> ModbusTcpSpec:
    return ModbusTcpSpec.model_validate(
        {
            "kind": "modbus-tcp",
            "name": "furnace-1-plc",
            "host": "127.0.0.1",
            "port": port,
            "timeout": f"{round(TIMEOUT_S * 1000)}ms",
            "poll_groups": [
                {
                    "interval": "100ms",
                    "table": "holding",
                    "tags": [
                        {"tag": "f/zone_1_temperature", "address": 0, "type": "int16"},
                        {"tag": "f/gas_flow", "address": 1, "type": "int16"},
                    ],
                }
            ],
        }
        | extra
    )


async def run_until_good_polls(
    **extra: Any,
) -> tuple[list[SampleBatch], Supervisor, SlowOnce]:
    """Poll a server whose 4th answer is slow until :data:`GOOD_POLLS` polls read Good."""
    action = SlowOnce()
    bits = [SimData(0, values=[False], datatype=DataType.BITS)]
    holding = [SimData(0, values=[850, 12], datatype=DataType.REGISTERS)]
    inputs = [SimData(0, values=[0], datatype=DataType.REGISTERS)]
    device = SimDevice(id=1, simdata=(bits, bits, holding, inputs), action=action.answer)
    port = free_port()
    server = ModbusTcpServer(device, address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    batches: list[SampleBatch] = []

    async def sink(batch: SampleBatch) -> None:
        batches.append(batch)

    def good_polls() -> int:
        return sum(1 for b in batches if not quality.is_bad(b.quality).any())

    connector = ModbusTcpConnector(spec(port, **extra), IDS, clock=WallClock())
    supervisor = Supervisor(connector, sink)
    task = asyncio.create_task(supervisor.run())
    try:
        async with asyncio.timeout(20):
            while good_polls() < GOOD_POLLS:
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.shutdown()  # type: ignore[no-untyped-call]
    return batches, supervisor, action


def test_one_slow_answer_is_ridden_out_on_the_same_connection() -> None:
    batches, supervisor, action = asyncio.run(run_until_good_polls())
    assert [sorted(b.tag_id.tolist()) for b in batches] == [[1, 2]] * len(batches)
    bad = [b for b in batches if quality.is_bad(b.quality).any()]
    assert bad == []  # no poll lost, no link-lost mark
    assert all(b.value.tolist() == [850.0, 12.0] for b in batches)
    metrics = supervisor.metrics()
    assert (metrics["reconnects"], metrics["errors"], metrics["timeouts"]) == (0, 0, 0)
    assert metrics["retried_reads"] == 1
    assert metrics["reads"] == len(batches)
    assert action.reads == len(batches) + 1  # the slow read was sent twice


def test_without_retries_one_slow_answer_drops_the_link() -> None:
    batches, supervisor, _ = asyncio.run(run_until_good_polls(retries=0))
    marks = [b for b in batches if (b.quality == quality.BAD_COMMUNICATION_ERROR).all()]
    assert len(marks) == 1
    metrics = supervisor.metrics()
    assert (metrics["reconnects"], metrics["timeouts"], metrics["retried_reads"]) == (1, 1, 0)
