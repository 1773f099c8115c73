"""One set-up at a time across processes: the test workers of a parallel run (pytest-xdist)
share the checkout, so two of them must not install the same peer environment at once, or
one would wipe what the other is installing or already using."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (created if absent), waiting for any other
    process holding it. The lock is on the folder itself: no lock file is left behind."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
