"""The OPC UA connector against a real asyncua server on 127.0.0.1: values with their
source timestamps and exact status codes, deadbands, browse paths, Basic256Sha256
SignAndEncrypt with certificates made for the test, a server restart survived through the
real supervisor, and the YAML shape."""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.server import Server
from cryptography.x509.oid import ExtendedKeyUsageOID
from pydantic import ValidationError

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import WallClock
from plantos.edge.opcua import OpcUaConnector, OpcUaSpec
from plantos.edge.supervisor import Supervisor
from tests.support.ports import free_port

pytestmark = pytest.mark.timeout(30)

SPEED, LOAD, MISSING = 1, 2, 3
SPEED_TAG = "plant-a/machining/line-1/cnc-07/spindle_speed"
LOAD_TAG = "plant-a/machining/line-1/cnc-07/spindle_load"
LOAD_PATH = "0:Objects/2:CNC07/2:Spindle/2:Load"
SERVER_URI = "urn:plantos:test:server"
CLIENT_URI = "urn:plantos:test:client"
TYPED: dict[str, tuple[Any, ua.VariantType]] = {
    "Lot": ("L-0001", ua.VariantType.String),
    "Title": (ua.LocalizedText("Roughing", "en"), ua.VariantType.LocalizedText),
    "Parts": (2**53 + 1, ua.VariantType.Int64),
    "Debt": (-(2**63), ua.VariantType.Int64),
    "Energy": (2**64 - 1, ua.VariantType.UInt64),
    "Small": (42, ua.VariantType.UInt64),
    "Running": (True, ua.VariantType.Boolean),
    "Mode": (3, ua.VariantType.Int32),
    "Shape": ([1.0, 2.0], ua.VariantType.Double),
}
"""Variables of every kind a tag holds, and an array, which no tag holds."""
T0 = datetime(2026, 1, 5, 6, 0, 0, 123456, tzinfo=UTC)
T0_NS = 1_767_592_800_123_456_000


class Plant:
    """An asyncua server with a CNC07 spindle: Speed (ns=2;s=Spindle.Speed) and Load."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"opc.tcp://127.0.0.1:{port}/plantos/"
        self.server = Server()
        self.loop: asyncio.AbstractEventLoop | None = None
        """Set when the server runs on another thread's loop, shared by several tests."""

    async def start(self, *, certs: Path | None = None) -> Plant:
        await self.server.init()
        self.server.set_endpoint(self.url)
        if certs is not None:
            await self._secure(certs)
        ns = await self.server.register_namespace("urn:plantos:test")
        cnc = await self.server.nodes.objects.add_object(ns, "CNC07")
        spindle = await cnc.add_object(ns, "Spindle")
        self.speed = await spindle.add_variable(ua.NodeId("Spindle.Speed", ns), "Speed", 0.0)
        self.load = await spindle.add_variable(ns, "Load", 0.0)
        self.program = await spindle.add_variable(ua.NodeId("Program", ns), "Program", "O1000")
        self.typed = {
            name: await spindle.add_variable(ua.NodeId(name, ns), name, ua.Variant(value, kind))
            for name, (value, kind) in TYPED.items()
        }
        await self.server.start()
        return self

    async def _secure(self, certs: Path) -> None:
        await self.server.set_application_uri(SERVER_URI)
        await self.server.load_certificate(str(certs / "server.der"))
        await self.server.load_private_key(str(certs / "server.pem"))
        self.server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        store = TrustStore([certs / "trusted"], [])
        await store.load()
        options = (
            CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_CLIENT
        )
        self.server.set_certificate_validator(CertificateValidator(options, store))

    async def write(
        self, node: Any, value: Any, kind: ua.VariantType | None = None, **fields: Any
    ) -> None:
        if kind is None:
            kind = ua.VariantType.String if isinstance(value, str) else ua.VariantType.Double
        write = node.write_value(ua.DataValue(ua.Variant(value, kind), **fields))
        if self.loop is None:
            await write
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(write, self.loop))

    async def stop(self) -> None:
        await self.server.stop()


def spec(url: str, **overrides: Any) -> OpcUaSpec:
    doc: dict[str, Any] = {
        "kind": "opcua",
        "name": "cnc-cell",
        "endpoint": url,
        "publishing_interval": "50ms",
        "sampling_interval": "10ms",
        "tags": [
            {"tag": SPEED_TAG, "node": "ns=2;s=Spindle.Speed", "deadband": 0.5},
            {"tag": LOAD_TAG, "browse_path": LOAD_PATH},
        ],
    }
    return OpcUaSpec.model_validate(doc | overrides)


def connector(s: OpcUaSpec) -> OpcUaConnector:
    ids = {SPEED_TAG: SPEED, LOAD_TAG: LOAD, "missing": MISSING}
    return OpcUaConnector(s, ids, clock=WallClock())


async def collect_until(
    conn: OpcUaConnector, done: Callable[[SampleBatch], bool], timeout_s: float = 5.0
) -> SampleBatch:
    """Collect until the samples gathered so far satisfy ``done``."""
    got: list[SampleBatch] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got.append(await conn.collect())
        batch = SampleBatch.concat(got)
        if done(batch):
            return batch
        await asyncio.sleep(0.05)
    raise AssertionError(f"not received in {timeout_s}s: {SampleBatch.concat(got)}")


def has(tag_id: int, value: float) -> Callable[[SampleBatch], bool]:
    return lambda b: bool(((b.tag_id == tag_id) & (b.value == value)).any())


def samples(batch: SampleBatch, tag_id: int) -> list[tuple[int, float, int]]:
    rows = zip(batch.ts.tolist(), batch.value.tolist(), batch.quality.tolist(), strict=True)
    return [r for r, t in zip(rows, batch.tag_id.tolist(), strict=True) if t == tag_id]


@pytest.fixture(scope="module")
def plant() -> Iterator[Plant]:
    """One plain server for the tests that need nothing special: starting one takes seconds."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running = asyncio.run_coroutine_threadsafe(Plant(free_port()).start(), loop).result(30)
    running.loop = loop
    try:
        yield running
    finally:
        asyncio.run_coroutine_threadsafe(running.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def run(body: Callable[[Plant], Awaitable[None]], *, certs: Path | None = None) -> None:
    async def main() -> None:
        plant = await Plant(free_port()).start(certs=certs)
        try:
            await body(plant)
        finally:
            await plant.stop()

    asyncio.run(main())


def test_values_arrive_with_source_timestamp_and_good_quality(plant: Plant) -> None:
    async def body(plant: Plant) -> None:
        conn = connector(spec(plant.url))
        await conn.connect()
        try:
            await plant.write(plant.speed, 1200.0, SourceTimestamp=T0)
            batch = await collect_until(conn, has(SPEED, 1200.0))
            assert (T0_NS, 1200.0, quality.GOOD) in samples(batch, SPEED)
            assert conn.metrics()["monitored_items"] == 2
        finally:
            await conn.close()

    asyncio.run(body(plant))


def test_absolute_deadband_suppresses_small_changes(plant: Plant) -> None:
    async def body(plant: Plant) -> None:
        conn = connector(spec(plant.url))
        await conn.connect()
        try:
            for value in (10.0, 10.2, 10.4, 11.0):
                await plant.write(plant.speed, value)
                await asyncio.sleep(0.1)
            batch = await collect_until(conn, has(SPEED, 11.0))
            values = [v for _, v, _ in samples(batch, SPEED)]
            assert 10.0 in values
            assert 10.2 not in values
            assert 10.4 not in values
        finally:
            await conn.close()

    asyncio.run(body(plant))


def test_bad_status_code_arrives_whole(plant: Plant) -> None:
    async def body(plant: Plant) -> None:
        conn = connector(spec(plant.url))
        await conn.connect()
        try:
            status = ua.StatusCode(ua.StatusCodes.BadSensorFailure)
            await plant.write(plant.load, 3.5, StatusCode=status, SourceTimestamp=T0)
            bad = quality.BAD_SENSOR_FAILURE
            batch = await collect_until(conn, lambda b: bool((b.quality == bad).any()))
            ((ts, value, code),) = [r for r in samples(batch, LOAD) if r[2] == bad]
            assert (ts, code) == (T0_NS, bad)
            assert math.isnan(value) or value == 3.5  # a server may drop a Bad value
        finally:
            await conn.close()

    asyncio.run(body(plant))


def test_browse_path_resolves_and_unmatched_path_gives_bad_sample(plant: Plant) -> None:
    async def body(plant: Plant) -> None:
        tags = [
            {"tag": LOAD_TAG, "browse_path": LOAD_PATH},
            {"tag": "missing", "browse_path": "0:Objects/2:CNC07/2:NoSuchThing"},
        ]
        conn = connector(spec(plant.url, tags=tags))
        await conn.connect()
        try:
            await plant.write(plant.load, 42.0)
            batch = await collect_until(conn, has(LOAD, 42.0))
            (missing,) = samples(batch, MISSING)
            assert math.isnan(missing[1])
            assert quality.severity(missing[2]) == "bad"
            assert conn.metrics()["monitored_items"] == 1
        finally:
            await conn.close()

    asyncio.run(body(plant))


def typed_connector(url: str) -> OpcUaConnector:
    tags = [{"tag": name, "node": f"ns=2;s={name}"} for name in TYPED]
    ids = {name: i for i, name in enumerate(TYPED, 10)}
    return OpcUaConnector(spec(url, tags=tags), ids, clock=WallClock())


def by_tag(batch: SampleBatch, conn: OpcUaConnector) -> dict[str, tuple[float, object, int]]:
    """The last sample of each tag: value, exact and quality."""
    names = {tag_id: t.tag for tag_id, t in zip(conn.tag_ids, conn.spec.tags, strict=True)}
    exact = batch.exact if batch.exact is not None else [None] * len(batch)
    return {
        names[t]: (v, e, q)
        for t, v, e, q in zip(
            batch.tag_id.tolist(), batch.value.tolist(), exact, batch.quality.tolist(), strict=True
        )
    }


def test_text_and_64_bit_integers_arrive_exact(plant: Plant) -> None:
    async def body(plant: Plant) -> None:
        conn = typed_connector(plant.url)
        await conn.connect()
        try:
            batch = await collect_until(conn, lambda b: len(set(b.tag_id.tolist())) == len(TYPED))
            got = by_tag(batch, conn)
            assert got["Lot"][1:] == ("L-0001", quality.GOOD) and math.isnan(got["Lot"][0])
            assert got["Title"][1] == "Roughing"
            assert got["Parts"] == (float(2**53), 2**53 + 1, quality.GOOD)
            assert got["Debt"] == (float(-(2**63)), -(2**63), quality.GOOD)
            assert got["Energy"] == (float(2**64), 2**64 - 1, quality.GOOD)
            assert got["Small"] == (42.0, None, quality.GOOD)
            assert got["Running"] == (1.0, None, quality.GOOD)
            assert got["Mode"] == (3.0, None, quality.GOOD)
            await plant.write(plant.typed["Lot"], "L-0002")
            batch = await collect_until(conn, lambda b: "L-0002" in by_tag(b, conn).get("Lot", ()))
            assert conn.metrics()["notifications"] >= len(TYPED) + 1
        finally:
            await conn.close()

    asyncio.run(body(plant))


def test_value_no_tag_can_hold_is_a_bad_sample_counted_and_logged(
    plant: Plant, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(plant: Plant) -> None:
        conn = typed_connector(plant.url)
        await conn.connect()
        try:
            batch = await collect_until(conn, lambda b: "Shape" in by_tag(b, conn))
            value, exact, code = by_tag(batch, conn)["Shape"]
            assert math.isnan(value) and exact is None
            assert quality.name(code) == "BadTypeMismatch"
            assert conn.metrics()["rejected"] == 1
        finally:
            await conn.close()

    with caplog.at_level("WARNING", logger="plantos.edge.opcua"):
        asyncio.run(body(plant))
    assert "Shape sends list values" in caplog.text


async def make_certs(tmp: Path) -> Path:
    host = socket.gethostname()
    (tmp / "trusted").mkdir()
    await setup_self_signed_certificate(
        tmp / "server.pem",
        tmp / "server.der",
        SERVER_URI,
        host,
        [ExtendedKeyUsageOID.SERVER_AUTH],
        {"commonName": "plantos test server"},
    )
    for name, trusted in (("client", True), ("stranger", False)):
        await setup_self_signed_certificate(
            tmp / f"{name}.pem",
            tmp / ("trusted" if trusted else ".") / f"{name}.der",
            CLIENT_URI,
            host,
            [ExtendedKeyUsageOID.CLIENT_AUTH],
            {"commonName": f"plantos test {name}"},
        )
    return tmp


def secure(certs: Path, name: str) -> dict[str, Any]:
    folder = certs / "trusted" if name == "client" else certs
    return {
        "policy": "Basic256Sha256",
        "mode": "SignAndEncrypt",
        "certificate": str(folder / f"{name}.der"),
        "private_key": str(certs / f"{name}.pem"),
        "server_certificate": str(certs / "server.der"),
    }


def test_sign_and_encrypt_with_trusted_client_certificate(tmp_path: Path) -> None:
    certs = asyncio.run(make_certs(tmp_path))

    async def body(plant: Plant) -> None:
        conn = connector(spec(plant.url, security=secure(certs, "client")))
        await conn.connect()
        try:
            await plant.write(plant.speed, 800.0, SourceTimestamp=T0)
            batch = await collect_until(conn, has(SPEED, 800.0))
            assert (T0_NS, 800.0, quality.GOOD) in samples(batch, SPEED)
        finally:
            await conn.close()

    run(body, certs=certs)


def test_client_without_certificate_or_untrusted_is_refused(tmp_path: Path) -> None:
    certs = asyncio.run(make_certs(tmp_path))

    async def body(plant: Plant) -> None:
        for security in ({"policy": "None"}, secure(certs, "stranger")):
            conn = connector(spec(plant.url, security=security))
            with pytest.raises(Exception):  # noqa: B017 - asyncua raises several kinds
                await conn.connect()
            assert conn.metrics()["monitored_items"] == 0
            await conn.close()

    run(body, certs=certs)


def test_supervisor_reconnects_and_resubscribes_after_server_restart() -> None:
    async def main() -> None:
        port = free_port()
        plant = await Plant(port).start()
        tags = [
            {"tag": SPEED_TAG, "node": "ns=2;s=Spindle.Speed"},
            {"tag": "missing", "node": "ns=2;s=Program"},  # a String: text recovers too
        ]
        conn = connector(
            spec(plant.url, tags=tags, keepalive_interval="200ms", request_timeout="1s")
        )
        received: list[SampleBatch] = []

        async def sink(batch: SampleBatch) -> None:
            received.append(batch)

        supervisor = Supervisor(conn, sink, backoff_initial_s=0.1, backoff_max_s=0.5)
        task = asyncio.create_task(supervisor.run())
        try:
            await wait_for(lambda: has(SPEED, 1.0)(SampleBatch.concat(received)), plant, 1.0)
            await plant.stop()
            plant = await Plant(port).start()
            await wait_for(lambda: has(SPEED, 2.0)(SampleBatch.concat(received)), plant, 2.0)
            all_samples = SampleBatch.concat(received)
            assert supervisor.reconnects >= 1
            codes = {q for _, _, q in samples(all_samples, SPEED)}
            assert quality.BAD_COMMUNICATION_ERROR in codes
            program = [
                (q, e)
                for t, q, e in zip(
                    all_samples.tag_id, all_samples.quality, all_samples.exact, strict=True
                )
                if t == MISSING
            ]
            assert program[-1] == (quality.GOOD, "O1000")  # Good again after the Bad
            assert (quality.BAD_COMMUNICATION_ERROR, None) in program
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await plant.stop()

    asyncio.run(main())


async def wait_for(done: Callable[[], bool], plant: Plant, value: float) -> None:
    """Keep writing ``value`` to the speed variable until ``done``; 15 s at most."""
    deadline = time.monotonic() + 15
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{value} did not arrive")
        await plant.write(plant.speed, value)
        await asyncio.sleep(0.1)


URL = "opc.tcp://127.0.0.1:4840"


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ({"tag": "t", "node": "ns=2;s=A", "browse_path": "0:Objects"}, "exactly one"),
        ({"tag": "t"}, "exactly one"),
        ({"tag": "t", "node": "Spindle.Speed"}, "not a NodeId"),
        ({"tag": "t", "browse_path": "Objects/CNC07"}, "not a browse path"),
    ],
)
def test_tag_needs_exactly_one_valid_address(tag: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        spec(URL, tags=[tag])


def test_bad_duration_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a duration"):
        spec(URL, publishing_interval="1 second")


def test_password_in_yaml_is_refused() -> None:
    with pytest.raises(ValidationError, match="password does not belong in YAML"):
        spec(URL, user={"name": "reader", "password": "hunter2"})


def test_security_policy_needs_its_files_and_none_takes_none() -> None:
    with pytest.raises(ValidationError, match="needs certificate, private_key"):
        spec(URL, security={"policy": "Basic256Sha256"})
    with pytest.raises(ValidationError, match="policy None takes no mode"):
        spec(URL, security={"policy": "None", "mode": "Sign"})


def test_unknown_keys_and_missing_tag_ids_are_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        spec(URL, polling="1s")
    with pytest.raises(ValueError, match="no tag id"):
        OpcUaConnector(spec(URL), {SPEED_TAG: SPEED}, clock=WallClock())


def test_password_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANTOS_TEST_OPCUA_PW", raising=False)
    s = spec(URL, user={"name": "reader", "password_env": "PLANTOS_TEST_OPCUA_PW"})
    conn = connector(s)
    with pytest.raises(ValueError, match="PLANTOS_TEST_OPCUA_PW is not set"):
        asyncio.run(conn.connect())
