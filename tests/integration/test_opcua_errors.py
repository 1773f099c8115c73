"""OPC UA failures that say what failed, against real asyncua servers: a pinned server
certificate that does not match, a client certificate the server does not trust, a
security policy or mode the server does not offer (each in the log and in the connector's
status), and a frozen server (SIGSTOP: TCP stays open, nothing answers) detected within
keepalive_interval + request_timeout."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from cryptography.x509.oid import ExtendedKeyUsageOID

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import WallClock
from plantos.edge.opcua import OpcUaConnector, OpcUaSpec
from plantos.edge.supervisor import Supervisor
from tests.integration.test_opcua_connector import Plant, free_port, make_certs, secure, spec

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]


async def first_error(s: OpcUaSpec) -> str:
    """The connector status the supervisor shows after the first failed connect."""
    conn = OpcUaConnector(s, {t.tag: i for i, t in enumerate(s.tags)}, clock=WallClock())

    async def sink(batch: SampleBatch) -> None:
        pass

    supervisor = Supervisor(conn, sink, backoff_initial_s=5, backoff_max_s=5)
    task = asyncio.create_task(supervisor.run())
    try:
        while supervisor.last_error is None:
            await asyncio.sleep(0.05)
        return supervisor.last_error
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def run_secure(
    certs: Path, cases: list[tuple[dict[str, Any], list[str]]], *, plain: bool = False
) -> None:
    async def main() -> None:
        plant = await Plant(free_port()).start(certs=None if plain else certs)
        try:
            for security, expected in cases:
                error = await first_error(spec(plant.url, security=security, request_timeout="1s"))
                for text in expected:
                    assert text in error, error
        finally:
            await plant.stop()

    asyncio.run(main())


def test_pinned_server_certificate_mismatch_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    certs = asyncio.run(make_certs(tmp_path))
    other = tmp_path / "other.der"
    asyncio.run(
        setup_self_signed_certificate(
            tmp_path / "other.pem", other, "urn:other", "other",
            [ExtendedKeyUsageOID.SERVER_AUTH], {"commonName": "some other server"},
        )
    )  # fmt: skip
    pinned_wrong = secure(certs, "client") | {"server_certificate": str(other)}
    expected = ["not the pinned one", "CN=some other server", "CN=plantos test server", "SHA-1"]
    run_secure(certs, [(pinned_wrong, ["OpcUaSecurityError", *expected])])
    assert "is not the pinned one" in caplog.text


def test_untrusted_client_certificate_is_named(tmp_path: Path) -> None:
    certs = asyncio.run(make_certs(tmp_path))
    expected = [
        "refused this client's certificate",
        "plantos test stranger",
        "BadCertificateUntrusted",
    ]
    run_secure(certs, [(secure(certs, "stranger"), expected)])


def test_policy_or_mode_the_server_does_not_offer_is_named(tmp_path: Path) -> None:
    certs = asyncio.run(make_certs(tmp_path))
    client = secure(certs, "client")
    run_secure(
        certs,
        [
            (client | {"policy": "Aes128Sha256RsaOaep"}, [
                "does not offer security policy Aes128Sha256RsaOaep with mode SignAndEncrypt",
                "it offers Basic256Sha256/SignAndEncrypt",
            ]),
            (client | {"mode": "Sign"}, ["policy Basic256Sha256 with mode Sign;"]),
            ({"policy": "None"}, ["does not offer security policy None"]),
        ],
    )  # fmt: skip
    run_secure(certs, [(client, ["it offers None/None"])], plain=True)


def test_secure_session_still_opens_when_everything_matches(tmp_path: Path) -> None:
    certs = asyncio.run(make_certs(tmp_path))

    async def main() -> None:
        plant = await Plant(free_port()).start(certs=certs)
        conn = OpcUaConnector(
            spec(plant.url, security=secure(certs, "client")),
            {t.tag: i for i, t in enumerate(spec(plant.url).tags)},
            clock=WallClock(),
        )
        try:
            await conn.connect()
            assert conn.metrics()["monitored_items"] == 2
        finally:
            await conn.close()
            await plant.stop()

    asyncio.run(main())


KEEPALIVE_S, REQUEST_TIMEOUT_S = 0.5, 1.0


def test_frozen_server_is_detected_within_keepalive_and_request_timeout() -> None:
    async def main() -> None:
        port = free_port()
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.opcua_server", str(port),
            cwd=REPO, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert server.stdout is not None
        assert (await asyncio.wait_for(server.stdout.readline(), 30)).startswith(b"ready")
        s = OpcUaSpec.model_validate(
            {
                "kind": "opcua",
                "name": "frozen",
                "endpoint": f"opc.tcp://127.0.0.1:{port}/plantos/",
                "publishing_interval": "100ms",
                "keepalive_interval": f"{KEEPALIVE_S}s",
                "request_timeout": f"{REQUEST_TIMEOUT_S}s",
                "tags": [
                    {"tag": "speed", "node": "ns=2;s=Speed"},
                    {"tag": "lot", "node": "ns=2;s=Lot"},
                ],
            }
        )
        bad_at: list[float] = []
        good: list[SampleBatch] = []

        async def sink(batch: SampleBatch) -> None:
            if (batch.quality == quality.BAD_COMMUNICATION_ERROR).all():
                bad_at.append(time.monotonic())
            else:
                good.append(batch)

        conn = OpcUaConnector(s, {"speed": 1, "lot": 2}, clock=WallClock())
        supervisor = Supervisor(conn, sink, backoff_initial_s=0.2, backoff_max_s=0.5)
        task = asyncio.create_task(supervisor.run())
        try:
            while len(good) < 3:
                await asyncio.sleep(0.05)
            os.kill(server.pid, signal.SIGSTOP)
            frozen_at = time.monotonic()
            # generous slack for a loaded machine, far below the 8 s the issue saw
            deadline = frozen_at + KEEPALIVE_S + REQUEST_TIMEOUT_S + 2.0
            while not bad_at and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert bad_at, (
                f"not marked Bad within keepalive + request_timeout: {supervisor.last_error}"
            )
            assert "server stopped answering" in (supervisor.last_error or "")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            os.kill(server.pid, signal.SIGCONT)
            server.kill()
            await server.wait()

    asyncio.run(main())
