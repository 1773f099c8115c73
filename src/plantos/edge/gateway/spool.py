"""The edge gateway's store-and-forward spool: every collected batch is written to local
disk before it is sent upstream, and removed only once upstream has acknowledged it.

The spool is one SQLite database (stdlib ``sqlite3``, WAL journal): SQLite already does
what a hand-written segment log would have to get right, namely atomic appends that
survive a killed process or a power cut (``synchronous=FULL``), recovery of a torn tail,
and reuse of freed space. Each row is one batch, its columns stored as raw numpy bytes,
followed by the exact values (text, integers beyond 2**53) of the samples that have one.

Sequence numbers (``seq``) are strictly increasing for the life of the spool and never
reused, even after rows are deleted (``AUTOINCREMENT``). A new spool starts its sequence
at the wall clock in microseconds, so a gateway whose spool was wiped still continues
above every number it sent before: the core drops a replayed batch it has already seen
by comparing numbers, and must never mistake new data for old.

The disk budget (``max_bytes``, counted as the stored batch bytes) is hard: a batch that
does not fit is refused, counted in ``overflow_samples`` and raises the ``full`` alarm,
which clears once acknowledged batches have freed a tenth of the budget. Refusing new
data keeps what is already stored contiguous: the core sees one gap, at the end of the
outage, and the gateway's metrics and log say how many samples it holds.
"""

from __future__ import annotations

import logging
import sqlite3
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plantos.core.batch import Exact, SampleBatch

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<I")
_BYTES_PER_SAMPLE = 4 + 8 + 8 + 4
_ENTRY = struct.Struct("<IBI")
_INT, _TEXT = 0, 1
_RELEASE_FRACTION = 0.9
"""The full alarm clears when usage falls below this fraction of the budget."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    samples INTEGER NOT NULL,
    spooled_ns INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    seq INTEGER PRIMARY KEY,
    samples INTEGER NOT NULL,
    spooled_ns INTEGER NOT NULL,
    quarantined_ns INTEGER NOT NULL,
    reason TEXT NOT NULL,
    data BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class SpooledBatch:
    seq: int
    batch: SampleBatch
    spooled_ns: int
    """Wall-clock time the batch was written to disk."""


def encode(batch: SampleBatch) -> bytes:
    """The batch's four columns, little-endian, after a sample count; then, only when the
    batch has an ``exact`` column, its entries (see :func:`_encode_exact`). A batch of plain
    numbers is stored exactly as before the column existed."""
    parts = [
        _HEADER.pack(len(batch)),
        batch.tag_id.astype("<i4", copy=False).tobytes(),
        batch.ts.astype("<i8", copy=False).tobytes(),
        batch.value.astype("<f8", copy=False).tobytes(),
        batch.quality.astype("<u4", copy=False).tobytes(),
    ]
    if batch.exact is not None:
        parts.append(_encode_exact(batch.exact))
    return b"".join(parts)


def _encode_exact(exact: Exact) -> bytes:
    """The number of entries (u32), then per sample with an exact value: its index (u32),
    the kind (0: int, 1: text), the length (u32) and the UTF-8 bytes (an integer in
    decimal). The count makes a row cut at an entry's boundary fail, not read short."""
    out = []
    for i, e in enumerate(exact):
        if e is None:
            continue
        kind = _TEXT if isinstance(e, str) else _INT
        body = (e if isinstance(e, str) else str(int(e))).encode()
        out.append(_ENTRY.pack(i, kind, len(body)) + body)
    return _HEADER.pack(len(out)) + b"".join(out)


def decode(data: bytes) -> SampleBatch:
    """Inverse of :func:`encode`; a row that does not parse is corrupt and raises ValueError.
    Rows written before the ``exact`` column existed have no exact section and still read."""
    (n,) = _HEADER.unpack_from(data)
    numeric_end = _HEADER.size + n * _BYTES_PER_SAMPLE
    if len(data) < numeric_end:
        raise ValueError(f"spooled batch of {n} samples has {len(data)} bytes")
    offset = _HEADER.size
    tag_id, ts, value, code = (
        np.frombuffer(data, dtype=dtype, count=n, offset=offset + n * skip)
        for dtype, skip in (("<i4", 0), ("<i8", 4), ("<f8", 12), ("<u4", 20))
    )
    exact = _decode_exact(data, numeric_end, n) if len(data) > numeric_end else None
    return SampleBatch.of(tag_id, ts, value, code, exact)


def _decode_exact(data: bytes, offset: int, n: int) -> Exact:
    exact: Exact = np.full(n, None, dtype=object)
    if len(data) - offset < _HEADER.size:
        raise ValueError(f"spooled batch of {n} samples has {len(data)} bytes")
    (entries,) = _HEADER.unpack_from(data, offset)
    offset += _HEADER.size
    for _ in range(entries):
        if len(data) - offset < _ENTRY.size:
            raise ValueError(f"spooled exact entry cut short at byte {offset}")
        index, kind, length = _ENTRY.unpack_from(data, offset)
        offset += _ENTRY.size
        body = data[offset : offset + length]
        offset += length
        if index >= n or len(body) != length or kind not in (_INT, _TEXT):
            raise ValueError(f"spooled exact entry {index} (kind {kind}) is damaged")
        if exact[index] is not None:
            raise ValueError(f"spooled exact entry {index} appears twice")
        text = body.decode()  # UnicodeDecodeError is a ValueError
        exact[index] = text if kind == _TEXT else int(text)
    if offset != len(data):
        raise ValueError(f"spooled batch has {len(data) - offset} bytes after its exact values")
    return exact


class Spool:
    """A bounded, durable FIFO of batches (see the module docstring). Thread-safe; every
    method blocks on disk, so async callers run them with ``asyncio.to_thread``."""

    def __init__(self, path: Path, *, max_bytes: int, durable: bool = True) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.path = path
        self.max_bytes = max_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._db.executescript(_SCHEMA)
            self._seed_sequence()
            row = self._db.execute(
                "SELECT count(*), coalesce(sum(samples), 0), coalesce(sum(length(data)), 0) "
                "FROM batch"
            ).fetchone()
        self.pending_batches, self.pending_samples, self.bytes_used = (int(v) for v in row)
        self.full = self.bytes_used >= max_bytes
        self.appended_samples = 0
        self.acked_samples = 0
        self.overflow_samples = 0
        self.overflow_events = 0
        self.quarantined_batches = int(
            self._db.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        )
        self.last_quarantine_reason: str | None = None

    def _seed_sequence(self) -> None:
        seeded = self._db.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'batch'").fetchone()
        if seeded is None:
            self._db.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('batch', ?)",
                (time.time_ns() // 1000,),
            )

    def append(self, batch: SampleBatch, *, now_ns: int | None = None) -> int | None:
        """Store a batch; its sequence number, or None when the budget refuses it."""
        if not len(batch):
            raise ValueError("an empty batch is not spooled")
        data = encode(batch)
        with self._lock:
            if self.bytes_used + len(data) > self.max_bytes:
                self.overflow_samples += len(batch)
                if not self.full:
                    self.full = True
                    self.overflow_events += 1
                    log.error(
                        "spool %s is full (%d of %d bytes): refusing new samples until "
                        "upstream takes the backlog",
                        self.path, self.bytes_used, self.max_bytes,
                    )  # fmt: skip
                return None
            cursor = self._db.execute(
                "INSERT INTO batch (samples, spooled_ns, data) VALUES (?, ?, ?)",
                (len(batch), now_ns if now_ns is not None else time.time_ns(), data),
            )
            self.bytes_used += len(data)
            self.pending_batches += 1
            self.pending_samples += len(batch)
            self.appended_samples += len(batch)
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def read(self, *, after: int = 0, limit: int = 64) -> list[SpooledBatch]:
        """Up to ``limit`` stored batches with ``seq > after``, oldest first. A row that
        does not decode (a damaged disk, a crash inside the file system) is moved to the
        ``quarantine`` table with its reason, counted and logged, and the rest is read on:
        one bad row must not hold back everything behind it."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, spooled_ns, data FROM batch WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
        out = []
        for seq, spooled_ns, data in rows:
            try:
                out.append(SpooledBatch(seq, decode(data), spooled_ns))
            except (ValueError, TypeError, struct.error) as exc:
                self._quarantine(seq, f"{type(exc).__name__}: {exc}")
        return out

    def _quarantine(self, seq: int, reason: str) -> None:
        with self._lock:
            row = self._db.execute(
                "SELECT samples, length(data) FROM batch WHERE seq = ?", (seq,)
            ).fetchone()
            if row is None:
                return
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO quarantine "
                "SELECT seq, samples, spooled_ns, ?, ?, data FROM batch WHERE seq = ?",
                (time.time_ns(), reason, seq),
            )
            self._db.execute("DELETE FROM batch WHERE seq = ?", (seq,))
            self._db.execute("COMMIT")
            samples, size = int(row[0]), int(row[1])
            self.pending_batches -= 1
            self.pending_samples -= samples
            self.bytes_used -= size
            self.quarantined_batches += 1
            self.last_quarantine_reason = f"batch {seq}: {reason}"
        log.error(
            "spool %s: batch %d (%d samples claimed) is corrupt and was quarantined: %s",
            self.path, seq, samples, reason,
        )  # fmt: skip

    def ack(self, seq: int) -> None:
        """Upstream has every batch up to and including ``seq``: forget them."""
        with self._lock:
            row = self._db.execute(
                "SELECT count(*), coalesce(sum(samples), 0), coalesce(sum(length(data)), 0) "
                "FROM batch WHERE seq <= ?",
                (seq,),
            ).fetchone()
            self._db.execute("DELETE FROM batch WHERE seq <= ?", (seq,))
            batches, samples, size = (int(v) for v in row)
            self.pending_batches -= batches
            self.pending_samples -= samples
            self.acked_samples += samples
            self.bytes_used -= size
            if self.full and self.bytes_used < _RELEASE_FRACTION * self.max_bytes:
                self.full = False
                log.warning(
                    "spool %s has room again (%d of %d bytes); %d samples were refused "
                    "while it was full",
                    self.path, self.bytes_used, self.max_bytes, self.overflow_samples,
                )  # fmt: skip

    def last_seq(self) -> int:
        """The highest sequence number ever given (0 for none)."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'batch'"
            ).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def metrics(self) -> dict[str, int | bool | str | None]:
        return {
            "spool_pending_batches": self.pending_batches,
            "spool_pending_samples": self.pending_samples,
            "spool_bytes": self.bytes_used,
            "spool_budget_bytes": self.max_bytes,
            "spool_full": self.full,
            "spool_overflow_samples": self.overflow_samples,
            "spool_overflow_events": self.overflow_events,
            "spool_quarantined_batches": self.quarantined_batches,
            "spool_last_quarantine_reason": self.last_quarantine_reason,
        }
