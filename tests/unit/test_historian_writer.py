"""The writer stage under refusal: a batch the historian refuses goes to the dead letters
with its reason and the rest flows; an outage shorter than the retry budget loses
nothing; a restarted writer commits the batches it held."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plantos.bus.memory import MemoryBus
from plantos.bus.pipeline import Pipeline
from plantos.bus.protocol import SAMPLES
from plantos.bus.supervision import RestartPolicy
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.historian.deadletter import DeadLetterStore
from plantos.historian.writer import HistorianWriter

POISON_TAG = 99
HANG_GUARD_S = 30.0


class PickyHistorian:
    """A historian at the port that refuses batches holding ``POISON_TAG`` and, while
    ``down`` is above zero, refuses everything (counting down once per write)."""

    def __init__(self, *, down: int = 0) -> None:
        self.down = down
        self.stored: list[SampleBatch] = []
        self.newest_ts: int | None = None

    def write(self, batch: SampleBatch) -> None:
        if self.down > 0:
            self.down -= 1
            raise OSError("disk not mounted")
        if (batch.tag_id == POISON_TAG).any():
            raise ValueError(f"tag {POISON_TAG} has no id")
        self.stored.append(batch)

    def maintain(self, now_ns: int) -> dict[str, Any]:
        return {}

    def rows(self) -> list[tuple[int, int]]:
        return sorted(
            (int(t), int(s)) for b in self.stored for t, s in zip(b.tag_id, b.ts, strict=True)
        )


def batch(tag: int, t0: int, n: int = 3) -> SampleBatch:
    return SampleBatch.of([tag] * n, np.arange(t0, t0 + n), np.ones(n))


def writer_for(
    historian: PickyHistorian, store: DeadLetterStore | None, bus: MemoryBus
) -> HistorianWriter:
    return HistorianWriter(
        historian,  # type: ignore[arg-type]
        bus.subscribe(SAMPLES, name="historian", maxsize=16),
        clock=ManualClock(5),
        max_delay_s=0.05,
        dead_letters=store,
        retry_for_s=0.05,
        retry_initial_s=0.001,
        retry_max_s=0.01,
    )


async def feed_and_run(writer: HistorianWriter, bus: MemoryBus, batches: list[SampleBatch]) -> None:
    for b in batches:
        await bus.publish(SAMPLES, b)
    await bus.close()
    await asyncio.wait_for(writer.run(), HANG_GUARD_S)


def test_a_refused_batch_goes_to_dead_letters_with_its_reason_and_the_rest_flows(
    tmp_path: Path,
) -> None:
    historian = PickyHistorian()
    store = DeadLetterStore(tmp_path / "deadletters.sqlite")
    bus = MemoryBus()
    writer = writer_for(historian, store, bus)
    good = [batch(1, 0), batch(2, 10)]
    asyncio.run(feed_and_run(writer, bus, [good[0], batch(POISON_TAG, 5), good[1]]))

    assert historian.rows() == [(1, 0), (1, 1), (1, 2), (2, 10), (2, 11), (2, 12)]
    [letter] = store.list()
    assert letter.samples == 3
    assert letter.stage == "historian"
    assert letter.reason == f"ValueError: tag {POISON_TAG} has no id"
    assert (letter.first_ts, letter.last_ts) == (5, 7)
    assert letter.at_ns == 5
    kept = store.batch(letter.id)
    assert kept.tag_id.tolist() == [POISON_TAG] * 3
    assert writer.metrics()["dead_lettered_rows"] == 3
    assert writer.acked_rows == 6
    assert store.count() == (1, 3)


def test_a_short_outage_loses_nothing_and_writes_no_dead_letter(tmp_path: Path) -> None:
    historian = PickyHistorian(down=3)
    store = DeadLetterStore(tmp_path / "deadletters.sqlite")
    bus = MemoryBus()
    writer = writer_for(historian, store, bus)
    writer.retry_for_s = 30.0
    asyncio.run(feed_and_run(writer, bus, [batch(1, 0), batch(1, 3)]))
    assert historian.rows() == [(1, t) for t in range(6)]
    assert store.list() == []
    assert writer.failed_commits == 3
    health = writer.health()
    assert health["refusing"] is False  # the historian took the commits again
    assert health["last_refusal"] == "OSError: disk not mounted"
    assert health["last_refusal_at"] == "1970-01-01T00:00:00.000Z"
    assert health["in_hand_rows"] == 0


def test_replay_writes_the_letters_once_the_cause_is_fixed(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "deadletters.sqlite")
    store.add(batch(POISON_TAG, 0), reason="ValueError: no id", stage="historian", at_ns=1)
    store.add(batch(1, 100), reason="OSError: full", stage="historian", at_ns=2)
    historian = PickyHistorian()
    first = store.replay(historian.write)
    assert first == {"replayed": 1, "samples": 3, "refused": 1}
    [left] = store.list()
    assert left.reason == f"ValueError: tag {POISON_TAG} has no id"
    assert left.replay_attempts == 1
    with pytest.raises(KeyError, match="no dead letter"):
        store.batch(left.id + 100)


class FailingOnce(DeadLetterStore):
    """A dead-letter store whose disk fails the first time it is written."""

    failed = False

    def add(self, batch: SampleBatch, *, reason: str, stage: str, at_ns: int) -> int:
        if not self.failed:
            self.failed = True
            raise OSError("no space left on device")
        return super().add(batch, reason=reason, stage=stage, at_ns=at_ns)


def test_a_restarted_writer_keeps_the_batch_it_held(tmp_path: Path) -> None:
    historian = PickyHistorian()
    store = FailingOnce(tmp_path / "deadletters.sqlite")
    bus = MemoryBus()
    writer = writer_for(historian, store, bus)
    pipeline = Pipeline(
        clock=ManualClock(0),
        policy=RestartPolicy(backoff_initial_s=0.001, backoff_max_s=0.002),
    )
    stage = pipeline.add("historian", writer.run, subscription=writer.subscription)

    async def main() -> None:
        pipeline.start()
        for b in (batch(1, 0), batch(POISON_TAG, 3), batch(1, 6)):
            await bus.publish(SAMPLES, b)
        await bus.close()
        await asyncio.wait_for(pipeline.join(), HANG_GUARD_S)

    asyncio.run(main())
    assert stage.restarts == 1
    assert stage.last_error == "OSError: no space left on device"
    assert historian.rows() == [(1, t) for t in (0, 1, 2, 6, 7, 8)]
    [letter] = store.list()
    assert letter.samples == 3
    assert writer.metrics()["in_hand_rows"] == 0


def test_retry_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="retry_initial_s"):
        HistorianWriter(
            PickyHistorian(),  # type: ignore[arg-type]
            MemoryBus().subscribe(SAMPLES, name="h"),
            clock=ManualClock(0),
            retry_initial_s=0,
        )


class SlowHistorian(PickyHistorian):
    """A historian whose writes wait until the test lets them finish."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, batch: SampleBatch) -> None:
        self.entered.set()
        self.release.wait(HANG_GUARD_S)
        super().write(batch)


def test_a_stop_that_cannot_wait_settles_the_commit_and_keeps_the_rest(tmp_path: Path) -> None:
    historian = SlowHistorian()
    store = DeadLetterStore(tmp_path / "deadletters.sqlite")
    bus = MemoryBus()
    writer = writer_for(historian, store, bus)
    writer.max_delay_s = 0.0  # commit each batch as it comes

    async def main() -> None:
        task = asyncio.create_task(writer.run())
        await bus.publish(SAMPLES, batch(1, 0))
        while not historian.entered.is_set():
            await asyncio.sleep(0.001)
        await bus.publish(SAMPLES, batch(1, 3))  # queued behind the slow commit
        task.cancel()
        await asyncio.sleep(0.01)
        historian.release.set()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, HANG_GUARD_S)

    asyncio.run(main())
    assert historian.rows() == [(1, 0), (1, 1), (1, 2)]  # the commit in flight finished
    assert writer.acked_rows == 3
    [letter] = store.list()
    assert letter.reason == "the platform stopped before these samples were committed"
    assert store.batch(letter.id).ts.tolist() == [3, 4, 5]


def test_without_a_dead_letter_store_the_writer_retries_until_the_historian_takes_it() -> None:
    historian = PickyHistorian(down=6)
    bus = MemoryBus()
    writer = writer_for(historian, None, bus)  # retry_for_s is long past after a few tries
    asyncio.run(feed_and_run(writer, bus, [batch(1, 0)]))
    assert historian.rows() == [(1, 0), (1, 1), (1, 2)]
    assert writer.failed_commits == 6
    assert writer.metrics()["in_hand_rows"] == 0
