"""The webhook channel against a real HTTP(S) server that checks every signature and
honours idempotency keys, the way an ERP integrator's receiver should: each message
takes effect once, a receiver that is down and comes back gets everything, a 400 for one
message dead-letters that one only, and order is kept per order."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from plantos.core.clock import WallClock
from plantos.integration.channels import DeliveryResult, OutboundMessage, Outcome
from plantos.integration.channels.signature import SIGNATURE_HEADER, verify_signature
from plantos.integration.channels.webhook import WebhookChannel
from tests.support.certs import make_ca, make_server_certificate
from tests.support.mosquitto import free_port

pytestmark = pytest.mark.timeout(60)

SECRET = b"integration-test-secret-0123456789"


class Receiver:
    """What an ERP-side receiver keeps: effects per idempotency key and arrival order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.effects: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.sequence: dict[str, list[str]] = {}
        self.answer: Callable[[dict[str, Any]], tuple[int, str, dict[str, str]] | None] = (
            lambda envelope: None
        )
        self.delay_s = 0.0
        self.batches: list[str | None] = []
        self.accepts_batches = True
        self.refuse: Callable[[dict[str, Any]], str | None] = lambda envelope: None

    def handle(self, headers: Any, body: bytes) -> tuple[int, str, dict[str, str]]:
        if not verify_signature(SECRET, body, headers.get(SIGNATURE_HEADER, ""), now_s=time.time()):
            return 401, "bad signature", {}
        document = json.loads(body)
        if "messages" in document:
            return self._batch(headers, document["messages"])
        if headers.get("Idempotency-Key") != document["id"]:
            return 400, "Idempotency-Key differs from the body's id", {}
        time.sleep(self.delay_s)
        with self.lock:
            self.requests += 1
            special = self.answer(document)
            if special is not None:
                return special
            self._apply(document)
        return 200, "ok", {}

    def _apply(self, envelope: dict[str, Any]) -> None:
        if envelope["id"] not in self.effects:  # the effect happens once per key
            self.effects[envelope["id"]] = envelope
            key = envelope["ordering_key"] or ""
            self.sequence.setdefault(key, []).append(envelope["payload"]["seq"])

    def _batch(
        self, headers: Any, envelopes: list[dict[str, Any]]
    ) -> tuple[int, str, dict[str, str]]:
        with self.lock:
            self.batches.append(headers.get("Idempotency-Key"))
            if not self.accepts_batches:
                return 400, "send one message per request", {}
            special = self.answer({"id": None, "batch": envelopes})
            if special is not None:
                return special
            rejected = []
            for envelope in envelopes:
                reason = self.refuse(envelope)
                if reason is None:
                    self._apply(envelope)
                else:
                    rejected.append({"id": envelope["id"], "reason": reason})
        return 200, json.dumps({"rejected": rejected}), {}


def make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status, text, extra = receiver.handle(self.headers, body)
            data = text.encode()
            try:
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the time-out test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(
    receiver: Receiver, port: int, tls: ssl.SSLContext | None = None
) -> Iterator[ThreadingHTTPServer]:
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(receiver))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def messages(count: int, *, orders: int = 4) -> list[OutboundMessage]:
    now = dt.datetime.now(dt.UTC)
    return [
        OutboundMessage(
            key=uuid4(),
            kind="production_performance",
            payload={"order_id": f"40{n % orders}", "good": n, "seq": f"{n:03d}"},
            created=now,
            ordering_key=f"40{n % orders}",
        )
        for n in range(count)
    ]


def deliver(channel: WebhookChannel, batch: list[OutboundMessage]) -> list[DeliveryResult]:
    async def run() -> list[DeliveryResult]:
        try:
            return await channel.deliver(batch)
        finally:
            await channel.close()

    return asyncio.run(run())


def channel(port: int, **options: Any) -> WebhookChannel:
    return WebhookChannel(
        f"http://127.0.0.1:{port}/erp/inbound", secret=SECRET, clock=WallClock(), **options
    )


def outcomes(results: list[DeliveryResult]) -> list[Outcome]:
    return [r.outcome for r in results]


def test_each_signed_message_takes_effect_once_even_when_sent_twice() -> None:
    receiver, port = Receiver(), free_port()
    batch = messages(24)
    with serving(receiver, port):
        first = deliver(channel(port), batch)
        again = deliver(channel(port), batch)
    assert outcomes(first) == [Outcome.DELIVERED] * 24
    assert outcomes(again) == [Outcome.DELIVERED] * 24
    assert [r.key for r in first] == [m.key for m in batch]
    assert receiver.requests == 48
    assert len(receiver.effects) == 24
    assert receiver.effects[str(batch[5].key)]["payload"]["good"] == 5
    for order, seqs in receiver.sequence.items():
        assert seqs == sorted(seqs), order


def test_a_receiver_that_is_down_then_back_gets_everything_once_in_order() -> None:
    receiver, port = Receiver(), free_port()
    batch = messages(12)
    down = deliver(channel(port), batch)
    assert all(r.outcome is Outcome.RETRY_LATER for r in down)
    assert "cannot reach" in down[0].reason
    held = [r for r in down if "held behind" in r.reason]
    assert len(held) == 12 - 4  # one attempt per order, its followers held
    with serving(receiver, port):
        receiver.answer = lambda env: (503, "restarting", {"Retry-After": "7"})
        busy = deliver(channel(port), batch)
        receiver.answer = lambda env: None
        back = deliver(channel(port), batch)
    assert busy[0].outcome is Outcome.RETRY_LATER
    assert busy[0].reason == "HTTP 503: restarting"
    assert busy[0].retry_after_s == 7.0
    assert outcomes(back) == [Outcome.DELIVERED] * 12
    assert len(receiver.effects) == 12
    assert all(seqs == sorted(seqs) for seqs in receiver.sequence.values())


def test_a_400_for_one_message_rejects_only_that_one() -> None:
    receiver, port = Receiver(), free_port()
    batch = messages(8)
    bad = batch[2]
    receiver.answer = lambda env: (
        (400, '{"error": "unknown unit pcx"}', {}) if env["id"] == str(bad.key) else None
    )
    with serving(receiver, port):
        results = deliver(channel(port), batch)
    rejected = [r for r in results if r.outcome is Outcome.REJECTED]
    assert [r.key for r in rejected] == [bad.key]
    assert rejected[0].reason == 'HTTP 400: {"error": "unknown unit pcx"}'
    assert sum(r.outcome is Outcome.DELIVERED for r in results) == 7
    assert batch[6].ordering_key == bad.ordering_key  # a later message of the same order
    assert str(batch[6].key) in receiver.effects


def test_a_message_waiting_for_retry_holds_its_order_but_not_the_others() -> None:
    receiver, port = Receiver(), free_port()
    batch = messages(8)
    busy = batch[1]
    receiver.answer = lambda env: (503, "busy", {}) if env["id"] == str(busy.key) else None
    with serving(receiver, port):
        results = deliver(channel(port, max_in_flight=2), batch)
    by_key = {r.key: r for r in results}
    assert by_key[busy.key].reason == "HTTP 503: busy"
    follower = batch[5]
    assert follower.ordering_key == busy.ordering_key
    assert by_key[follower.key].outcome is Outcome.RETRY_LATER
    assert by_key[follower.key].reason.startswith(f"held behind {busy.key}")
    assert str(follower.key) not in receiver.effects
    assert len(receiver.effects) == 6


def test_a_payload_that_is_not_json_is_rejected_without_a_request() -> None:
    receiver, port = Receiver(), free_port()
    odd = OutboundMessage(uuid4(), "x", {"good": float("nan")}, dt.datetime.now(dt.UTC))
    with serving(receiver, port):
        [result] = deliver(channel(port), [odd])
    assert result.outcome is Outcome.REJECTED
    assert result.reason.startswith("the x payload is not plain JSON")
    assert receiver.requests == 0


def test_a_wrong_secret_is_refused_by_the_receiver() -> None:
    receiver, port = Receiver(), free_port()
    wrong = WebhookChannel(
        f"http://127.0.0.1:{port}/", secret=b"not-the-shared-secret!", clock=WallClock()
    )
    with serving(receiver, port):
        [result] = deliver(wrong, messages(1))
    assert result.outcome is Outcome.REJECTED
    assert result.reason == "HTTP 401: bad signature"
    assert receiver.effects == {}


def test_a_slow_receiver_is_a_timeout_to_retry() -> None:
    receiver, port = Receiver(), free_port()
    receiver.delay_s = 1.5
    with serving(receiver, port):
        [result] = deliver(channel(port, timeout_s=0.2), messages(1))
    assert result.outcome is Outcome.RETRY_LATER
    assert "no answer" in result.reason


def test_https_with_the_plant_ca(tmp_path: Path) -> None:
    ca_file, ca_key, ca_cert = make_ca(tmp_path, "plant-ca")
    cert, key = make_server_certificate(tmp_path, ca_key, ca_cert)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(ca_file))
    receiver, port = Receiver(), free_port()
    url = f"https://127.0.0.1:{port}/erp"
    with serving(receiver, port, tls=server_tls):
        trusted = deliver(
            WebhookChannel(url, secret=SECRET, clock=WallClock(), verify=client_tls),
            messages(3),
        )
        untrusted = deliver(
            WebhookChannel(
                url, secret=SECRET, clock=WallClock(), verify=ssl.create_default_context()
            ),
            messages(1),
        )
    assert outcomes(trusted) == [Outcome.DELIVERED] * 3
    assert untrusted[0].outcome is Outcome.RETRY_LATER
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted[0].reason
    assert len(receiver.effects) == 3


def test_configuration_mistakes_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        WebhookChannel("ftp://erp", secret=SECRET, clock=WallClock())
    with pytest.raises(ValueError, match="at least 16 bytes"):
        WebhookChannel("https://erp", secret=b"short", clock=WallClock())
