"""Pure pieces of the MQTT JSON connector: topic patterns with named captures, tag path
templates, a small JSON path subset and the readers that turn JSON values into sample
values, timestamps and quality codes. Everything is compiled once from the YAML; per
message only matching and dictionary look-ups run. No I/O here, so all of it is unit
tested without a broker.

The JSON path subset is written here rather than taken from ``jsonpath-ng``: a connector
needs one value per path, so filters, wildcards and slices (which return many) have no
meaning, and a ten-line walker over ``.key`` / ``[index]`` steps is easier to read and to
document for controls engineers than a parser generator dependency.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from plantos.core import quality
from plantos.core.timeunits import NS_PER_MS as _NS_PER_MS
from plantos.core.timeunits import NS_PER_S as _NS_PER_S

TimestampFormat = Literal["epoch_ms", "epoch_s", "iso8601"]

_CAPTURE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class MappingError(ValueError):
    """A message (or one value in it) that cannot become a sample; counted, never raised
    out of the connector."""


@dataclass(frozen=True)
class TopicPattern:
    """An MQTT topic filter whose single-level wildcards may be named: ``{signal}`` is a
    ``+`` whose text is kept under that name for the tag template.

    >>> p = TopicPattern.parse("acme/{site}/+/{signal}")
    >>> p.filter
    'acme/+/+/+'
    >>> p.match("acme/plant-a/line-3/speed")
    {'site': 'plant-a', 'signal': 'speed'}
    >>> p.match("acme/plant-a/speed") is None
    True
    """

    text: str
    levels: tuple[str, ...]
    """Each level: a literal, ``+``, ``#`` or a capture name written ``{name}``."""

    @classmethod
    def parse(cls, text: str) -> TopicPattern:
        if not isinstance(text, str) or not text:
            raise ValueError(f"topic must be a non-empty MQTT topic filter, got {text!r}")
        levels = tuple(text.split("/"))
        seen: set[str] = set()
        for i, level in enumerate(levels):
            capture = _CAPTURE.fullmatch(level)
            if capture:
                if capture.group(1) in seen:
                    raise ValueError(f"topic {text!r} captures {level} twice")
                seen.add(capture.group(1))
            elif level == "#" and i != len(levels) - 1:
                raise ValueError(f"topic {text!r}: '#' may only be the last level")
            elif level not in ("+", "#") and any(c in level for c in "+#{}"):
                raise ValueError(
                    f"topic {text!r}: level {level!r} mixes text with a wildcard; "
                    "+, # and {name} must each fill a whole level"
                )
        return cls(text, levels)

    @property
    def captures(self) -> tuple[str, ...]:
        return tuple(m.group(1) for lv in self.levels if (m := _CAPTURE.fullmatch(lv)))

    @property
    def filter(self) -> str:
        """The filter subscribed at the broker: captures become ``+``."""
        return "/".join("+" if _CAPTURE.fullmatch(lv) else lv for lv in self.levels)

    def _wild(self) -> tuple[str, ...]:
        return tuple(self.filter.split("/"))

    def match(self, topic: str) -> dict[str, str] | None:
        """The captures when ``topic`` matches this filter, else None."""
        parts = topic.split("/")
        found: dict[str, str] = {}
        for i, level in enumerate(self.levels):
            if level == "#":
                return found
            if i >= len(parts):
                return None
            capture = _CAPTURE.fullmatch(level)
            if capture:
                found[capture.group(1)] = parts[i]
            elif level != "+" and level != parts[i]:
                return None
        return found if len(parts) == len(self.levels) else None

    def covers(self, other: TopicPattern) -> bool:
        """Whether every topic ``other`` matches is matched by this pattern too."""
        mine, theirs = self._wild(), other._wild()
        for i, level in enumerate(mine):
            if level == "#":
                return True
            if i >= len(theirs) or theirs[i] == "#":
                return False
            if level != "+" and level != theirs[i]:
                return False
        return len(mine) == len(theirs)

    def overlaps(self, other: TopicPattern) -> bool:
        """Whether some topic matches both patterns."""
        a, b = self._wild(), other._wild()
        for x, y in zip(a, b, strict=False):
            if "#" in (x, y):
                return True
            if "+" not in (x, y) and x != y:
                return False
        if len(a) == len(b):
            return True
        longer = a if len(a) > len(b) else b
        return longer[min(len(a), len(b)) :] == ("#",)  # 'a/#' also matches 'a'


@dataclass(frozen=True)
class TagTemplate:
    """A tag path with ``{name}`` placeholders filled from a topic's captures; without
    placeholders it is one explicit tag.

    >>> t = TagTemplate.parse("plant-a/{area}/{asset}_line/{signal}")
    >>> t.render({"area": "assembly", "asset": "l3", "signal": "speed"})
    'plant-a/assembly/l3_line/speed'
    >>> t.candidates(["plant-a/assembly/l3_line/speed", "plant-b/x/y_line/z"])
    ['plant-a/assembly/l3_line/speed']
    """

    text: str
    names: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> TagTemplate:
        if not isinstance(text, str) or not text:
            raise ValueError(f"tag must be a non-empty tag path, got {text!r}")
        rest = _CAPTURE.sub("", text)
        if "{" in rest or "}" in rest:
            raise ValueError(f"tag {text!r}: write placeholders as {{name}} (letters, digits, _)")
        return cls(text, tuple(m.group(1) for m in _CAPTURE.finditer(text)))

    @property
    def explicit(self) -> bool:
        return not self.names

    def render(self, captures: Mapping[str, str]) -> str:
        return _CAPTURE.sub(lambda m: captures[m.group(1)], self.text)

    def candidates(self, paths: list[str]) -> list[str]:
        """The tag paths this template can produce: a capture is one non-empty topic level."""
        seen: set[str] = set()
        parts: list[str] = []
        pos = 0
        for m in _CAPTURE.finditer(self.text):
            parts.append(re.escape(self.text[pos : m.start()]))
            name = m.group(1)
            parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+)")
            seen.add(name)
            pos = m.end()
        parts.append(re.escape(self.text[pos:]))
        pattern = re.compile("".join(parts))
        return [p for p in paths if pattern.fullmatch(p)]


_MISSING = object()
_STEP = re.compile(r"\.([^.\[\]'\"\s]+)|\[(-?\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


@dataclass(frozen=True)
class JsonPath:
    """One value inside a JSON document: ``$`` (the whole document), then ``.key``,
    ``['key with . or spaces']`` and ``[index]`` steps (negative counts from the end).

    >>> JsonPath.parse("$.data[0].value").get({"data": [{"value": 3.5}]})
    3.5
    >>> JsonPath.parse("$['a.b'][-1]").get({"a.b": [1, 2]})
    2
    """

    text: str
    steps: tuple[str | int, ...]

    @classmethod
    def parse(cls, text: str) -> JsonPath:
        if not isinstance(text, str) or not text.startswith("$"):
            raise ValueError(f"a JSON path starts with $ (e.g. $.value, $.a[0].b), got {text!r}")
        steps: list[str | int] = []
        pos = 1
        while pos < len(text):
            m = _STEP.match(text, pos)
            if m is None:
                raise ValueError(
                    f"JSON path {text!r}: cannot read from {text[pos:]!r}; "
                    "supported steps are .key, ['key'] and [index]"
                )
            key, index, single, double = m.groups()
            steps.append(int(index) if index is not None else key or single or double or "")
            pos = m.end()
        return cls(text, tuple(steps))

    def get(self, doc: object) -> object:
        """The value at this path; raises :class:`MappingError` when it is not there."""
        node: Any = doc
        for step in self.steps:
            if isinstance(node, list) and isinstance(step, int):
                found = -len(node) <= step < len(node)
            else:
                found = isinstance(node, dict) and isinstance(step, str) and step in node
            if not found:
                raise MappingError(f"{self.text}: nothing at step {step!r}")
            node = node[step]
        return node


SampleValue = bool | int | float | str
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def to_value(raw: object, *, text: bool = False) -> SampleValue:
    """A sample value as the JSON document has it, for the ingest gate to check against
    the tag's type: Booleans, integers exact whatever their size (Python's JSON reader
    keeps them exact), finite numbers, and strings.

    For a ``text`` tag a JSON string is its text. For any other tag a numeric string is
    read as its number (publishers that quote numbers), an integer one exactly; any other
    string is still delivered as text, so the gate marks the sample Bad with a reason
    instead of it vanishing. An object, an array, or a number no float can approach
    cannot be a sample at all: :class:`MappingError`.
    """
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        number = None if text else _numeric(raw)
        return raw if number is None else number
    if isinstance(raw, int):
        if abs(raw) >= 2**1024:  # beyond any float: not even its nearest value is known
            raise MappingError("number too large")
        return raw
    if isinstance(raw, float):
        return _finite(raw, raw)
    raise MappingError(f"not a value: a JSON {_JSON_NAMES.get(type(raw), type(raw).__name__)}")


_JSON_NAMES = {dict: "object", list: "array", type(None): "null"}


def _numeric(raw: str) -> int | float | None:
    """The number a string spells, None when it spells none."""
    try:
        number = int(raw) if _INTEGER.fullmatch(raw) else float(raw)
    except ValueError:  # not a number, or more digits than Python converts
        return None
    return number if isinstance(number, int) else _finite(number, raw)


def _finite(value: float, raw: object) -> float:
    if not math.isfinite(value):
        raise MappingError(f"not a finite number: {raw!r:.40}")
    return value


def _exact_number(raw: object) -> int | Decimal:
    """A number read without binary rounding, so ``1750000000.25`` epoch seconds is exactly
    a quarter second past and epoch milliseconds convert to nanoseconds exactly."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise MappingError(f"not a number: {raw!r:.40}")
    if isinstance(raw, int):
        return raw
    try:
        number = Decimal(repr(raw) if isinstance(raw, float) else raw.strip())
    except ArithmeticError:  # decimal.InvalidOperation
        raise MappingError(f"not a number: {raw!r:.40}") from None
    if not number.is_finite():
        raise MappingError(f"not a finite number: {raw!r:.40}")
    return number


def to_timestamp_ns(raw: object, fmt: TimestampFormat) -> int:
    """UTC nanoseconds from epoch milliseconds, epoch seconds (numbers or numeric strings)
    or ISO 8601 text (without an offset it is taken as UTC, like everywhere in PlantOS)."""
    if fmt == "iso8601":
        if not isinstance(raw, str):
            raise MappingError(f"timestamp is not ISO 8601 text: {raw!r:.40}")
        try:
            dt = datetime.fromisoformat(raw)
        except ValueError:
            raise MappingError(f"timestamp is not ISO 8601: {raw[:40]!r}") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        since = dt - _EPOCH
        ns = (since.days * 86_400 + since.seconds) * _NS_PER_S + since.microseconds * 1_000
    else:
        try:
            ns = round(_exact_number(raw) * (_NS_PER_MS if fmt == "epoch_ms" else _NS_PER_S))
        except ArithmeticError:  # beyond what Decimal can hold
            raise MappingError(f"timestamp out of range: {raw!r:.40}") from None
    if not 0 <= ns < 2**63:
        raise MappingError(f"timestamp out of range: {raw!r:.40}")
    return ns


_QUALITY_WORDS = {
    "good": quality.GOOD,
    "uncertain": quality.UNCERTAIN,
    "bad": quality.BAD,
    **{text.lower(): code for code, text in quality.NAMES.items()},
}


def to_quality(raw: object) -> int:
    """An OPC UA status code from its number (0 is Good) or from ``good``, ``uncertain``,
    ``bad`` or a status name such as ``BadSensorFailure`` (any case)."""
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < 2**32:
        return raw
    if isinstance(raw, str) and raw.lower() in _QUALITY_WORDS:
        return _QUALITY_WORDS[raw.lower()]
    raise MappingError(f"not a quality (status code or good/uncertain/bad): {raw!r:.40}")
