"""Receivers for notification tests: an aiosmtpd mailbox that requires STARTTLS and a
webhook receiver (a real HTTP server) that checks signatures and books each
idempotency key once."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from plantos.integration.channels.signature import SIGNATURE_HEADER, verify_signature
from tests.support.certs import make_ca, make_server_certificate
from tests.support.mosquitto import free_port

SECRET = b"notification-test-secret-0123456789"


class Mailbox:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


class Receiver:
    """A webhook receiver that checks signatures and books each idempotency key once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.effects: dict[str, dict[str, Any]] = {}
        self.requests = 0

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = verify_signature(
                    SECRET, body, self.headers.get(SIGNATURE_HEADER, ""), now_s=time.time()
                )
                if ok:
                    document = json.loads(body)
                    with receiver.lock:
                        receiver.requests += 1
                        receiver.effects.setdefault(document["id"], document)
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def serving(receiver: Receiver, port: int) -> Iterator[None]:
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), receiver.handler())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def mail_server(folder: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    """A STARTTLS mail server on a free port: its mailbox, port and CA file."""
    ca_file, ca_key, ca_cert = make_ca(folder, "mail-ca")
    cert, key = make_server_certificate(folder, ca_key, ca_cert)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        yield mailbox, port, ca_file
    finally:
        controller.stop()
