"""The hand-over between an MQTT client's thread and collect(): order kept, bounded, every
refused sample counted, safe under concurrent producers."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from plantos.edge.inbox import SampleInbox


def columns(start: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    k = np.arange(start, start + n)
    return k.astype(np.int32), k.astype(np.int64), k.astype(np.float64), np.zeros(n, np.uint32)


def test_take_returns_everything_in_order_then_nothing() -> None:
    inbox = SampleInbox(100)
    assert inbox.put(*columns(0, 3)) == 3
    assert inbox.put_rows([(3, 3, 3.0, 0), (4, 4, 4.0, 0)]) == 2
    assert inbox.waiting == 5
    batch = inbox.take()
    assert batch.ts.tolist() == [0, 1, 2, 3, 4] and batch.tag_id.dtype == np.int32
    assert len(inbox.take()) == 0 and inbox.waiting == 0 and inbox.accepted == 5


def test_a_full_inbox_keeps_the_oldest_and_counts_the_rest() -> None:
    inbox = SampleInbox(4)
    assert inbox.put(*columns(0, 3)) == 3
    assert inbox.put(*columns(3, 3)) == 1
    assert inbox.put_rows([(9, 9, 9.0, 0)]) == 0
    assert (inbox.accepted, inbox.dropped) == (4, 3)
    assert inbox.take().ts.tolist() == [0, 1, 2, 3]
    assert inbox.put(*columns(10, 2)) == 2  # room again once collected


def test_concurrent_producers_lose_nothing_uncounted() -> None:
    inbox = SampleInbox(50_000)
    taken: list[int] = []
    done = threading.Event()

    def produce(first: int) -> None:
        for i in range(200):
            inbox.put(*columns(first + i * 100, 100))

    def consume() -> None:
        while not done.is_set():
            taken.append(len(inbox.take()))
        taken.append(len(inbox.take()))

    consumer = threading.Thread(target=consume)
    consumer.start()
    producers = [threading.Thread(target=produce, args=(k * 1_000_000,)) for k in range(4)]
    for t in producers:
        t.start()
    for t in producers:
        t.join()
    done.set()
    consumer.join()
    assert inbox.accepted + inbox.dropped == 4 * 200 * 100
    assert sum(taken) == inbox.accepted


def test_an_inbox_holds_at_least_one_sample() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SampleInbox(0)


def test_rows_keep_text_and_integers_beyond_2_53_exact_also_when_cut_at_the_bound() -> None:
    inbox = SampleInbox(max_samples=3)
    inbox.put_rows([(1, 10, "P-100", 0), (2, 10, 2**64 - 1, 0), (3, 10, True, 0)])
    assert inbox.put_rows([(4, 11, "dropped", 0)]) == 0
    batch = inbox.take()
    assert batch.exact_column().tolist() == ["P-100", 2**64 - 1, None]
    assert batch.value[2] == 1.0 and inbox.dropped == 1
