"""Transport security with certificates from ``plantos pki``: the web server over HTTPS
with HSTS and mutual TLS, and an MQTT broker asking for client certificates; in both, a
revoked or unknown client certificate is refused and a valid one gets through."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from plantos.app import Platform, Settings, create_app
from plantos.cli.serve import TlsFiles, server_config, tls_files
from plantos.core.errors import PlantOSError
from plantos.edge.mqtt.server import MqttServer, close_session, open_session
from plantos.edge.mqtt.server import TlsFiles as MqttTls
from plantos.security.pki import Issued, Pki
from tests.support.mosquitto import ListenerTls, mosquitto_binary, running_mosquitto
from tests.support.server import SMALL_PLANT, free_port, wait_until


@dataclass
class Certs:
    ca: Path
    crl: Path
    server: Issued
    good: Issued
    revoked: Issued
    stranger: Issued


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    folder = tmp_path_factory.mktemp("pki")
    pki = Pki(folder / "ca")
    pki.init()
    server = pki.issue("core", kind="server", hosts=("127.0.0.1", "localhost"))
    good = pki.issue("edge-a", kind="client")
    revoked = pki.issue("edge-b", kind="client")
    pki.revoke("edge-b")
    other = Pki(folder / "other")
    other.init(common_name="Someone else's CA")
    stranger = other.issue("edge-a", kind="client")
    return Certs(pki.ca_cert, pki.crl, server, good, revoked, stranger)


def test_the_ca_makes_sensible_certificates(certs: Certs) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    cert = x509.load_pem_x509_certificate(certs.good.cert.read_bytes())
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size >= 256
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 398
    assert certs.good.key.stat().st_mode & 0o077 == 0
    crl = x509.load_pem_x509_crl(certs.crl.read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(certs.revoked.serial) is not None
    assert crl.get_revoked_certificate_by_serial_number(certs.good.serial) is None


def test_pki_refuses_what_makes_no_sense(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    with pytest.raises(FileNotFoundError, match="pki init"):
        pki.issue("x", kind="client")
    pki.init()
    with pytest.raises(FileExistsError):
        pki.init()
    with pytest.raises(ValueError, match="needs at least one --host"):
        pki.issue("web", kind="server")
    pki.issue("x", kind="client")
    with pytest.raises(FileExistsError, match="revoke it first"):
        pki.issue("x", kind="client")
    with pytest.raises(LookupError):
        pki.revoke("y")


def test_tls_options_go_together(certs: Certs) -> None:
    with pytest.raises(PlantOSError, match="go together"):
        tls_files(certs.server.cert, None, None)
    with pytest.raises(PlantOSError, match="needs --tls-cert"):
        tls_files(None, None, certs.ca)
    with pytest.raises(PlantOSError, match="no such file"):
        tls_files(certs.server.cert, Path("missing.key"), None)


@pytest.fixture(scope="module")
def https(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """PlantOS over HTTPS asking every client for a certificate of the CA, CRL checked."""
    folder = tmp_path_factory.mktemp("https")
    (folder / "plantos.yaml").write_text(SMALL_PLANT)
    platform = Platform(Settings(config=folder / "plantos.yaml", data_dir=folder / "data"))
    tls = TlsFiles(certs.server.cert, certs.server.key, certs.ca, certs.crl)
    port = free_port()
    server = uvicorn.Server(server_config(create_app(platform), "127.0.0.1", port, tls))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), "the HTTPS server")
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _client(certs: Certs, issued: Issued | None) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(certs.ca))
    if issued is not None:
        context.load_cert_chain(str(issued.cert), str(issued.key))
    return httpx.Client(verify=context, timeout=10)


def test_a_valid_client_certificate_reaches_the_app_over_https_with_hsts(
    certs: Certs, https: str
) -> None:
    with _client(certs, certs.good) as client:
        page = client.get(f"{https}/signin")
    assert page.status_code == 401
    assert page.headers["strict-transport-security"].startswith("max-age=31536000")
    assert "secure" in page.headers["set-cookie"].lower()


@pytest.mark.parametrize("who", ["revoked", "stranger", None])
def test_a_revoked_unknown_or_missing_client_certificate_is_refused(
    certs: Certs, https: str, who: str | None
) -> None:
    issued = getattr(certs, who) if who else None
    with _client(certs, issued) as client, pytest.raises(httpx.HTTPError):
        client.get(f"{https}/signin")


@pytest.fixture(scope="module")
def mtls_broker(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MqttServer]:
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker binary (/usr/sbin/mosquitto) is not installed")
    tls = ListenerTls(certs.ca, certs.server.cert, certs.server.key, True, certs.crl)
    with running_mosquitto(tmp_path_factory.mktemp("mtls"), tls=tls) as broker:
        yield MqttServer(broker.host, broker.port)


def _connect(server: MqttServer, certs: Certs, issued: Issued) -> None:
    tls = MqttTls(certs.ca, issued.cert, issued.key)
    target = MqttServer(server.host, server.port, tls=tls)

    async def attempt() -> None:
        client = await open_session(target, client_id=f"t-{issued.name}", timeout_s=5)
        await close_session(client)

    asyncio.run(attempt())


def test_an_mqtt_connector_with_a_valid_client_certificate_connects(
    certs: Certs, mtls_broker: MqttServer
) -> None:
    _connect(mtls_broker, certs, certs.good)


@pytest.mark.parametrize("who", ["revoked", "stranger"])
def test_the_broker_refuses_a_revoked_or_unknown_client_certificate(
    certs: Certs, mtls_broker: MqttServer, who: str
) -> None:
    with pytest.raises(ConnectionError):
        _connect(mtls_broker, certs, getattr(certs, who))
