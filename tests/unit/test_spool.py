"""The gateway's store-and-forward spool: exact round trips, order and sequence numbers
across reopening, a hard disk budget that raises an alarm, and batches that survive the
writing process being killed at any moment."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from plantos.core.batch import SampleBatch
from plantos.edge.gateway.spool import Spool, decode, encode

REPO = Path(__file__).resolve().parents[2]


def batch_of(n: int, start: int = 0) -> SampleBatch:
    i = np.arange(start, start + n)
    return SampleBatch.of(i % 7, 1_000 + i, i * 0.5)


def same(a: SampleBatch, b: SampleBatch) -> bool:
    return (
        np.array_equal(a.tag_id, b.tag_id)
        and np.array_equal(a.ts, b.ts)
        and np.array_equal(a.value, b.value, equal_nan=True)
        and np.array_equal(a.quality, b.quality)
        and exact_list(a) == exact_list(b)
    )


def exact_list(batch: SampleBatch) -> list[tuple[type, object]]:
    """The exact column with each entry's type: an int must not come back as text."""
    return [(type(e), e) for e in batch.exact_column()]


device_values = st.one_of(
    st.floats(allow_nan=False),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.text(max_size=300),
    st.none(),
)


@given(st.lists(device_values, min_size=1, max_size=40), st.data())
def test_exact_values_round_trip_text_and_integers_beyond_2_53(
    values: list[object], data: st.DataObject
) -> None:
    n = len(values)
    tags = data.draw(hnp.arrays(np.int32, n))
    batch = SampleBatch.from_values(tags, np.arange(n), values)
    back = decode(encode(batch))
    assert same(back, batch)
    assert [e for e in back.exact_column() if e is not None] == [
        v for v in values if isinstance(v, str) or (type(v) is int and abs(v) > 2**53)
    ]


def test_a_row_written_before_the_exact_column_still_reads() -> None:
    """The numeric layout is unchanged: four columns after a count, nothing more."""
    old = (
        struct.pack("<I", 2)
        + np.array([1, 2], "<i4").tobytes()
        + np.array([10, 20], "<i8").tobytes()
        + np.array([0.5, 1.5], "<f8").tobytes()
        + np.array([0, 0], "<u4").tobytes()
    )
    batch = decode(old)
    assert batch.value.tolist() == [0.5, 1.5] and batch.exact is None
    assert encode(batch) == old


def test_huge_text_round_trips() -> None:
    text = "x" * 1_000_000 + "é"
    batch = SampleBatch.from_values([1, 2], [5, 6], [text, 2**64 - 1])
    back = decode(encode(batch))
    assert back.exact_column().tolist() == [text, 2**64 - 1]


@pytest.mark.parametrize("cut", [1, 5, 9, 10])
def test_a_row_cut_inside_or_between_exact_entries_is_refused(cut: int) -> None:
    data = encode(SampleBatch.from_values([1, 2, 3], [5, 6, 7], ["lot-17", 2**60 + 1, "A"]))
    with pytest.raises(ValueError):
        decode(data[:-cut])


def test_damaged_exact_entries_are_refused() -> None:
    data = encode(SampleBatch.from_values([1], [5], ["lot"]))
    numeric_end = 4 + 24
    for damaged in (
        data[: numeric_end + 4] + struct.pack("<IBI", 7, 1, 3) + b"lot",  # index beyond n
        data[: numeric_end + 4] + struct.pack("<IBI", 0, 9, 3) + b"lot",  # unknown kind
        data[: numeric_end + 4] + struct.pack("<IBI", 0, 1, 2) + b"\xff\xfe",  # not UTF-8
        data[: numeric_end + 4] + struct.pack("<IBI", 0, 0, 3) + b"abc",  # int that is not
        data + b"\x00",  # bytes after the entries
    ):
        with pytest.raises(ValueError):
            decode(damaged)


@st.composite
def batches(draw: st.DrawFn) -> SampleBatch:
    n = draw(st.integers(1, 50))
    return SampleBatch.of(
        draw(hnp.arrays(np.int32, n)),
        draw(hnp.arrays(np.int64, n)),
        draw(hnp.arrays(np.float64, n)),
        draw(hnp.arrays(np.uint32, n)),
    )


@given(batches())
def test_encoding_round_trips_every_value(batch: SampleBatch) -> None:
    assert same(decode(encode(batch)), batch)


def test_a_truncated_row_is_refused() -> None:
    data = encode(batch_of(3))
    with pytest.raises(ValueError, match="3 samples"):
        decode(data[:-1])


def test_a_corrupt_row_is_quarantined_with_its_reason_and_the_rest_flows(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    spool = Spool(path, max_bytes=1 << 20)
    seqs = [spool.append(batch_of(5, 5 * k)) for k in range(4)]
    for seq, damaged in ((seqs[1], encode(batch_of(5))[:-3]), (seqs[2], b"\x01")):
        spool._db.execute("UPDATE batch SET data = ? WHERE seq = ?", (damaged, seq))
    got = spool.read(limit=10)
    assert [g.seq for g in got] == [seqs[0], seqs[3]]
    assert same(got[1].batch, batch_of(5, 15))
    metrics = spool.metrics()
    assert metrics["spool_quarantined_batches"] == 2
    assert metrics["spool_pending_batches"] == 2 and metrics["spool_pending_samples"] == 10
    assert f"batch {seqs[2]}: error" in str(metrics["spool_last_quarantine_reason"])
    spool.close()
    reopened = Spool(path, max_bytes=1 << 20)  # the quarantine is kept, with its reasons
    assert reopened.metrics()["spool_quarantined_batches"] == 2
    kept = reopened._db.execute("SELECT seq, reason FROM quarantine ORDER BY seq").fetchall()
    assert [seq for seq, _ in kept] == seqs[1:3]
    assert "5 samples has 121 bytes" in kept[0][1]
    assert [g.seq for g in reopened.read(limit=10)] == [seqs[0], seqs[3]]
    reopened.close()


def test_batches_come_back_in_order_until_acknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_bytes=1 << 20)
    seqs = [spool.append(batch_of(5, 5 * k)) for k in range(4)]
    assert all(s is not None for s in seqs) and seqs == sorted(seqs)
    got = spool.read(limit=10)
    assert [g.seq for g in got] == seqs
    assert all(same(g.batch, batch_of(5, 5 * k)) for k, g in enumerate(got))
    assert seqs[1] is not None
    spool.ack(seqs[1])
    assert [g.seq for g in spool.read()] == seqs[2:]
    assert spool.metrics()["spool_pending_samples"] == 10
    assert [g.seq for g in spool.read(after=seqs[2])] == seqs[3:]
    spool.close()


def test_sequence_numbers_keep_rising_after_reopen_and_after_a_wiped_spool(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite"
    spool = Spool(path, max_bytes=1 << 20)
    first = spool.append(batch_of(1))
    assert first is not None
    spool.ack(first)
    spool.close()
    reopened = Spool(path, max_bytes=1 << 20)
    second = reopened.append(batch_of(1))
    assert second is not None and second > first
    assert reopened.read()[0].seq == second  # the acknowledged batch stays gone
    reopened.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    wiped = Spool(path, max_bytes=1 << 20)
    third = wiped.append(batch_of(1))
    assert third is not None and third > second  # seeded from the clock, not from 1
    wiped.close()


def test_a_full_spool_refuses_and_counts_then_clears_once_drained(tmp_path: Path) -> None:
    one = len(encode(batch_of(10)))
    spool = Spool(tmp_path / "s.sqlite", max_bytes=10 * one)
    seqs = [spool.append(batch_of(10, 10 * k)) for k in range(10)]
    assert None not in seqs and not spool.full
    assert spool.append(batch_of(10)) is None
    assert spool.append(batch_of(4)) is None
    m = spool.metrics()
    assert m["spool_full"] is True
    assert m["spool_overflow_samples"] == 14 and m["spool_overflow_events"] == 1
    assert [g.seq for g in spool.read(limit=100)] == seqs  # nothing stored was touched
    spool.ack(seqs[0])  # 90 % used: still above the release mark
    assert spool.full
    spool.ack(seqs[1])
    assert not spool.full
    assert spool.append(batch_of(10)) is not None
    spool.close()


def test_an_empty_batch_is_a_caller_error(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_bytes=1 << 20)
    with pytest.raises(ValueError):
        spool.append(SampleBatch.empty())
    spool.close()


class SpoolModel(RuleBasedStateMachine):
    """Any mix of appends, acknowledgements and reopenings leaves exactly the
    unacknowledged batches, in order, with the counters agreeing."""

    @initialize()
    def start(self) -> None:
        import tempfile

        self.dir = Path(tempfile.mkdtemp(prefix="spool-"))
        self.spool = Spool(self.dir / "s.sqlite", max_bytes=4_000)
        self.model: list[tuple[int, SampleBatch]] = []
        self.refused = 0

    @rule(batch=batches())
    def append(self, batch: SampleBatch) -> None:
        seq = self.spool.append(batch)
        if seq is None:
            self.refused += len(batch)
            return
        assert not self.model or seq > self.model[-1][0]
        self.model.append((seq, batch))

    @rule(k=st.integers(0, 5))
    def ack(self, k: int) -> None:
        if not self.model:
            return
        seq = self.model[min(k, len(self.model) - 1)][0]
        self.spool.ack(seq)
        self.model = [(s, b) for s, b in self.model if s > seq]

    @rule()
    def reopen(self) -> None:
        self.spool.close()
        self.spool = Spool(self.dir / "s.sqlite", max_bytes=4_000)

    @invariant()
    def matches(self) -> None:
        if not hasattr(self, "spool"):
            return
        got = self.spool.read(limit=1_000)
        assert [g.seq for g in got] == [s for s, _ in self.model]
        assert all(same(g.batch, b) for g, (_, b) in zip(got, self.model, strict=True))
        assert self.spool.pending_samples == sum(len(b) for _, b in self.model)
        assert self.spool.bytes_used <= self.spool.max_bytes

    def teardown(self) -> None:
        if hasattr(self, "spool"):
            self.spool.close()


TestSpoolModel = SpoolModel.TestCase
TestSpoolModel.settings = settings(max_examples=30, stateful_step_count=20, deadline=None)


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from plantos.core.batch import SampleBatch
    from plantos.edge.gateway.spool import Spool

    spool = Spool(__import__("pathlib").Path(sys.argv[1]), max_bytes=1 << 30)
    k = 0
    while True:
        i = np.arange(k * 100, k * 100 + 100)
        seq = spool.append(SampleBatch.of(i % 13, i, i * 1.5))
        print(seq, k, flush=True)
        k += 1
    """
)


def test_every_batch_acknowledged_to_the_writer_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdout is not None
    confirmed: list[tuple[int, int]] = []
    deadline = time.monotonic() + 60
    while len(confirmed) < 200 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seq, k = line.split()
        confirmed.append((int(seq), int(k)))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    assert len(confirmed) >= 200, "the writer did not get going"

    spool = Spool(path, max_bytes=1 << 30)
    stored = spool.read(limit=100_000)
    assert [g.seq for g in stored][: len(confirmed)] == [s for s, _ in confirmed]
    for k, item in enumerate(stored):  # whole batches only, none torn, none skipped
        i = np.arange(k * 100, k * 100 + 100)
        assert same(item.batch, SampleBatch.of(i % 13, i, i * 1.5))
    assert spool.pending_samples == 100 * len(stored)
    spool.close()
