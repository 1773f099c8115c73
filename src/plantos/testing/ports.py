"""Free TCP ports for the servers tests and benchmarks start, below the kernel's ephemeral range.

A test that stops a server and starts another on the same port (a broker outage, a
restarted peer) must find that port free again. A port handed out by ``bind(0)`` lies in
the ephemeral range, from which the kernel also takes the local port of every outgoing
connection: the clients that keep retrying the dead server may be given that very port
(one connecting to a dead port on 127.0.0.1 can even connect to itself), and the new
server then cannot bind it, or a client talks to itself. Ports below the range are never
given to outgoing connections.

A port is free when probed, not reserved: the server binds it a little later. So that no
one else draws it in between, each pytest-xdist worker (``gw0``, ``gw1``, ...) draws from
its own slice of the band, and a process never hands out a port it handed out recently.
"""

from __future__ import annotations

import os
import random
import socket
from collections import deque
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
BAND = 10_000
"""How many ports below the ephemeral range are drawn from, shared among the workers."""
RECENT = 64
"""How many of the ports last handed out a process does not hand out again."""
_draw = random.Random()
_recent: deque[int] = deque(maxlen=RECENT)


def _ephemeral_low() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):  # not Linux: the IANA range's start
        return 49152


def worker_band(low: int, worker: str | None, workers: int) -> range:
    """The ports below ``low`` that the xdist worker named ``worker`` (None: no xdist)
    draws from, when ``workers`` workers share the band."""
    start = max(1024, low - BAND)
    if worker is None or not worker.startswith("gw") or workers < 2:
        return range(start, low)
    # a worker restarted after a crash is numbered on (gw2 of two): it takes a slice too
    index = int(worker.removeprefix("gw")) % workers
    width = (low - start) // workers
    return range(start + index * width, start + (index + 1) * width)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing is bound to now, outside the ephemeral range and
    inside this worker's slice of the band."""
    low = _ephemeral_low()
    band = worker_band(
        low,
        os.environ.get("PYTEST_XDIST_WORKER"),
        int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")),
    )
    for _ in range(500):
        port = _draw.choice(band)
        if port in _recent:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _recent.append(port)
        return port
    raise RuntimeError(f"no free port found in {band.start}-{band.stop - 1}, below {low}")
