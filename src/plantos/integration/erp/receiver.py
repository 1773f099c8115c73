"""A reference ERP-side webhook receiver: what the integrator's guide asks of an endpoint
taking PlantOS's messages, as running code. The live demo delivers its outbox to one, so
the integrations page shows real traffic; an integrator can read it as a worked example.

:class:`ErpWebhookReceiver` decides, for one request, what an ERP would answer:

* the ``PlantOS-Signature`` must verify (HMAC-SHA256 over the timestamp and the exact
  body bytes, within five minutes), else 401: PlantOS sets the message aside;
* a single message's ``Idempotency-Key`` must equal its ``id``, else 400;
* a body is one message or a batch (``{"messages": [...]}``); each message is booked
  once by its ``id``: a message sent again (a retry after a lost answer, a replay) is
  answered 200 and changes nothing.

:class:`ReceiverServer` serves a handler over HTTP on a thread of its own (the standard
library's server: nothing to install on the ERP side), bound when made so its URL is
known before it runs; ``GET`` on any path answers the receiver's counts as JSON.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from plantos.integration.channels.signature import SIGNATURE_HEADER, verify_signature


class Headers(Protocol):
    """A request's headers, looked up by name in any case (``http.server``'s)."""

    def get(self, name: str, failobj: None = None) -> str | None: ...


Handle = Callable[[Headers, bytes], tuple[int, str]]
"""One POST: its headers and body bytes in, the status and the answer's text out."""


class ErpWebhookReceiver:
    """Checks and books PlantOS's messages for a shared ``secret`` (see the module)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._lock = threading.Lock()
        self._booked: set[str] = set()
        self.by_kind: Counter[str] = Counter()
        """Messages booked, by kind."""
        self.counts = {"requests": 0, "booked": 0, "repeated": 0, "refused": 0}

    def handle(self, headers: Headers, body: bytes) -> tuple[int, str]:
        status, text = self._answer(headers, body)
        with self._lock:
            self.counts["requests"] += 1
            self.counts["refused"] += int(status >= 300)
        return status, text

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**self.counts, "by_kind": dict(sorted(self.by_kind.items()))}

    def _answer(self, headers: Headers, body: bytes) -> tuple[int, str]:
        signature = headers.get(SIGNATURE_HEADER) or ""
        if not verify_signature(self._secret, body, signature, now_s=time.time()):
            return 401, "the PlantOS-Signature does not verify"
        try:
            document = json.loads(body)
        except ValueError:
            return 400, "the body is not JSON"
        if not isinstance(document, dict):
            return 400, "the body is not a JSON object"
        if "messages" in document:
            messages = document["messages"]
        elif headers.get("Idempotency-Key") != document.get("id"):
            return 400, "the Idempotency-Key differs from the body's id"
        else:
            messages = [document]
        if not isinstance(messages, list) or not all(_is_message(m) for m in messages):
            return 400, "every message needs an id and a kind"
        with self._lock:
            for message in messages:
                self._book(message)
        return 200, "ok"

    def _book(self, message: dict[str, Any]) -> None:
        if message["id"] in self._booked:
            self.counts["repeated"] += 1
            return
        self._booked.add(message["id"])
        self.counts["booked"] += 1
        self.by_kind[message["kind"]] += 1


def _is_message(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("id"), str) and "kind" in value


class ReceiverServer:
    """``handle`` served over HTTP on ``host``:``port`` (0: any free port), bound at
    once; :meth:`start` and :meth:`stop` run and end it, :meth:`run` does both around
    a platform's life as one of its sources."""

    def __init__(
        self,
        handle: Handle,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/erp",
        stats: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status, text = handle(self.headers, self.rfile.read(length))
                self._answer(status, text.encode(), "text/plain")

            def do_GET(self) -> None:
                counts = stats() if stats is not None else {}
                self._answer(200, json.dumps(counts).encode(), "application/json")

            def _answer(self, status: int, data: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                pass  # a request per message: the counts say enough

        ThreadingHTTPServer.allow_reuse_address = True  # a restart on the same port
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.url = f"http://{host}:{self._server.server_address[1]}{path}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="erp-receiver", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    async def run(self) -> None:
        """Serve until cancelled (the platform stopping), then stop."""
        self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.to_thread(self.stop)
