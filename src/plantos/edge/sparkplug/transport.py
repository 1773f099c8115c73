"""The Sparkplug host's receiving end: paho's network thread, a bounded queue and a worker.

paho's network thread queues each message (bounded in bytes; a message that does not
fit is counted in ``messages_dropped``, and the gap it leaves in the node's Sparkplug
``seq`` then asks the node for a rebirth) and hands the queue to ``handle`` itself, in
arrival order, once 1 MiB is queued or the oldest message has waited ``linger_s``.
The worker thread only hands over what a stream that went quiet leaves queued: once the
oldest message has waited ``linger_s`` and no message came for ``QUIET_S``. While
messages flow, the worker neither runs nor is woken (paho's thread wakes it only when
the queue was empty), so the two threads do not take the GIL from each other and the
batches stay large. Batching is what makes the host fast: the handler's per-call numpy
overhead is shared by every message waiting. One handler call runs at a time, so the
handler needs no locks of its own.

While ``ready`` says no (the host's hand-over is nearly full: the core collects slower
than the broker delivers), messages stay queued instead of being handled, so a burst
waits here, within ``max_queued_bytes``, rather than be refused sample by sample; paho's
thread keeps reading (and answering keepalives), and the worker hands the queue over
once there is room again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

Messages = list[tuple[str, bytes]]
Handler = Callable[[mqtt.Client, Messages], None]

_WAIT_S = 0.005
"""How often the worker looks again whether the handler is ready."""
QUIET_S = 0.002
"""A queue due for handling is left to paho's thread while messages keep arriving more
often than this: it handles the queue itself at its next message."""
BATCH_BYTES = 1024 * 1024
"""Messages are handled in batches of up to this much payload: enough to share the numpy
overhead over tens of thousands of metrics (at 500 metrics a message, a quarter of this
left a third of the handling time in per-batch overhead), small enough for a low
latency and a batch far below the host's ``max_buffer`` samples."""


class Transport:
    """Queue and threads around one paho client (see the module doc)."""

    def __init__(
        self,
        *,
        name: str,
        handle: Handler,
        max_queued_bytes: int,
        linger_s: float,
        on_error: Callable[[str], None],
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self._name = name
        self._handle = handle
        self._ready = ready
        self.max_queued_bytes = max_queued_bytes
        self.linger_s = linger_s
        self._on_error = on_error
        self._queue: deque[tuple[str, bytes]] = deque()
        self._queued_bytes = 0
        self._queue_lock = threading.Lock()
        self._queued_since = 0.0
        self._last_arrival = 0.0
        self._handling = threading.Lock()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        self.closing = False
        self.lost: str | None = None
        self.messages = 0
        self.messages_dropped = 0
        self.handling_s = 0.0
        """Time spent handling messages (decoding, checks, samples), not receiving them."""

    def start(self, client: mqtt.Client) -> None:
        """Begin handing ``client``'s messages to the handler."""
        self.closing = False
        self.lost = None
        self._worker = threading.Thread(
            target=self._work, args=(client,), name=f"{self._name}-worker", daemon=True
        )
        self._worker.start()

    async def stop(self, *, join_timeout_s: float) -> None:
        """Stop the worker; messages still queued are not handled."""
        self.closing = True
        worker, self._worker = self._worker, None
        self._wake.set()
        if worker is not None:
            await asyncio.to_thread(worker.join, join_timeout_s)
        with self._queue_lock:
            self._queue.clear()
            self._queued_bytes = 0

    def on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        if not self.closing:
            self.lost = f"disconnected ({rc})"
            log.warning("%s: disconnected from the MQTT server: %s", self._name, rc)

    def on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """In paho's thread: queue the message; once a batch's worth is queued or the oldest
        has waited ``linger_s``, handle the queue right here (one thread doing both is
        faster than two fighting over the GIL)."""
        self.messages += 1
        payload = bytes(msg.payload)
        now = time.monotonic()
        with self._queue_lock:
            if self._queued_bytes + len(payload) > self.max_queued_bytes and self._queue:
                self.messages_dropped += 1
                return
            first = not self._queue
            if first:
                self._queued_since = now
            self._queue.append((msg.topic, payload))
            self._queued_bytes += len(payload)
            self._last_arrival = now
            due = self._queued_bytes >= BATCH_BYTES or now - self._queued_since >= self.linger_s
        if due and self._ready():
            self._drain(client)
        elif first or due:
            self._wake.set()

    def _work(self, client: mqtt.Client) -> None:
        """The worker thread: handles what a stream that went quiet leaves queued, once the
        oldest queued message has waited ``linger_s`` and no message came for
        ``QUIET_S``, until :meth:`stop`. While messages keep coming, paho's thread handles
        the queue itself."""
        while not self.closing:
            if not self._wake.wait(0.5):
                continue
            self._wake.clear()
            while not self.closing:
                with self._queue_lock:
                    if not self._queue:
                        break
                    due = max(self._queued_since + self.linger_s, self._last_arrival + QUIET_S)
                    wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                    continue
                if not self._ready():
                    time.sleep(_WAIT_S)
                    continue
                self._drain(client)

    def _drain(self, client: mqtt.Client) -> None:
        """Handle everything queued, a batch at a time, in order (one thread at a time)."""
        with self._handling:
            while not self.closing:
                if not self._ready():
                    self._wake.set()  # the worker takes it from here once there is room
                    return
                batch: Messages = []
                size = 0
                with self._queue_lock:
                    while self._queue and size < BATCH_BYTES:
                        batch.append(self._queue.popleft())
                        size += len(batch[-1][1])
                    self._queued_bytes -= size
                    self._queued_since = time.monotonic()
                if not batch:
                    return
                started = time.perf_counter()
                try:
                    self._handle(client, batch)
                except Exception as exc:  # a bug must never stop paho's thread or the worker
                    self._on_error(f"cannot handle {len(batch)} messages: {exc!r}")
                self.handling_s += time.perf_counter() - started
