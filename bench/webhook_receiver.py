"""A webhook receiver for the delivery benchmarks, run in its own process, and the bare
client that measures its ceiling.

The receiver is what an integrator would write: it checks the HMAC-SHA256 signature of
every request, refuses a request whose ``Idempotency-Key`` differs from the body's ``id``,
and books each key once with the wall-clock nanosecond it arrived. It runs under
uvicorn in a child process, so the sender under test and the receiver do not share an
interpreter lock. ``GET /stats`` gives the counts, ``GET /times`` the arrival time of
every booked key, ``POST /reset`` forgets everything between rounds.

The bare client (:func:`bare_post`) posts prepared bodies, signed, over one pooled
``httpx.AsyncClient`` with the same connection limit as PlantOS's webhook channel:
the most any sender in Python gets out of this receiver.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import httpx

from plantos.integration.channels.signature import SIGNATURE_HEADER, sign, verify_signature

SECRET = b"bench-webhook-secret-0123456789abcdef"
IN_FLIGHT = 8
"""Requests at once: the webhook channel's default ``max_in_flight``, for both senders."""

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class _Book:
    """What the receiver took: arrival ns per key, requests and refusals."""

    def __init__(self) -> None:
        self.times: dict[str, int] = {}
        self.requests = 0
        self.refused = 0

    def take(self, headers: dict[bytes, bytes], body: bytes) -> int:
        arrived = time.time_ns()
        self.requests += 1
        signature = headers.get(SIGNATURE_HEADER.lower().encode(), b"").decode()
        if not verify_signature(SECRET, body, signature, now_s=time.time()):
            self.refused += 1
            return 401
        key = json.loads(body)["id"]
        if headers.get(b"idempotency-key", b"").decode() != key:
            self.refused += 1
            return 400
        self.times.setdefault(key, arrived)  # the effect happens once per key
        return 200


BOOK = _Book()


async def app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
    """The receiver as a bare ASGI application (no framework between it and uvicorn)."""
    global BOOK
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    route = (scope["method"], scope["path"])
    answer: Any = "ok"
    if route == ("POST", "/hook"):
        status = BOOK.take(dict(scope["headers"]), body)
    elif route == ("GET", "/stats"):
        status = 200
        answer = {"requests": BOOK.requests, "booked": len(BOOK.times), "refused": BOOK.refused}
    elif route == ("GET", "/times"):
        status, answer = 200, BOOK.times
    elif route == ("POST", "/reset"):
        status, BOOK = 200, _Book()
    else:
        status, answer = 404, "no such route"
    data = json.dumps(answer).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def serve(port: int) -> None:
    import uvicorn

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
        lifespan="off", http="h11", loop="asyncio",
    )  # fmt: skip


@dataclass(frozen=True)
class Receiver:
    """The running receiver: its hook URL and a synchronous control client."""

    base: str

    @property
    def url(self) -> str:
        return f"{self.base}/hook"

    def stats(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.base}/stats", timeout=30).json())

    def times(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.base}/times", timeout=60).json())

    def reset(self) -> None:
        httpx.post(f"{self.base}/reset", timeout=30).raise_for_status()


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A receiver process on a free port of 127.0.0.1, stopped when the block ends."""
    port = common.free_port()
    proc = subprocess.Popen([sys.executable, __file__, str(port)], cwd=common.REPO)
    running = Receiver(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                running.stats()
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the webhook receiver did not start") from None
                time.sleep(0.1)
        yield running
    finally:
        proc.terminate()
        proc.wait(10)


def signed_headers(key: str, body: bytes) -> dict[str, str]:
    """The headers PlantOS's webhook channel sends, signed now."""
    return {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        SIGNATURE_HEADER: sign(SECRET, body, timestamp_s=int(time.time())),
    }


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(limits=httpx.Limits(max_connections=IN_FLIGHT), timeout=30)


async def bare_post(url: str, bodies: Sequence[tuple[str, bytes]]) -> float:
    """Seconds to POST every ``(key, body)`` signed, ``IN_FLIGHT`` at once over a fresh
    pooled client (connections are opened inside the timing, as the channel's are)."""
    slots = asyncio.Semaphore(IN_FLIGHT)
    started = time.perf_counter()
    async with _client() as client:

        async def one(key: str, body: bytes) -> None:
            async with slots:
                response = await client.post(url, content=body, headers=signed_headers(key, body))
            response.raise_for_status()

        await asyncio.gather(*(one(key, body) for key, body in bodies))
    return time.perf_counter() - started


async def bare_paced(
    url: str, bodies: Sequence[tuple[str, bytes]], *, rate: float
) -> dict[str, int]:
    """POST the bodies one every ``1 / rate`` s without waiting for answers; the wall
    nanosecond before each POST, by key."""
    sent: dict[str, int] = {}
    async with _client() as client:

        async def one(key: str, body: bytes) -> None:
            (
                await client.post(url, content=body, headers=signed_headers(key, body))
            ).raise_for_status()

        tasks = []
        for key, body in bodies:
            sent[key] = time.time_ns()
            tasks.append(asyncio.create_task(one(key, body)))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)
    return sent


if __name__ == "__main__":
    serve(int(sys.argv[1]))
