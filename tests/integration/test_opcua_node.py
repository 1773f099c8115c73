"""The OPC UA connector against node-opcua, a stack PlantOS is not built with: text, an
Int64 beyond 2**53, the largest UInt64, a Boolean and a Double arrive exact, and after the
server restarts every tag, whatever its type, recovers from BadCommunicationError;
security failures are named; browse reads an AnalogItem's unit and range."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import WallClock
from plantos.edge.opcua import OpcUaConnector, OpcUaSpec, SecuritySpec
from plantos.edge.opcua.browse import browse_opcua
from plantos.edge.supervisor import Supervisor
from tests.integration.test_opcua_connector import make_certs, secure
from tests.integration.test_opcua_errors import first_error
from tests.support import node_opcua
from tests.support.mosquitto import free_port

pytestmark = pytest.mark.timeout(120)

NAMES = ("Text", "BigInt", "Counter", "Running", "Speed")
IDS = {name: i for i, name in enumerate(NAMES, 1)}


def expected(generation: int) -> dict[str, tuple[float, object]]:
    """What server.js serves in one generation, as (value, exact)."""
    return {
        "Text": (float("nan"), f"lot-{generation}"),
        "BigInt": (float(2**53 + generation), 2**53 + generation),
        "Counter": (float(2**64 - generation), 2**64 - generation),
        "Running": (float(generation % 2 == 1), None),
        "Speed": (1000.5 + generation, None),
    }


@pytest.fixture(scope="session")
def node_opcua_installed() -> Iterator[None]:
    """node-opcua installed once per run (and kept in the directory between runs)."""
    reason = node_opcua.missing_tools()
    if reason is not None:
        pytest.skip(f"node-opcua server needs Node.js: {reason}")
    node_opcua.install()
    yield


def spec(url: str) -> OpcUaSpec:
    return OpcUaSpec.model_validate(
        {
            "kind": "opcua",
            "name": "node-opcua",
            "endpoint": url,
            "publishing_interval": "50ms",
            "sampling_interval": "10ms",
            "keepalive_interval": "300ms",
            "request_timeout": "1s",
            "tags": [{"tag": name, "node": f"ns=1;s={name}"} for name in NAMES],
        }
    )


def latest(batches: list[SampleBatch]) -> dict[str, tuple[float, object, int]]:
    """Each tag's last sample: value, exact, quality."""
    names = {i: name for name, i in IDS.items()}
    last: dict[str, tuple[float, object, int]] = {}
    for batch in batches:
        exact = batch.exact if batch.exact is not None else [None] * len(batch)
        columns = (batch.tag_id.tolist(), batch.value.tolist(), exact, batch.quality)
        for t, v, e, q in zip(*columns, strict=True):
            last[names[t]] = (v, e, int(q))
    return last


def matches(got: tuple[float, object, int], want: tuple[float, object]) -> bool:
    value, exact, code = got
    same_value = value == want[0] or (value != value and want[0] != want[0])
    return same_value and exact == want[1] and code == quality.GOOD


async def until(done: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s}s: {what}")
        await asyncio.sleep(0.05)


def test_values_arrive_exact_and_every_tag_recovers_after_restart(
    node_opcua_installed: None, tmp_path: Path
) -> None:
    async def main() -> None:
        port = free_port()
        server = await node_opcua.NodeOpcUaServer.start(port, 1, tmp_path)
        received: list[SampleBatch] = []

        async def sink(batch: SampleBatch) -> None:
            received.append(batch)

        conn = OpcUaConnector(spec(server.url), IDS, clock=WallClock())
        supervisor = Supervisor(conn, sink, backoff_initial_s=0.1, backoff_max_s=0.5)
        task = asyncio.create_task(supervisor.run())
        try:
            first = expected(1)
            await until(
                lambda: all(matches(latest(received).get(n, (0, 0, 1)), first[n]) for n in NAMES),
                f"generation 1 values {first}; got {latest(received)}",
            )
            await server.stop()
            await until(
                lambda: all(
                    latest(received)[n][2] == quality.BAD_COMMUNICATION_ERROR for n in NAMES
                ),
                "every tag BadCommunicationError while the server is down",
            )
            server = await node_opcua.NodeOpcUaServer.start(port, 2, tmp_path)
            second = expected(2)
            await until(
                lambda: all(matches(latest(received)[n], second[n]) for n in NAMES),
                f"every tag Good again with generation 2 values; got {latest(received)}",
            )
            assert supervisor.reconnects >= 1
            assert conn.metrics()["rejected"] == 0
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await server.stop()

    asyncio.run(main())


def test_security_failures_against_node_opcua_say_what_failed(
    node_opcua_installed: None, tmp_path: Path
) -> None:
    """node-opcua answers a wrong pinned certificate with BadTcpInternalError and an
    untrusted client by closing the connection; PlantOS names both, then connects with
    SignAndEncrypt once the server trusts its certificate."""

    async def main() -> None:
        (tmp_path / "certs").mkdir()
        certs = await make_certs(tmp_path / "certs")
        pki = tmp_path / "pki"
        port = free_port()
        server = await node_opcua.NodeOpcUaServer.start(port, 1, pki)
        try:
            endpoints = await Client(server.url).connect_and_get_server_endpoints()
            served = next(e.ServerCertificate for e in endpoints if e.ServerCertificate)
            (certs / "node.der").write_bytes(served)
            client = secure(certs, "client")
            wrong_pin = await first_error(secure_spec(server.url, client))
            assert "is not the pinned one (CN=plantos test server" in wrong_pin, wrong_pin
            pinned = client | {"server_certificate": str(certs / "node.der")}
            untrusted = await first_error(secure_spec(server.url, pinned))
            assert "does not trust this client's certificate (CN=plantos test client" in untrusted
        finally:
            await server.stop()
        # what an operator does: move the refused certificate from rejected to trusted
        (refused,) = (pki / "server" / "rejected").iterdir()
        shutil.move(refused, pki / "server" / "trusted" / "certs" / refused.name)
        server = await node_opcua.NodeOpcUaServer.start(port, 1, pki)
        conn = OpcUaConnector(secure_spec(server.url, pinned), IDS, clock=WallClock())
        try:
            await conn.connect()
            got: list[SampleBatch] = []
            for _ in range(200):
                got.append(await conn.collect())
                if "Speed" in latest(got):
                    break
                await asyncio.sleep(0.05)
            assert matches(latest(got)["Speed"], expected(1)["Speed"]), latest(got)
        finally:
            await conn.close()
            await server.stop()

    asyncio.run(main())


def secure_spec(url: str, security: dict[str, Any]) -> OpcUaSpec:
    return spec(url).model_copy(update={"security": SecuritySpec.model_validate(security)})


def test_browse_reads_an_analog_items_unit_and_range(
    node_opcua_installed: None, tmp_path: Path
) -> None:
    async def main() -> None:
        server = await node_opcua.NodeOpcUaServer.start(free_port(), 1, tmp_path)
        try:
            result = await browse_opcua(server.url)
        finally:
            await server.stop()
        found = {v.browse_name: v for v in result.variables}
        assert set(found) == {*NAMES, "Temperature"}  # no EURange, no EngineeringUnits
        temperature = found["Temperature"]
        assert (temperature.unit, temperature.range) == ("°C", (0.0, 300.0))
        assert found["BigInt"].value == 2**53 + 1
        assert found["BigInt"].data_type == "Int64"

    asyncio.run(main())
