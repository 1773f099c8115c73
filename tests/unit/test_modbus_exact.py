"""Exact integers and strings in Modbus registers, and block splitting, without a device:
golden registers, round trips (hypothesis) and a scripted device behind the ``Reader``."""

from __future__ import annotations

import asyncio
import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.edge.config import _source_types
from plantos.edge.modbus import blocks, samples
from plantos.edge.modbus.blocks import Block, Read
from plantos.edge.modbus.codec import CodecError, RegisterField, decode_text, encode_value
from plantos.edge.modbus.config import ModbusTcpSpec
from plantos.edge.modbus.samples import decode_samples
from plantos.edge.mtconnect.connector import MTConnectSpec

ORDERS = [("big", "big"), ("big", "little"), ("little", "big"), ("little", "little")]


def words(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.uint16)


def test_string_golden_registers() -> None:
    f = RegisterField("p", 0, "string", length=3)
    assert encode_value(f, "AB") == [0x4142, 0, 0]
    assert decode_text(words([0x4142, 0x4320, 0x2020]), f) == "ABC"  # spaces stripped
    assert decode_text(words([0x4100, 0x5858, 0]), f) == "A"  # ends at the first NUL
    swapped = RegisterField("p", 0, "string", length=2, byte_order="little")
    assert encode_value(swapped, "ABC") == [0x4241, 0x0043]
    assert decode_text(words([0x4241, 0x0043]), swapped) == "ABC"
    assert decode_text(words([0, 0, 0]), f) == ""


@pytest.mark.parametrize(
    ("registers", "message"),
    [([0xFFFE, 0], "not UTF-8"), ([0x41C3, 0], "not UTF-8")],  # C3 starts a 2-byte char
)
def test_bytes_that_are_not_utf8_raise_with_the_field_and_bytes(
    registers: list[int], message: str
) -> None:
    with pytest.raises(CodecError, match=message) as caught:
        decode_text(words(registers), RegisterField("lot", 7, "string", length=2))
    assert "'lot' (string at 7)" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"), [("ABCDE", "holds 4 bytes"), ("A\0B", "with a NUL"), (1.5, "text goes")]
)
def test_text_the_field_cannot_hold_is_refused(text: object, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        encode_value(RegisterField("p", 0, "string", length=2), text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"length": None}, "needs length 1..125"),
        ({"length": 126}, "needs length 1..125"),
        ({"length": 2, "scale": 2.0}, "no scale"),
        ({"length": 2, "word_order": "little"}, "word_order"),
    ],
)
def test_string_fields_are_checked(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RegisterField("p", 0, "string", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="length is for string fields"):
        RegisterField("p", 0, "int16", length=2)


_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=20
).map(lambda t: t.rstrip(" "))


@settings(max_examples=80, deadline=None)
@given(text=_TEXT, byte_order=st.sampled_from(["big", "little"]))
def test_text_round_trips_through_registers(text: str, byte_order: str) -> None:
    length = max(1, (len(text.encode()) + 1) // 2)
    f = RegisterField("p", 3, "string", length=length, byte_order=byte_order)  # type: ignore[arg-type]
    decoded = decode_samples(encode_value(f, text), 3, [f])
    assert decoded.exact is not None and decoded.exact.tolist() == [text]
    assert np.isnan(decoded.value).all() and decoded.undecodable == {}


@settings(max_examples=80, deadline=None)
@given(registers=st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=8))
def test_any_registers_decode_to_text_or_a_named_problem(registers: list[int]) -> None:
    f = RegisterField("p", 0, "string", length=len(registers))
    decoded = decode_samples(registers, 0, [f])
    if decoded.undecodable:
        assert decoded.exact is None and "not UTF-8" in decoded.undecodable[0]
    else:
        assert decoded.exact is not None and isinstance(decoded.exact[0], str)


@pytest.mark.parametrize("dtype", ["int64", "uint64"])
@settings(max_examples=80, deadline=None)
@given(data=st.data(), orders=st.sampled_from(ORDERS))
def test_64_bit_integers_decode_exact(
    dtype: str, orders: tuple[str, str], data: st.DataObject
) -> None:
    low, high = (-(2**63), 2**63 - 1) if dtype == "int64" else (0, 2**64 - 1)
    value = data.draw(
        st.integers(low, high)
        | st.sampled_from([2**53 + 1, -(2**53) - 1]).filter(lambda v: low <= v <= high)
    )
    f = RegisterField("n", 0, dtype, *orders)  # type: ignore[arg-type]
    decoded = decode_samples(encode_value(f, value), 0, [f])
    assert decoded.value[0] == float(value)
    exact = decoded.exact[0] if decoded.exact is not None else None
    if abs(value) >= 2**53:
        assert exact == value and type(exact) is int
    else:
        assert exact is None  # the float is exact: the numeric path carries no column


@settings(max_examples=60, deadline=None)
@given(
    raw=st.integers(0, 2**32 - 1), scale=st.integers(1, 2**30), offset=st.integers(-(2**40), 2**40)
)
def test_whole_scaled_integers_stay_exact(raw: int, scale: int, offset: int) -> None:
    f = RegisterField("n", 0, "uint32", scale=float(scale), offset=float(offset))
    registers = [raw >> 16, raw & 0xFFFF]
    decoded = decode_samples(registers, 0, [f])
    want = raw * scale + offset
    got = decoded.exact[0] if decoded.exact is not None and decoded.exact[0] is not None else None
    if got is None:
        assert abs(want) < 2**53 and decoded.value[0] == want
    else:
        assert got == want


def test_numbers_only_blocks_carry_no_exact_column() -> None:
    fields = [RegisterField("a", 0, "float32"), RegisterField("b", 2, "int64")]
    decoded = decode_samples([0x42F6, 0xE979, 0, 0, 0, 7], 0, fields)
    assert decoded.exact is None and decoded.value[1] == 7.0


# --- block splitting against a scripted device ---------------------------------------


class Device:
    """Answers reads like a device whose map lacks ``holes``: exception ``code`` for any
    read touching one, register value = address otherwise."""

    def __init__(self, holes: set[int], code: int = 2) -> None:
        self.holes = holes
        self.code = code
        self.asked: list[tuple[int, int]] = []

    async def __call__(self, read: Read) -> SampleBatch | int:
        self.asked.append((read.start, read.count))
        if any(read.start <= h < read.start + read.count for h in self.holes):
            return self.code
        decoded = decode_samples(
            list(range(read.start, read.start + read.count)), read.start, read.fields
        )
        n = len(read.fields)
        return SampleBatch.of(read.tag_ids, np.zeros(n), decoded.value)


def block_of(addresses: list[int], retry_ns: int = 100) -> Block:
    fields = [RegisterField(f"t{a}", a, "uint16") for a in addresses]
    return Block(Read.covering(fields, {f.name: f.address for f in fields}), retry_ns=retry_ns)


def poll(block: Block, device: Device, now_ns: int = 0) -> dict[int, tuple[float, int]]:
    batch = SampleBatch.concat(asyncio.run(block.poll(device, now_ns)))
    return {
        int(t): (float(v), int(q))
        for t, v, q in zip(batch.tag_id, batch.value, batch.quality, strict=True)
    }


@settings(max_examples=60, deadline=None)
@given(
    addresses=st.lists(st.integers(0, 120), min_size=1, max_size=20, unique=True),
    holes=st.sets(st.integers(0, 120), max_size=5),
)
def test_only_tags_on_a_hole_are_bad_and_the_layout_is_kept(
    addresses: list[int], holes: set[int]
) -> None:
    block, device = block_of(addresses), Device(holes)
    got = poll(block, device)
    assert sorted(got) == sorted(addresses)
    for a, (value, code) in got.items():
        assert (code, value if a not in holes else None) == (
            (quality.BAD_OUT_OF_RANGE, None) if a in holes else (quality.GOOD, float(a))
        )
    assert sorted(f.address for f, _ in block.refused) == sorted(set(addresses) & holes)
    device.asked.clear()
    assert poll(block, device, now_ns=50).keys() == got.keys()
    assert all(not any(s <= h < s + n for h in holes) for s, n in device.asked)  # no refusals


def test_the_whole_block_is_tried_again_after_retry_and_recovers() -> None:
    block, device = block_of([0, 5, 9], retry_ns=100), Device({5})
    poll(block, device)
    assert block.splits >= 1 and [f.address for f, _ in block.refused] == [5]
    device.holes.clear()
    device.asked.clear()
    assert poll(block, device, now_ns=99)[5][1] == quality.BAD_OUT_OF_RANGE  # not yet
    assert (5, 1) not in device.asked
    healed = poll(block, device, now_ns=100)
    assert device.asked[-1] == (0, 10) and healed[5] == (5.0, quality.GOOD)
    assert block.refused == []


def test_transient_exceptions_do_not_split() -> None:
    block, device = block_of([0, 5, 9]), Device({5}, code=6)
    got = poll(block, device)
    assert {code for _v, code in got.values()} == {blocks.BAD_RESOURCE_UNAVAILABLE}
    assert block.splits == 0 and device.asked == [(0, 10)]


def test_string_and_wide_types_map_to_their_source_types() -> None:
    spec = ModbusTcpSpec.model_validate(
        {
            "kind": "modbus-tcp",
            "name": "plc",
            "host": "h",
            "poll_groups": [
                {
                    "interval": "1s",
                    "table": "holding",
                    "tags": [
                        {"tag": "a/program", "address": 0, "type": "string", "length": 4},
                        {"tag": "a/count", "address": 4, "type": "uint64"},
                        {"tag": "a/flow", "address": 8, "type": "int16", "scale": 0.1},
                    ],
                }
            ],
        }
    )
    assert [(path, t) for _loc, path, t in _source_types(spec)] == [
        ("a/program", "text"),
        ("a/count", "uint64"),
        ("a/flow", "float64"),
    ]
    mtc = MTConnectSpec.model_validate(
        {
            "kind": "mtconnect",
            "name": "m",
            "url": "http://agent",
            "items": [
                {"tag": "a/x", "data_item": "Xact"},
                {"tag": "a/note", "data_item": "x_note", "value_type": "text"},
            ],
        }
    )
    assert _source_types(mtc) == [(("items", 1, "value_type"), "a/note", "text")]


def test_docstring_examples_run() -> None:
    for module in (samples, blocks):
        assert doctest.testmod(module, raise_on_error=False).failed == 0
