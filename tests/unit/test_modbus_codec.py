"""The Modbus register codec against golden registers, its own inverse and pymodbus.

Where the golden registers come from:

- integers: two's complement worked by hand (-300 is 65536 - 300 = 0xFED4,
  -123456789 is 2**32 - 123456789 = 0xF8A432EB), the unsigned ones are chosen
  so each byte is distinct (0x12345678, 0xFEDCBA9876543210);
- floats: IEEE 754 encodings, checked with Python's ``struct.pack(">f", 123.456)``
  (``42f6e979``) and ``struct.pack(">d", 123.456)`` (``405edd2f1a9fbe77``),
  which shares no code with the codec's numpy path; -2.5 is exact in both widths
  (sign 1, exponent 128, mantissa 0.25: 0xC0200000 and 0xC004000000000000);
- the other three orders: the ABCD bytes rearranged by hand following the
  table in the codec's docstring (CDAB reverses the words, BADC swaps the bytes
  in every register, DCBA does both), and for word order cross-checked against
  pymodbus below when it is installed.
"""

from __future__ import annotations

import doctest
import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from plantos.core.errors import PlantOSError
from plantos.edge.modbus import codec
from plantos.edge.modbus.codec import (
    CodecError,
    RegisterField,
    decode_block,
    encode_value,
    plan_reads,
)

ORDERS = {  # name: (byte_order, word_order)
    "ABCD": ("big", "big"),
    "CDAB": ("big", "little"),
    "BADC": ("little", "big"),
    "DCBA": ("little", "little"),
}

# dtype, value, registers in ABCD, CDAB, BADC, DCBA
GOLDEN: list[tuple[str, int | float, dict[str, list[int]]]] = [
    ("int16", -300, {"ABCD": [0xFED4], "CDAB": [0xFED4], "BADC": [0xD4FE], "DCBA": [0xD4FE]}),
    ("int16", -2, {"ABCD": [0xFFFE], "CDAB": [0xFFFE], "BADC": [0xFEFF], "DCBA": [0xFEFF]}),
    ("uint16", 0x1234, {"ABCD": [0x1234], "CDAB": [0x1234], "BADC": [0x3412], "DCBA": [0x3412]}),
    (
        "int32",
        -2,
        {
            "ABCD": [0xFFFF, 0xFFFE],
            "CDAB": [0xFFFE, 0xFFFF],
            "BADC": [0xFFFF, 0xFEFF],
            "DCBA": [0xFEFF, 0xFFFF],
        },
    ),
    (
        "int32",
        -123456789,
        {
            "ABCD": [0xF8A4, 0x32EB],
            "CDAB": [0x32EB, 0xF8A4],
            "BADC": [0xA4F8, 0xEB32],
            "DCBA": [0xEB32, 0xA4F8],
        },
    ),
    (
        "uint32",
        0x12345678,
        {
            "ABCD": [0x1234, 0x5678],
            "CDAB": [0x5678, 0x1234],
            "BADC": [0x3412, 0x7856],
            "DCBA": [0x7856, 0x3412],
        },
    ),
    (
        "float32",
        123.456,
        {
            "ABCD": [0x42F6, 0xE979],
            "CDAB": [0xE979, 0x42F6],
            "BADC": [0xF642, 0x79E9],
            "DCBA": [0x79E9, 0xF642],
        },
    ),
    (
        "float32",
        -2.5,
        {
            "ABCD": [0xC020, 0x0000],
            "CDAB": [0x0000, 0xC020],
            "BADC": [0x20C0, 0x0000],
            "DCBA": [0x0000, 0x20C0],
        },
    ),
    (
        "float64",
        123.456,
        {
            "ABCD": [0x405E, 0xDD2F, 0x1A9F, 0xBE77],
            "CDAB": [0xBE77, 0x1A9F, 0xDD2F, 0x405E],
            "BADC": [0x5E40, 0x2FDD, 0x9F1A, 0x77BE],
            "DCBA": [0x77BE, 0x9F1A, 0x2FDD, 0x5E40],
        },
    ),
    (
        "float64",
        -2.5,
        {
            "ABCD": [0xC004, 0, 0, 0],
            "CDAB": [0, 0, 0, 0xC004],
            "BADC": [0x04C0, 0, 0, 0],
            "DCBA": [0, 0, 0, 0x04C0],
        },
    ),
    (
        "int64",
        -2,
        {
            "ABCD": [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE],
            "CDAB": [0xFFFE, 0xFFFF, 0xFFFF, 0xFFFF],
            "BADC": [0xFFFF, 0xFFFF, 0xFFFF, 0xFEFF],
            "DCBA": [0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF],
        },
    ),
    (
        "int64",
        0x0102030405060708,
        {
            "ABCD": [0x0102, 0x0304, 0x0506, 0x0708],
            "CDAB": [0x0708, 0x0506, 0x0304, 0x0102],
            "BADC": [0x0201, 0x0403, 0x0605, 0x0807],
            "DCBA": [0x0807, 0x0605, 0x0403, 0x0201],
        },
    ),
    (
        "uint64",
        0xFEDCBA9876543210,
        {
            "ABCD": [0xFEDC, 0xBA98, 0x7654, 0x3210],
            "CDAB": [0x3210, 0x7654, 0xBA98, 0xFEDC],
            "BADC": [0xDCFE, 0x98BA, 0x5476, 0x1032],
            "DCBA": [0x1032, 0x5476, 0x98BA, 0xDCFE],
        },
    ),
]

GOLDEN_CASES = [
    pytest.param(dtype, value, name, registers[name], id=f"{dtype}-{value}-{name}")
    for dtype, value, registers in GOLDEN
    for name in ORDERS
]

INT_RANGES = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
NUMERIC = [*INT_RANGES, "float32", "float64"]


def field(dtype: str, order: str = "ABCD", address: int = 0, **kw: object) -> RegisterField:
    byte_order, word_order = ORDERS[order]
    return RegisterField(
        f"{dtype}@{address}",
        address,
        dtype,  # type: ignore[arg-type]
        byte_order,  # type: ignore[arg-type]
        word_order,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(("dtype", "value", "order", "registers"), GOLDEN_CASES)
def test_golden_registers_decode_to_the_value(
    dtype: str, value: float, order: str, registers: list[int]
) -> None:
    # float(value) is also how float64 rounds 64-bit integers beyond 2**53
    expected = float(np.float32(value)) if dtype == "float32" else float(value)
    assert decode_block(registers, 7, [field(dtype, order, address=7)]).tolist() == [expected]


@pytest.mark.parametrize(("dtype", "value", "order", "registers"), GOLDEN_CASES)
def test_value_encodes_to_the_golden_registers(
    dtype: str, value: float, order: str, registers: list[int]
) -> None:
    assert encode_value(field(dtype, order), value) == registers


def test_bits_pick_one_bit_counted_after_the_byte_swap() -> None:
    fields = [field("bool", address=0, bit=b) for b in (0, 1, 2, 15)]
    assert decode_block([0x8005], 0, fields).tolist() == [1.0, 0.0, 1.0, 1.0]
    swapped = [field("bool", "BADC", address=0, bit=b) for b in (0, 8)]
    assert decode_block([0x0100], 0, swapped).tolist() == [1.0, 0.0]
    assert encode_value(field("bool", bit=4), True) == [0x0010]
    assert encode_value(field("bool", "BADC", bit=0), 1) == [0x0100]
    assert encode_value(field("bool", bit=4), False) == [0]


def test_bool_without_bit_is_true_for_any_nonzero_register_and_reads_coils() -> None:
    plain = [field("bool", address=a) for a in range(3)]
    assert decode_block([7, 0, 0x8000], 0, plain).tolist() == [1.0, 0.0, 1.0]
    assert decode_block([True, False, True], 0, plain).tolist() == [1.0, 0.0, 1.0]
    assert encode_value(plain[0], True) == [1]


def test_scale_and_offset_give_engineering_values_and_encode_rounds() -> None:
    temp = field("uint16", scale=0.1, offset=-40.0)
    assert decode_block([1234], 0, [temp])[0] == pytest.approx(83.4)
    assert encode_value(temp, 83.4) == [1234]
    assert encode_value(temp, 83.46) == [1235]  # raw 1234.6 rounds up
    pressure = field("int16", scale=0.01)
    assert decode_block([0xFED4], 0, [pressure])[0] == pytest.approx(-3.0)
    assert encode_value(pressure, -3.0) == [0xFED4]
    assert encode_value(field("int16"), 2.5) == [2]  # halves go to even
    assert decode_block([0x42F6, 0xE979], 0, [field("float32", scale=2.0, offset=1.0)])[
        0
    ] == pytest.approx(247.912)


def test_block_with_several_fields_keeps_the_field_order() -> None:
    registers = [
        0x42F6, 0xE979,  # 100 float32 ABCD 123.456
        0xFED4,  # 102 int16 -300
        0x8005,  # 103 status bits
        0x5678, 0x1234,  # 104 uint32 CDAB 0x12345678
        0xFFFF,  # 106 unused
        0x405E, 0xDD2F, 0x1A9F, 0xBE77,  # 107 float64 ABCD 123.456
    ]  # fmt: skip
    fields = [
        field("float64", address=107),
        field("bool", address=103, bit=2),
        field("int16", address=102, scale=0.1),
        field("uint32", "CDAB", address=104),
        field("float32", address=100),
        field("bool", address=103, bit=1),
        field("bool", address=103, bit=15),
    ]
    values = decode_block(np.array(registers, dtype=np.uint16), 100, fields)
    assert values.dtype == np.float64
    assert values.tolist() == pytest.approx(
        [123.456, 1.0, -30.0, 0x12345678, 123.456, 0.0, 1.0], rel=1e-7
    )
    assert decode_block(registers, 100, []).tolist() == []


def test_nan_and_infinity_pass_through_float_fields() -> None:
    for dtype in ("float32", "float64"):
        f = field(dtype, "DCBA")
        assert math.isnan(decode_block(encode_value(f, math.nan), 0, [f])[0])
        assert decode_block(encode_value(f, -math.inf), 0, [f])[0] == -math.inf
    assert encode_value(field("float32"), math.inf) == [0x7F80, 0x0000]


def test_a_field_outside_the_block_is_refused() -> None:
    with pytest.raises(CodecError, match=r"'float32@108' \(float32\) needs registers 108\.\.109, "):
        decode_block([0] * 9, 100, [field("float32", address=108)])
    with pytest.raises(CodecError, match=r"block holds 100\.\.108"):
        decode_block([0] * 9, 100, [field("int16", address=99)])
    with pytest.raises(CodecError, match="block holds nothing"):
        decode_block([], 100, [field("int16", address=100)])


@pytest.mark.parametrize(
    ("registers", "message"),
    [
        ([1, 2, 70000], "register 102 holds 70000, which is not a 16-bit value"),
        ([-1], "register 100 holds -1,"),
        ([1.5, 2.0], "register 100 holds 1.5,"),
        ([1, 2**70], f"register 101 holds {2**70},"),
    ],
)
def test_a_register_that_is_not_16_bits_is_refused(registers: list[int], message: str) -> None:
    with pytest.raises(CodecError, match=message):
        decode_block(registers, 100, [field("int16", address=100)])


def test_codec_errors_belong_to_the_plantos_root() -> None:
    assert issubclass(CodecError, PlantOSError)
    with pytest.raises(CodecError, match="flat sequence"):
        decode_block(np.zeros((2, 2), dtype=np.uint16), 0, [field("int16")])


@pytest.mark.parametrize(
    ("target", "value", "message"),
    [
        (field("int16"), math.nan, "cannot hold nan"),
        (field("uint32"), math.inf, "cannot hold inf"),
        (field("int16"), 40000, r"raw value 40000 is outside -32768\.\.32767"),
        (field("uint16"), -1, r"outside 0\.\.65535"),
        (field("uint16", scale=0.01), 700.0, "raw value 70000 is outside"),
        (field("uint64"), 2**64, "is outside"),
        (field("int64"), 1e300, "is outside"),
        (field("int32"), 10**400, "cannot hold"),
        (field("bool", bit=3), 2, r"outside 0\.\.1"),
        (field("float32"), 1e39, "beyond the float32 range"),
        (field("float64", scale=1e-300), 1e300, "overflows float64"),
    ],
)
def test_encode_refuses_values_the_field_cannot_hold(
    target: RegisterField, value: float, message: str
) -> None:
    with pytest.raises(CodecError, match=message):
        encode_value(target, value)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"dtype": "float16"}, "dtype must be one of"),
        ({"dtype": "int16", "bit": 3}, "bit must be 0..15 on a bool field"),
        ({"dtype": "bool", "bit": 16}, "got bit 16"),
        ({"dtype": "int16", "address": -1}, r"address must be 0\.\.65535"),
        ({"dtype": "float32", "address": 65535}, r"address must be 0\.\.65534"),
        ({"dtype": "int16", "scale": 0.0}, "scale must be finite and non-zero"),
        ({"dtype": "int16", "offset": math.nan}, "offset must be finite"),
        ({"dtype": "int16", "word_order": "middle"}, "word_order must be big or little"),
    ],
)
def test_field_definitions_are_checked(kw: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"name": "f", "address": 0} | kw
    with pytest.raises(ValueError, match=message):
        RegisterField(**arguments)  # type: ignore[arg-type]


def _values(dtype: str) -> st.SearchStrategy[float]:
    if dtype in INT_RANGES:
        return st.integers(*INT_RANGES[dtype])
    return st.floats(allow_nan=False, width=32 if dtype == "float32" else 64)


@pytest.mark.parametrize("dtype", NUMERIC)
@settings(max_examples=40, deadline=None)
@given(data=st.data(), order=st.sampled_from(sorted(ORDERS)))
def test_encode_then_decode_gives_the_value_back(
    dtype: str, order: str, data: st.DataObject
) -> None:
    value = data.draw(_values(dtype))
    f = field(dtype, order, address=3)
    registers = encode_value(f, value)
    assert len(registers) == f.width and all(0 <= r <= 0xFFFF for r in registers)
    assert decode_block(registers, 3, [f]).tolist() == [float(value)]


@pytest.mark.parametrize("dtype", ["int16", "uint16", "int32", "uint32", "float32", "float64"])
@settings(max_examples=40, deadline=None)
@given(data=st.data(), order=st.sampled_from(sorted(ORDERS)))
def test_decode_then_encode_gives_the_registers_back(
    dtype: str, order: str, data: st.DataObject
) -> None:
    f = field(dtype, order)
    registers = data.draw(st.lists(st.integers(0, 0xFFFF), min_size=f.width, max_size=f.width))
    value = float(decode_block(registers, 0, [f])[0])
    assume(not math.isnan(value))  # NaN payloads need not survive
    assert encode_value(f, value) == registers


@settings(max_examples=40, deadline=None)
@given(
    registers=st.integers(0, 0xFFFF),
    bit=st.integers(0, 15),
    order=st.sampled_from(["ABCD", "BADC"]),
)
def test_bits_round_trip(registers: int, bit: int, order: str) -> None:
    f = field("bool", order, bit=bit)
    value = decode_block([registers], 0, [f])[0]
    assert value in (0.0, 1.0)
    assert decode_block(encode_value(f, value), 0, [f])[0] == value


@settings(max_examples=40, deadline=None)
@given(value=st.floats(-3276.8, 3276.7), order=st.sampled_from(sorted(ORDERS)))
def test_scaled_integers_round_trip_within_half_a_step(value: float, order: str) -> None:
    f = field("int16", order, scale=0.1, offset=0.0)
    assert abs(decode_block(encode_value(f, value), 0, [f])[0] - value) <= 0.05 + 1e-9


def test_plan_reads_merges_neighbours_within_the_gap() -> None:
    assert plan_reads([]) == []
    at = [field("float32", address=0), field("int16", address=2)]
    assert plan_reads(at) == [(0, 3)]
    assert plan_reads([field("float32", address=0), field("int16", address=10)]) == [(0, 11)]
    assert plan_reads([field("float32", address=0), field("int16", address=11)]) == [
        (0, 2),
        (11, 1),
    ]
    assert plan_reads([field("int16", address=3), field("int16", address=0)], max_gap=0) == [
        (0, 1),
        (3, 1),
    ]
    bits = [field("bool", address=40, bit=b) for b in range(16)]
    assert plan_reads([*bits, field("float64", address=38)]) == [(38, 4)]


def test_plan_reads_never_exceeds_max_registers() -> None:
    floats = [field("float32", address=2 * i) for i in range(100)]
    assert plan_reads(floats) == [(0, 124), (124, 76)]
    coils = [field("bool", address=a) for a in range(3000)]
    assert plan_reads(coils, max_registers=2000) == [(0, 2000), (2000, 1000)]
    with pytest.raises(ValueError, match="max_registers must be at least 1, got 0"):
        plan_reads(floats, max_registers=0)
    with pytest.raises(ValueError, match="max_gap must be 0 or more, got -1"):
        plan_reads(floats, max_gap=-1)
    with pytest.raises(ValueError, match="needs 4 registers, more than max_registers=2"):
        plan_reads([field("float64")], max_registers=2)


@settings(max_examples=50, deadline=None)
@given(
    spans=st.lists(
        st.tuples(st.integers(0, 600), st.sampled_from(["int16", "float32", "float64"])),
        max_size=40,
    ),
    max_registers=st.integers(4, 125),
    max_gap=st.integers(0, 20),
)
@example(spans=[(0, "float32"), (1, "float64")], max_registers=4, max_gap=0)
def test_plan_reads_covers_every_field_in_sorted_reads_disjoint_for_disjoint_fields(
    spans: list[tuple[int, str]], max_registers: int, max_gap: int
) -> None:
    fields = [field(dtype, address=address) for address, dtype in spans]
    reads = plan_reads(fields, max_registers=max_registers, max_gap=max_gap)
    assert all(1 <= count <= max_registers for _, count in reads)
    assert all(a < b for (a, _), (b, _) in itertools.pairwise(reads))  # in address order
    ordered = sorted(fields, key=lambda f: f.address)
    if all(f.address + f.width <= g.address for f, g in itertools.pairwise(ordered)):
        # fields that overlap (one register read two ways) may need reads that overlap:
        # a float64 at 1 beside a float32 at 0 with max_registers 4; others never do
        assert all(a + n <= b for (a, n), (b, _) in itertools.pairwise(reads))
    for f in fields:
        assert any(a <= f.address and f.address + f.width <= a + n for a, n in reads)
        # and it decodes from the read that covers it
        a, n = next(r for r in reads if r[0] <= f.address and f.address + f.width <= r[0] + r[1])
        decode_block([0] * n, a, [f])


def test_word_order_agrees_with_pymodbus() -> None:
    mixin = pytest.importorskip("pymodbus.client.mixin").ModbusClientMixin
    samples = {
        "int16": -300,
        "uint16": 0xBEEF,
        "int32": -123456789,
        "uint32": 0x12345678,
        "float32": 123.456,
        "float64": -1234.5678,
        "int64": -(2**40) - 3,
        "uint64": 2**50 + 7,
    }
    for dtype, value in samples.items():
        kind = mixin.DATATYPE[dtype.upper()]
        for order in ("ABCD", "CDAB"):
            f = field(dtype, order)
            word_order = f.word_order
            registers = mixin.convert_to_registers(value, kind, word_order=word_order)
            assert encode_value(f, value) == registers, (dtype, order)
            theirs = mixin.convert_from_registers(registers, kind, word_order=word_order)
            assert decode_block(registers, 0, [f]).tolist() == [float(theirs)], (dtype, order)


def test_docstring_examples_run() -> None:
    assert doctest.testmod(codec, raise_on_error=False).failed == 0
