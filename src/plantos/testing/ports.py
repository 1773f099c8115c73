"""Free TCP ports for the servers tests and benchmarks start, below the kernel's ephemeral range.

A test that stops a server and starts another on the same port (a broker outage, a
restarted peer) must find that port free again. A port handed out by ``bind(0)`` lies in
the ephemeral range, from which the kernel also takes the local port of every outgoing
connection: the clients that keep retrying the dead server may be given that very port
(one connecting to a dead port on 127.0.0.1 can even connect to itself), and the new
server then cannot bind it, or a client talks to itself. Ports below the range are never
given to outgoing connections.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
BAND = 10_000
"""How many ports below the ephemeral range are drawn from."""
_draw = random.Random()


def _ephemeral_low() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):  # not Linux: the IANA range's start
        return 49152


def free_port() -> int:
    """A port on 127.0.0.1 that nothing is bound to now, outside the ephemeral range."""
    low = _ephemeral_low()
    for _ in range(500):
        port = _draw.randrange(max(1024, low - BAND), low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port found below the ephemeral range ({low})")
