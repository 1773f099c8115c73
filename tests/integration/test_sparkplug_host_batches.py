"""The Sparkplug host's batches: the messages a batch holds are decoded together and, when
they all pass, checked at once; anything odd in a batch (a bad payload, a seq gap, a
node's and its devices' messages interleaved) must come out as one message at a time
would: the same samples (in order within each edge node or device), the same
counters, the same rebirth requests.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest

from plantos.edge.sparkplug import DataType, Metric, bdseq_metric, encode_payload
from plantos.edge.sparkplug.decoding import TagKey, places
from tests.integration.test_sparkplug_host import BASE_MS
from tests.integration.test_sparkplug_host_fast import offline_host, run, same_samples

pytestmark = pytest.mark.timeout(120)

N = 130  # aliases past 127: records of two lengths
TAGS: dict[TagKey, int] = {("G", "E1", None, f"m{i}"): 1 + i for i in range(N)} | {
    ("G", "E1", "D1", f"d{i}"): 1000 + i for i in range(3)
}
NODE = "spBv1.0/G/{kind}/E1"
DEVICE = "spBv1.0/G/{kind}/E1/D1"


def birth() -> tuple[str, bytes]:
    metrics = [bdseq_metric(0)] + [
        Metric(name=f"m{i}", alias=i, datatype=DataType.Double, value=0.0) for i in range(N)
    ]
    return NODE.format(kind="NBIRTH"), encode_payload(timestamp_ms=BASE_MS, seq=0, metrics=metrics)


def device_birth(seq: int) -> tuple[str, bytes]:
    metrics = [
        Metric(name=f"d{i}", alias=500 + i, datatype=DataType.Int32, value=0) for i in range(3)
    ]
    return DEVICE.format(kind="DBIRTH"), encode_payload(
        timestamp_ms=BASE_MS, seq=seq, metrics=metrics
    )


def data(seq: int, *, device: bool = False) -> tuple[str, bytes]:
    """A node's NDATA of N Doubles, or its device's DDATA of three Int32, stamped by seq."""
    ts = BASE_MS + 10 * seq
    if device:
        metrics = [
            Metric(alias=500 + i, datatype=DataType.Int32, value=seq * 10 + i, timestamp_ms=ts)
            for i in range(3)
        ]
        topic = DEVICE.format(kind="DDATA")
    else:
        values = np.random.default_rng(seq).normal(size=N)
        metrics = [
            Metric(alias=i, datatype=DataType.Double, value=float(v), timestamp_ms=ts)
            for i, v in enumerate(values)
        ]
        topic = NODE.format(kind="NDATA")
    payload = encode_payload(
        timestamp_ms=ts, seq=seq % 256, metrics=metrics, include_datatype=False
    )
    return topic, payload


def walks() -> mock._patch[mock.MagicMock]:
    """Counts the runs of data messages the host walks one by one instead of checking
    them at once."""
    return mock.patch("plantos.edge.sparkplug.session.places", wraps=places)


def test_a_steady_batch_is_checked_at_once() -> None:
    batches = [[birth(), *(data(s) for s in range(1, 21))], [data(s) for s in range(21, 300)]]
    host = offline_host(TAGS)
    with walks() as walked:
        fast = run(host, batches, columnar=True)
    assert walked.call_count == 0  # seq wraps past 255 in the second batch
    assert host.metrics()["columnar_messages"] == 299
    assert len(fast[0]) == N * 300
    exact = run(offline_host(TAGS), batches, columnar=False)
    assert same_samples(fast[0], exact[0])
    assert fast[1] == exact[1]


def test_a_bad_payload_in_the_middle_of_a_batch_is_counted_and_the_rest_decodes() -> None:
    bad = (NODE.format(kind="NDATA"), b"\x12\xff\xff not protobuf")
    batch = [birth(), *(data(s) for s in range(1, 6)), bad, *(data(s) for s in range(6, 11))]
    host = offline_host(TAGS)
    fast = run(host, [batch], columnar=True)
    exact = run(offline_host(TAGS), [batch], columnar=False)
    counters = host.metrics()
    assert counters["malformed"] == 1
    assert counters["columnar_messages"] == 10
    assert counters["seq_gaps"] == 0 and counters["rebirths_requested"] == 0
    assert len(fast[0]) == N * 11  # the birth and every good message, in order
    assert np.all(np.diff(fast[0].ts[N:]) >= 0)
    assert same_samples(fast[0], exact[0])
    assert fast[1] == exact[1]


@pytest.mark.parametrize("cut", [3, 6])
def test_a_seq_gap_is_detected_inside_a_batch_and_between_batches(cut: int) -> None:
    """seq 6 is lost; the batches are cut before seq 3 (the gap inside the second batch),
    or before 7 (the gap between the batches)."""
    messages = [birth(), *(data(s) for s in range(1, 11) if s != 6)]
    batches = [messages[:cut], messages[cut:]]
    host = offline_host(TAGS)
    fast = run(host, batches, columnar=True)
    exact = run(offline_host(TAGS), batches, columnar=False)
    counters = host.metrics()
    assert counters["seq_gaps"] == 1
    assert counters["rebirths_requested"] == 1  # repeated only after rebirth_retry_s
    assert counters["discarded_awaiting_rebirth"] == 3  # seq 8, 9 and 10
    assert [t for t, _ in fast[2]] == ["spBv1.0/G/NCMD/E1"] * counters["rebirths_requested"]
    samples = fast[0]
    good = samples.tag_id[samples.quality == 0]
    assert len(good) == N * 6  # the birth and seq 1 to 5, nothing after the gap
    assert same_samples(samples, exact[0])
    assert fast[1] == exact[1]


def test_a_node_and_its_device_share_one_seq_and_keep_their_order_in_a_batch() -> None:
    seq = iter(range(1, 100))
    batch = [birth(), device_birth(next(seq))]
    for k in range(12):
        batch.append(data(next(seq), device=k % 3 == 1))
    host = offline_host(TAGS)
    with walks() as walked:
        fast = run(host, [batch], columnar=True)
    assert walked.call_count == 0  # the twelve data messages after the births, at once
    assert host.metrics()["columnar_messages"] == 12
    assert host.metrics()["seq_gaps"] == 0
    exact = run(offline_host(TAGS), [batch], columnar=False)
    for device in (False, True):  # each scope's samples in order (not across scopes)
        assert same_samples(
            fast[0].select((fast[0].tag_id >= 1000) == device),
            exact[0].select((exact[0].tag_id >= 1000) == device),
        )
    assert fast[1] == exact[1]
    swapped = [*batch[:5], batch[6], batch[5], *batch[7:]]  # a device message overtakes
    host = offline_host(TAGS)
    run(host, [swapped], columnar=True)
    assert host.metrics()["seq_gaps"] == 1


def test_a_rebirth_restating_the_last_message_of_a_batch_adds_no_samples() -> None:
    """The host remembers each tag's newest sample of a batch (its last message's), so a
    birth that repeats those values with their timestamps is known as a restatement."""
    last = 40
    ts = BASE_MS + 10 * last
    values = np.random.default_rng(last).normal(size=N)  # as data(last) sends them
    rebirth = [bdseq_metric(0)] + [
        Metric(name=f"m{i}", alias=i, datatype=DataType.Double, value=float(v), timestamp_ms=ts)
        for i, v in enumerate(values)
    ]
    batches = [
        [birth(), *(data(s) for s in range(1, last + 1))],
        [(NODE.format(kind="NBIRTH"), encode_payload(timestamp_ms=ts, seq=0, metrics=rebirth))],
    ]
    host = offline_host(TAGS)
    fast = run(host, batches, columnar=True)
    assert host.metrics()["restated"] == N
    assert len(fast[0]) == N * (last + 1)
    exact = run(offline_host(TAGS), batches, columnar=False)
    assert same_samples(fast[0], exact[0])
    assert fast[1] == exact[1]
