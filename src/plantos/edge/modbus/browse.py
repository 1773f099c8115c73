"""Read a range of a Modbus TCP device's table and show what its registers could mean:
what ``plantos browse modbus://...`` shows.

:func:`browse_modbus` reads the range in chunks within the protocol's limits (125
registers, 2000 bits); a chunk the device answers with an exception (or not at all)
is marked unavailable and the rest is still read. :func:`interpret` then shows every
register raw and every register pair as float32 and int32 in ABCD and CDAB order, so
the encoding a device uses can be spotted by eye; :func:`guess_tags` proposes tags for
the non-zero registers, and says which are guesses: registers carry no types, so a pair
that reads as a float32 may as well be two int16 values, and a register with its top bit
set may be signed or not. Only a reading nothing else explains is offered as certain.
Read-only; plain dataclasses, no printing.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from plantos.core.errors import PlantOSError
from plantos.edge.modbus.codec import DType, Order

Table = Literal["holding", "input", "coil", "discrete"]
TABLES: tuple[Table, ...] = ("holding", "input", "coil", "discrete")
BIT_TABLES = ("coil", "discrete")
MAX_REGISTERS = 125
MAX_BITS = 2000
_READ_METHOD = {
    "holding": "read_holding_registers",
    "input": "read_input_registers",
    "coil": "read_coils",
    "discrete": "read_discrete_inputs",
}
_EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


class BrowseError(PlantOSError):
    """The device cannot be reached."""


@dataclass(frozen=True, slots=True)
class ChunkError:
    """One read that failed: ``count`` addresses from ``start`` are unavailable."""

    start: int
    count: int
    message: str


@dataclass(slots=True)
class ModbusBrowseResult:
    host: str
    port: int
    unit: int
    table: Table
    start: int
    end: int
    """Last address read, inclusive."""
    values: list[int | None] = field(default_factory=list)
    """One per address from ``start`` to ``end``; None where the read failed."""
    errors: list[ChunkError] = field(default_factory=list)

    def value(self, address: int) -> int | None:
        if not self.start <= address <= self.end:
            return None
        return self.values[address - self.start]


@dataclass(frozen=True, slots=True)
class RegisterReading:
    """One address, raw and with the register at ``address + 1`` as a 32-bit pair
    (None where either register is unavailable, or in a bit table)."""

    address: int
    raw: int | None
    float32_abcd: float | None = None
    float32_cdab: float | None = None
    int32_abcd: int | None = None
    int32_cdab: int | None = None

    @property
    def available(self) -> bool:
        return self.raw is not None


@dataclass(frozen=True, slots=True)
class TagGuess:
    """A candidate tag for a modbus-tcp poll group; ``guess`` when the registers could
    also be read another way, which ``note`` names."""

    address: int
    type: DType
    word_order: Order = "big"
    note: str = ""
    guess: bool = False


def modbus_target(url: str) -> tuple[str, int]:
    """Host and port of ``modbus://host[:port]`` (``modbus+tcp://`` too); port 502 by default."""
    match = re.match(r"^modbus(?:\+tcp)?://([^/:\s]+|\[[^\]]+\])(?::(\d*))?/?$", url)
    if match is None:
        raise ValueError(f"{url!r} is not a Modbus URL (write e.g. modbus://host:502)")
    host, port_text = match.groups()
    port = int(port_text) if port_text else 502
    if not 1 <= port <= 65535:
        raise ValueError(f"{url!r}: port must be 1..65535, got {port}")
    return host.strip("[]"), port


def parse_range(text: str) -> tuple[int, int]:
    """``"0-99"`` (or one address ``"40"``) as ``(first, last)``, both inclusive."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if match is None:
        raise ValueError(f"register range {text!r} must look like 0-99")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last > 65535:
        raise ValueError(f"register range {text!r}: addresses go up to 65535")
    if first > last:
        raise ValueError(f"register range {text!r}: the first address is after the last")
    return first, last


def chunks(first: int, last: int, table: Table) -> list[tuple[int, int]]:
    """``(start, count)`` reads covering ``first..last`` within the protocol limit."""
    size = MAX_BITS if table in BIT_TABLES else MAX_REGISTERS
    return [(s, min(size, last + 1 - s)) for s in range(first, last + 1, size)]


async def browse_modbus(
    host: str,
    port: int = 502,
    *,
    unit: int = 1,
    table: Table = "holding",
    first: int = 0,
    last: int = 99,
    timeout_s: float = 2.0,
) -> ModbusBrowseResult:
    """Values of ``first..last`` in ``table`` of ``unit``; failed chunks are None and
    listed in ``errors``. Raises :class:`BrowseError` if the device cannot be reached."""
    if table not in TABLES:
        raise ValueError(f"table must be one of {', '.join(TABLES)}, got {table!r}")
    if not 0 <= unit <= 255:
        raise ValueError(f"unit must be 0..255, got {unit}")
    if not 0 <= first <= last <= 65535:
        raise ValueError(f"register range {first}-{last} must be within 0-65535, first <= last")
    from pymodbus.client import AsyncModbusTcpClient
    from pymodbus.exceptions import ModbusException

    result = ModbusBrowseResult(host, port, unit, table, first, last)
    client = AsyncModbusTcpClient(
        host, port=port, timeout=timeout_s, retries=0, reconnect_delay=0, name="plantos-browse"
    )
    try:
        if not await client.connect():
            raise BrowseError(f"cannot connect to modbus device {host}:{port}")
        read = getattr(client, _READ_METHOD[table])
        for start, count in chunks(first, last, table):
            words: Sequence[int] | None = None
            if not client.connected:
                message = "connection lost"
            else:
                try:
                    response = await read(start, count=count, device_id=unit)
                except ModbusException as exc:
                    message = f"no answer ({type(exc).__name__})"
                else:
                    if response.isError():
                        code = int(getattr(response, "exception_code", 0))
                        message = f"exception {code}: {_EXCEPTIONS.get(code, 'unknown')}"
                    else:
                        bits = table in BIT_TABLES
                        words = [int(w) for w in (response.bits if bits else response.registers)]
                        message = ""
            if words is None or len(words) < count:
                result.values.extend([None] * count)
                result.errors.append(
                    ChunkError(start, count, message or f"short answer: {len(words or [])} values")
                )
            else:
                result.values.extend(words[:count])
    finally:
        client.close()
    return result


def interpret(result: ModbusBrowseResult) -> list[RegisterReading]:
    """Every address of the result, with its pair interpretations for register tables."""
    bits = result.table in BIT_TABLES
    readings: list[RegisterReading] = []
    for address in range(result.start, result.end + 1):
        raw = result.value(address)
        following = result.value(address + 1)
        if bits or raw is None or following is None:
            readings.append(RegisterReading(address, raw))
            continue
        abcd = struct.pack(">HH", raw, following)
        cdab = struct.pack(">HH", following, raw)
        readings.append(
            RegisterReading(
                address,
                raw,
                float32_abcd=struct.unpack(">f", abcd)[0],
                float32_cdab=struct.unpack(">f", cdab)[0],
                int32_abcd=struct.unpack(">i", abcd)[0],
                int32_cdab=struct.unpack(">i", cdab)[0],
            )
        )
    return readings


def plausible_float(value: float | None) -> bool:
    """A float32 a process value would likely have: finite, not tiny, not huge."""
    return value is not None and math.isfinite(value) and 1e-4 <= abs(value) < 1e9


def guess_tags(result: ModbusBrowseResult) -> list[TagGuess]:
    """Candidate tags for the non-zero addresses. Bit tables give one bool per set bit,
    certain. In register tables a pair that reads as a plausible float32 (ABCD preferred
    over CDAB) becomes a float32 tag marked as a guess, since two 16-bit values read the
    same; any other register a 16-bit integer, certain when its top bit is clear (int16
    and uint16 agree), else a guess. (A register whose pair with a zero neighbour is no
    plausible float32 cannot be either half of one.)"""
    readings = {r.address: r for r in interpret(result)}
    guesses: list[TagGuess] = []
    address = result.start
    while address <= result.end:
        reading = readings[address]
        if not reading.raw:
            address += 1
        elif result.table in BIT_TABLES:
            guesses.append(TagGuess(address, "bool"))
            address += 1
        elif (pair := _float_guess(reading, result.value(address + 1))) is not None:
            guesses.append(pair)
            address += 2
        else:
            guesses.append(_integer_guess(reading))
            address += 1
    return guesses


def _float_guess(reading: RegisterReading, following: int | None) -> TagGuess | None:
    for value, order, name in (
        (reading.float32_abcd, "big", "ABCD"),
        (reading.float32_cdab, "little", "CDAB"),
    ):
        if plausible_float(value) and following is not None and reading.raw is not None:
            ints = f"{_int16(reading.raw)} and {_int16(following)}"
            note = f"guess: float32 {name} = {value:.6g}, or two int16 {ints}"
            return TagGuess(reading.address, "float32", order, note, guess=True)  # type: ignore[arg-type]
    return None


def _integer_guess(reading: RegisterReading) -> TagGuess:
    """A register no float32 reading explains: certain unless its top bit is set."""
    raw = reading.raw or 0
    if raw < 0x8000:
        return TagGuess(reading.address, "uint16", "big", f"uint16 = {raw}")
    note = f"guess: int16 = {_int16(raw)}, or uint16 = {raw}"
    return TagGuess(reading.address, "int16", "big", note, guess=True)


def _int16(raw: int) -> int:
    return raw - 0x10000 if raw >= 0x8000 else raw
