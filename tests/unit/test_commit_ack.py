"""The commit acknowledgement, piece by piece: the payload both sides read, the host's
tracker that moves a node's committed number only in order, the edge node's view of which
batches are committed, and the gateway's forwarder that frees its spool only up to there,
keeps a bounded number of batches in flight and sends again what a restarted core lost.
The end-to-end path over a real broker is in tests/integration/test_edge_gateway.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plantos.bus.ack import AckedBatch, acknowledge, with_ack
from plantos.core.batch import SampleBatch
from plantos.edge.gateway.forwarder import Forwarder
from plantos.edge.gateway.spool import Spool
from plantos.edge.sparkplug.acks import (
    commit_topic,
    decode_commit,
    encode_commit,
    parse_commit_topic,
)
from plantos.edge.sparkplug.codec import STREAM_PARTS
from plantos.edge.sparkplug.commits import CommitTracker
from plantos.edge.sparkplug.node_commits import PendingCommits


def batch_of(n: int, start: int = 0) -> SampleBatch:
    i = np.arange(start, start + n)
    return SampleBatch.of(i % 3, 1_000 + i, i * 1.0)


def test_the_commit_payload_round_trips_and_bad_ones_say_why() -> None:
    topic = commit_topic("core", "plant-a", "line-1")
    assert topic == "plantos/v1/committed/core/plant-a/line-1"
    assert parse_commit_topic(topic) == ("core", "plant-a", "line-1")
    assert parse_commit_topic("spBv1.0/plant-a/NDATA/line-1") is None
    payload = encode_commit({None: 4097, "press": 12}, timestamp_ms=5)
    assert decode_commit(payload) == {None: 4097, "press": 12}
    with pytest.raises(ValueError, match="not JSON"):
        decode_commit(b"{")
    with pytest.raises(ValueError, match="'committed' mapping"):
        decode_commit(b'{"timestamp": 1}')
    with pytest.raises(ValueError, match="not a count"):
        decode_commit(b'{"committed": {"": -1}}')
    with pytest.raises(ValueError, match="without / \\+ #"):
        commit_topic("core", "plant/a", "line-1")


def test_an_acked_batch_keeps_its_acknowledgement_through_a_rebuild() -> None:
    calls: list[str] = []
    batch = with_ack(batch_of(4), lambda: calls.append("ack"))
    assert isinstance(batch, AckedBatch)
    rebuilt = with_ack(batch.select(batch.value > 1), batch.ack)
    acknowledge([batch_of(2), rebuilt, "an event"])
    assert calls == ["ack"] and len(rebuilt) == 2
    assert with_ack(batch_of(1), None).__class__ is SampleBatch


def test_a_node_is_committed_only_once_every_earlier_batch_is() -> None:
    published: list[tuple[tuple[str, str], dict[str | None, int]]] = []
    tracker = CommitTracker(lambda node, values: published.append((node, values)))
    first = tracker.ticket({("g", "n", None): 10})
    second = tracker.ticket({("g", "n", None): 20, ("g", "n", "dev"): 7})
    second()  # committed first, but the batch before it is not yet
    assert published == [] and tracker.pending() == 1
    first()
    first()  # twice is harmless
    assert published == [(("g", "n"), {None: 20, "dev": 7})]
    assert tracker.pending() == 0
    tracker.seed(("g", "other"), {None: 99})
    assert tracker.of_node(("g", "other")) == {None: 99}


def test_the_edge_node_frees_a_batch_when_every_scope_of_it_is_committed() -> None:
    pending = PendingCommits([None, "dev"])
    pending.sent(5, {0: 2, 1: 1})  # node: parts 0 and 1; device: part 0
    pending.sent(6, {})  # nothing left after report by exception
    pending.sent(7, {0: 1})
    assert not pending.acknowledged({None: 5 * STREAM_PARTS + 1})  # the device part is missing
    assert pending.acknowledged({"dev": 5 * STREAM_PARTS})
    assert pending.committed_seq == 6 and pending.waiting() == 1
    assert pending.acknowledged({None: 7 * STREAM_PARTS, "unknown": 10**9})
    assert pending.committed_seq == 7 and pending.waiting() == 0


class FakeUpstream:
    """A core at the upstream port that commits only what the test says."""

    def __init__(self) -> None:
        self.connected = False
        self.online = True
        self.acknowledges_commits = True
        self.committed_seq: int | None = None
        self.epoch = 0
        self.on_commit: Any = None
        self.sent: list[tuple[int, bool]] = []

    async def connect(self) -> None:
        self.connected = True

    async def publish(
        self, batch: SampleBatch, *, historical: bool = False, stream_seq: int | None = None
    ) -> int:
        assert stream_seq is not None
        self.sent.append((stream_seq, historical))
        return len(batch)

    def commit(self, seq: int) -> None:
        self.committed_seq = seq
        self.on_commit()

    async def close(self) -> None:
        self.connected = False

    def metrics(self) -> dict[str, Any]:
        return {}


async def until(condition: Any, what: str) -> None:
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_forwarder_keeps_batches_until_the_core_commits_and_resends_after_a_birth(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=1 << 20)
    seqs = [spool.append(batch_of(3, 3 * k)) for k in range(10)]
    spool._db.execute("UPDATE batch SET data = x'00' WHERE seq = ?", (seqs[4],))  # corrupt
    up = FakeUpstream()
    forwarder = Forwarder(spool, up, max_in_flight=3, idle_check_s=0.05)  # type: ignore[arg-type]

    async def main() -> None:
        task = asyncio.create_task(forwarder.run())
        try:
            await until(lambda: len(up.sent) == 3, "a window of batches")
            await asyncio.sleep(0.1)
            assert [s for s, _h in up.sent] == seqs[:3]  # the window is full: back-pressure
            assert spool.pending_batches == 10
            up.commit(seqs[1])
            await until(lambda: len(up.sent) == 5, "two more batches")
            assert spool.pending_batches == 7  # the committed ones and the corrupt one are gone
            up.epoch += 1  # the core restarted: what it had not committed comes again
            await until(lambda: len(up.sent) == 8, "the resend")
            assert [s for s, _h in up.sent[5:]] == [seqs[2], seqs[3], seqs[5]]
            assert all(historical for _s, historical in up.sent[5:7])
            up.commit(seqs[5])
            await until(lambda: len(up.sent) == 11, "the next window")
            up.commit(seqs[8])
            await until(lambda: len(up.sent) == 12, "the last batch")
            up.commit(seqs[9])
            await until(lambda: spool.pending_batches == 0, "the spool to drain")
            assert [s for s, _h in up.sent[8:]] == seqs[6:]
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    metrics = forwarder.metrics()
    assert metrics["resends"] == 1 and spool.metrics()["spool_quarantined_batches"] == 1
    assert seqs[4] not in [s for s, _h in up.sent]
    spool.close()


def test_a_cancelled_forwarder_stops_even_when_woken_at_the_same_moment(tmp_path: Path) -> None:
    """Ctrl-C while a batch is being spooled: the wake-up and the cancellation arrive
    together, and the cancellation must win (the gateway must exit)."""
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=1 << 20)

    async def main() -> None:
        for turns in range(6):
            up = FakeUpstream()
            forwarder = Forwarder(spool, up, idle_check_s=30.0)  # type: ignore[arg-type]
            task = asyncio.create_task(forwarder.run())
            await until(lambda up=up: up.connected, "the link")  # type: ignore[misc]
            for _ in range(3):
                await asyncio.sleep(0)
            forwarder.wakeup.set()
            for _ in range(turns):
                await asyncio.sleep(0)
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=2.0)
            assert done, f"the forwarder kept running after its cancellation ({turns} turns)"
            assert task.cancelled()

    asyncio.run(main())
    spool.close()
