"""An ERP-side webhook receiver as an integrator should write one: it checks the
signature, books each message once by its idempotency key, and remembers the order in
which each order's messages took effect. It can refuse chosen messages (400) and be
stopped and started again on the same port (an outage)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from plantos.integration.channels.signature import SIGNATURE_HEADER, verify_signature
from plantos.integration.erp.receiver import ReceiverServer

SECRET = b"erp-receiver-test-secret-0123456789"


class ErpReceiver:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.effects: dict[str, dict[str, Any]] = {}
        self.sequence: dict[str, list[int]] = {}
        self.requests = 0
        self.delay_s = 0.0
        self.refuse: Callable[[dict[str, Any]], str | None] = lambda envelope: None
        """The reason to refuse a message (None: take it), answered with ``answer_status``."""
        self.answer_status = 400
        self.refused: list[str] = []

    def handle(self, headers: Any, body: bytes) -> tuple[int, str]:
        if not verify_signature(SECRET, body, headers.get(SIGNATURE_HEADER, ""), now_s=time.time()):
            return 401, "bad signature"
        envelope = json.loads(body)
        if headers.get("Idempotency-Key") != envelope["id"]:
            return 400, "Idempotency-Key differs from the body's id"
        time.sleep(self.delay_s)
        with self.lock:
            self.requests += 1
            reason = self.refuse(envelope)
            if reason is not None:
                self.refused.append(envelope["id"])
                return self.answer_status, reason
            if envelope["id"] not in self.effects:  # the effect happens once per key
                self.effects[envelope["id"]] = envelope
                order = envelope["ordering_key"]
                self.sequence.setdefault(order, []).append(envelope["payload"]["good"])
        return 200, "ok"


@contextmanager
def serving(receiver: ErpReceiver, port: int) -> Iterator[None]:
    """``receiver`` answering on ``port`` until the block ends."""
    server = ReceiverServer(receiver.handle, port=port)
    server.start()
    try:
        yield
    finally:
        server.stop()
