"""The YAML a controls engineer writes for one Modbus TCP device, as pydantic models.

Validation errors are plain pydantic errors; the plant loader turns them into
``file:line`` problems. Durations are strings such as ``500ms`` or ``2s`` and are
held as integer nanoseconds.

>>> spec = ModbusTcpSpec.model_validate({
...     "kind": "modbus-tcp", "name": "plc", "host": "10.0.0.5",
...     "poll_groups": [{"interval": "1s", "table": "holding",
...                      "tags": [{"tag": "a/b", "address": 100, "type": "float32"}]}],
... })
>>> spec.poll_groups[0].interval, spec.timeout, spec.retries
(1000000000, 2000000000, 1)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from plantos.edge.durations import DurationNs
from plantos.edge.modbus.codec import MAX_STRING_REGISTERS, DType, Order, RegisterField
from plantos.model.valuetypes import SourceType

Table = Literal["holding", "input", "coil", "discrete"]
BIT_TABLES: frozenset[str] = frozenset({"coil", "discrete"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModbusTag(_Strict):
    """One tag in a poll group: where it lives and how it is encoded.

    ``type`` may be left out in coil and discrete tables (it is ``bool`` there). A
    ``string`` spans ``length`` registers (two bytes each) and feeds a text tag.
    """

    tag: str = Field(min_length=1)
    address: int = Field(ge=0, le=65535)
    type: DType | None = None
    byte_order: Order = "big"
    word_order: Order = "big"
    scale: float = 1.0
    offset: float = 0.0
    bit: int | None = None
    length: int | None = Field(default=None, ge=1, le=MAX_STRING_REGISTERS)

    def field(self, table: Table) -> RegisterField:
        """The codec field for this tag when read from ``table``."""
        if table in BIT_TABLES:
            if self.type not in (None, "bool") or self.bit is not None:
                raise ValueError(
                    f"tag {self.tag!r}: a {table} table holds single bits, "
                    f"so type must be bool and bit unset (got type {self.type!r}, bit {self.bit!r})"
                )
            dtype: DType = "bool"
        elif self.type is None:
            raise ValueError(f"tag {self.tag!r}: type is required in a {table} table")
        else:
            dtype = self.type
        return RegisterField(
            self.tag,
            self.address,
            dtype,
            byte_order=self.byte_order,
            word_order=self.word_order,
            scale=self.scale,
            offset=self.offset,
            bit=self.bit,
            length=self.length,
        )


def modbus_source_type(tag: ModbusTag, table: Table) -> SourceType:
    """What type the values of ``tag`` have once decoded and scaled: its register type,
    ``bool`` for a bit, ``text`` for a string, a float wherever scaling can make fractions."""
    if table in BIT_TABLES or tag.bit is not None:
        return "bool"
    if tag.type is None:
        return "float64"  # refused by ModbusTag.field; nothing to warn about here
    if tag.type == "string":
        return "text"
    whole_scaling = float(tag.scale).is_integer() and float(tag.offset).is_integer()
    if tag.type.startswith("float") or whole_scaling:
        return tag.type
    return "float64"


class PollGroup(_Strict):
    """Tags of one table read together every ``interval``.

    ``max_gap`` is how many unused registers one read may span to join two tags;
    set 0 for devices that reject reads over unmapped addresses.
    """

    interval: DurationNs
    table: Table
    max_gap: int = Field(default=8, ge=0)
    tags: list[ModbusTag] = Field(min_length=1)

    @model_validator(mode="after")
    def _fields_decode(self) -> PollGroup:
        self.fields()
        return self

    def fields(self) -> list[RegisterField]:
        return [tag.field(self.table) for tag in self.tags]


class ModbusTcpSpec(_Strict):
    """One Modbus TCP device (or gateway unit) and the tags polled from it."""

    kind: Literal["modbus-tcp"]
    name: str = Field(min_length=1)
    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    unit: int = Field(default=1, ge=0, le=255)
    timeout: DurationNs = 2_000_000_000
    retries: int = Field(default=1, ge=0, le=5)
    """How often a request unanswered within ``timeout`` is sent again on the same
    connection before the link counts as lost: one late answer (a gateway that dropped a
    frame, a device or host busy for a moment) then costs one poll's delay, not every
    tag Bad and a reconnect. A dead device is found after ``(retries + 1) * timeout``."""
    refused_retry: DurationNs = 600_000_000_000
    """How long a read split around addresses the device refuses keeps its split layout
    before the whole read is tried again (a device that gains registers recovers)."""
    poll_groups: list[PollGroup] = Field(min_length=1)

    @model_validator(mode="after")
    def _tags_unique(self) -> ModbusTcpSpec:
        seen: set[str] = set()
        for group in self.poll_groups:
            for tag in group.tags:
                if tag.tag in seen:
                    raise ValueError(f"tag {tag.tag!r} appears more than once")
                seen.add(tag.tag)
        return self
