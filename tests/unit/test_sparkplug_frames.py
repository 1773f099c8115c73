"""The host's envelopes of a whole batch at once against the per-message reference.

:func:`frames` must take exactly the messages :func:`envelope` takes (and whose timestamp
fits int64 nanoseconds), with the same timestamp, seq and metric region, whatever the
bytes: well-formed data messages, timestamps of other varint lengths (redundant
continuation bytes included), seq of one and two bytes, no seq, truncated and random
payloads, mixed in one batch.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from plantos.edge.sparkplug.columnar import envelope
from plantos.edge.sparkplug.columnar_frames import MAX_TS_MS, frames, regions


def varint(n: int, extra: int = 0) -> bytes:
    """``n`` as a varint, with ``extra`` redundant continuation bytes (still valid)."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if not n and not extra:
            out.append(byte)
            return bytes(out)
        if not n:
            extra -= 1
        out.append(byte | 0x80)


RECORD = b"\x12\x0c\x10\x01\x18\x80\x80\x80\x80\x80\x01\x69" + bytes(8)


@st.composite
def payload(draw: st.DrawFn) -> bytes:
    """A data message, mostly well-formed, sometimes broken anywhere."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=30))
    head = b""
    if draw(st.integers(0, 5)):
        ts = draw(st.sampled_from([0, 1, 1_700_000_000_000, MAX_TS_MS, MAX_TS_MS + 1, 2**64 - 1]))
        head = b"\x08" + varint(ts, draw(st.integers(0, 2)))[:10]
    body = RECORD * draw(st.integers(0, 3)) + draw(st.sampled_from([b"", b"\x12\x00", b"\x01"]))
    tail = draw(
        st.sampled_from([b"", b"\x18\x05", b"\x18\x7f", b"\x18\x80\x01", b"\x18\xff\x01", b"\x18"])
    )
    data = head + body + tail
    cut = draw(st.integers(0, 20))
    return data[:-cut] if cut and draw(st.integers(0, 7)) == 0 else data


@settings(max_examples=400, deadline=None)
@given(st.lists(payload(), min_size=1, max_size=12))
def test_frames_take_exactly_what_envelope_takes(payloads: list[bytes]) -> None:
    got = frames(payloads)
    offset = 0
    for i, data in enumerate(payloads):
        env = envelope(data)
        taken = env is not None and (env.timestamp_ms or 0) <= MAX_TS_MS
        assert bool(got.ok[i]) == taken, (i, data)
        if env is not None and taken:
            assert got.timestamp_ms[i] == (-1 if env.timestamp_ms is None else env.timestamp_ms)
            assert got.seq[i] == (-1 if env.seq is None else env.seq)
            assert (got.start[i], got.end[i]) == (offset + env.start, offset + env.end)
        offset += len(data)
    assert got.buf.tobytes() == b"".join(payloads)


def test_regions_of_one_length_are_rows_and_of_several_are_joined() -> None:
    buf = np.frombuffer(b"abcdefghijkl", dtype=np.uint8)
    flat, starts, width = regions(buf, np.array([1, 6]), np.array([4, 9]))
    assert (flat.tobytes(), starts.tolist(), width) == (b"bcdghi", [0, 3], 3)
    flat, starts, width = regions(buf, np.array([0, 6]), np.array([2, 9]))
    assert (flat.tobytes(), starts.tolist(), width) == (b"abghi", [0, 2], None)
