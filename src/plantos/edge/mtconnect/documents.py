"""MTConnect response documents as plain values: pure parsing, no I/O.

An agent answers ``/probe`` with an ``MTConnectDevices`` document, ``/current`` and
``/sample`` with ``MTConnectStreams`` and any failed request with ``MTConnectError``.
Parsing ignores XML namespaces, so documents of every MTConnect version (1.x, 2.x)
read the same. Documents come from the network, so every parser refuses a document
larger than ``max_bytes`` and any ``DOCTYPE`` (which is where entity expansion bombs
live) or entity declaration, in every encoding (UTF-16 included), through
:func:`plantos.core.untrusted_xml.parse_untrusted`; neither is needed by a real agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree

from plantos.core.errors import PlantOSError
from plantos.core.untrusted_xml import ForbiddenXmlError, UntrustedXmlError, parse_untrusted

MAX_BYTES = 16 * 1024 * 1024
UNAVAILABLE = "UNAVAILABLE"

_CATEGORIES = {"Samples": "SAMPLE", "Events": "EVENT", "Condition": "CONDITION"}
_INTEGER = re.compile(r"[+-]?[0-9]{1,40}")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9})\d*)?(Z|[+-]\d\d:?\d\d)?")


class MTConnectError(PlantOSError):
    """An MTConnect agent cannot be reached, or answered with an error or a bad document."""


@dataclass(frozen=True, slots=True)
class DataItemInfo:
    """One data item of a probe; ``component_path`` names its components from the device down."""

    id: str
    name: str | None
    category: str
    type: str
    sub_type: str | None
    units: str | None
    device: str
    component_path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Header:
    """The buffer window of the agent that wrote a streams document."""

    instance_id: int
    first_sequence: int
    last_sequence: int
    next_sequence: int
    creation_time: str


@dataclass(frozen=True, slots=True)
class Observation:
    """One observation. ``value`` is None for ``UNAVAILABLE``, an ``int`` when the text is a
    whole number (exact, however large), a ``float`` when it is another number, else the
    text; ``text`` is the text as sent (a condition's level, e.g. ``FAULT``) and
    ``element`` the element's name, which is the data item's type (``PartCount``)."""

    data_item_id: str
    sequence: int
    timestamp_ns: int
    value: int | float | str | None
    category: str
    text: str = ""
    element: str = ""


@dataclass(frozen=True, slots=True)
class StreamsDocument:
    header: Header
    observations: list[Observation]


@dataclass(frozen=True, slots=True)
class AgentError:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ErrorDocument:
    """An ``MTConnectError`` answer; ``instance_id`` is None when the header lacks it."""

    instance_id: int | None
    errors: list[AgentError]

    def has(self, code: str) -> bool:
        return any(e.code == code for e in self.errors)

    def __str__(self) -> str:
        return "; ".join(f"{e.code}: {e.message}" for e in self.errors)


def parse_probe(xml: bytes | str, *, max_bytes: int = MAX_BYTES) -> list[DataItemInfo]:
    """Every data item of every device in an ``MTConnectDevices`` document, in document order."""
    root = _root(xml, max_bytes, "MTConnectDevices")
    items: list[DataItemInfo] = []
    for device in _children(_child(root, "Devices"), None):
        device_name = device.get("name") or device.get("id") or ""
        _collect_items(device, device_name, (), items)
    return items


def parse_streams(xml: bytes | str, *, max_bytes: int = MAX_BYTES) -> StreamsDocument:
    """The header and the observations, sorted by sequence, of an ``MTConnectStreams`` document."""
    return _streams(_root(xml, max_bytes, "MTConnectStreams"))


def parse_error(xml: bytes | str, *, max_bytes: int = MAX_BYTES) -> ErrorDocument:
    """The errors of an ``MTConnectError`` document (with or without the ``Errors`` wrapper)."""
    return _error(_root(xml, max_bytes, "MTConnectError"))


def parse_response(
    xml: bytes | str, *, max_bytes: int = MAX_BYTES
) -> StreamsDocument | ErrorDocument:
    """A ``/current`` or ``/sample`` answer, which is either a streams or an error document."""
    root = _root(xml, max_bytes, "MTConnectStreams", "MTConnectError")
    return _error(root) if _local(root.tag) == "MTConnectError" else _streams(root)


def parse_timestamp_ns(text: str) -> int:
    """An MTConnect ISO 8601 timestamp as UTC nanoseconds, keeping all nine fraction digits.

    >>> parse_timestamp_ns("1970-01-01T00:00:01.000000123Z")
    1000000123
    """
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise MTConnectError(f"The timestamp {text!r} is not an ISO 8601 date and time.")
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    seconds = int(datetime.fromisoformat(base + zone).astimezone(UTC).timestamp())
    return seconds * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


def _root(xml: bytes | str, max_bytes: int, *expected: str) -> ElementTree.Element:
    data = xml.encode() if isinstance(xml, str) else xml
    if len(data) > max_bytes:
        raise MTConnectError(
            f"The document has {len(data)} bytes, more than the {max_bytes} bytes allowed; refused."
        )
    try:
        root = parse_untrusted(data, max_bytes=max_bytes)
    except ForbiddenXmlError as exc:
        raise MTConnectError(f"MTConnect never needs a DOCTYPE or entities: {exc}.") from exc
    except UntrustedXmlError as exc:
        raise MTConnectError(f"The document is not well-formed XML ({exc}).") from exc
    if _local(root.tag) not in expected:
        wanted = " or ".join(expected)
        raise MTConnectError(f"Expected an {wanted} document, got {_local(root.tag)!r}.")
    return root


def _streams(root: ElementTree.Element) -> StreamsDocument:
    header = _child(root, "Header")
    observations: list[Observation] = []
    streams = _optional_child(root, "Streams")
    if streams is not None:
        for container in streams.iter():
            category = _CATEGORIES.get(_local(container.tag))
            if category is not None:
                observations.extend(_observation(el, category) for el in container)
    observations.sort(key=lambda o: o.sequence)
    return StreamsDocument(
        Header(
            instance_id=_int_attr(header, "instanceId"),
            first_sequence=_int_attr(header, "firstSequence"),
            last_sequence=_int_attr(header, "lastSequence"),
            next_sequence=_int_attr(header, "nextSequence"),
            creation_time=_attr(header, "creationTime"),
        ),
        observations,
    )


def _error(root: ElementTree.Element) -> ErrorDocument:
    header = _optional_child(root, "Header")
    raw_id = header.get("instanceId") if header is not None else None
    errors = [
        AgentError(el.get("errorCode", "UNKNOWN"), (el.text or "").strip())
        for el in root.iter()
        if _local(el.tag) == "Error"
    ]
    if not errors:
        raise MTConnectError("The MTConnectError document holds no Error element.")
    return ErrorDocument(int(raw_id) if raw_id and raw_id.isdigit() else None, errors)


def parse_number(text: str) -> int | float | str:
    """``text`` as an exact ``int`` when it is a whole number, a ``float`` when it is a
    decimal number, else unchanged.

    >>> parse_number("18446744073709551615"), parse_number("-1.5e3"), parse_number("O1234")
    (18446744073709551615, -1500.0, 'O1234')
    """
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return float(text)
    return text


def _observation(el: ElementTree.Element, category: str) -> Observation:
    text = (el.text or "").strip()
    value: int | float | str | None
    if category == "CONDITION":
        text = _local(el.tag).upper()
        value = None if text == UNAVAILABLE else text
    elif text == UNAVAILABLE:
        value = None
    else:
        value = parse_number(text)
    return Observation(
        data_item_id=_attr(el, "dataItemId"),
        sequence=_int_attr(el, "sequence"),
        timestamp_ns=parse_timestamp_ns(_attr(el, "timestamp")),
        value=value,
        category=category,
        text=text,
        element=_local(el.tag),
    )


def _collect_items(
    component: ElementTree.Element, device: str, path: tuple[str, ...], out: list[DataItemInfo]
) -> None:
    for child in component:
        kind = _local(child.tag)
        if kind == "DataItems":
            out.extend(_data_item(el, device, path) for el in child)
        elif kind == "Components":
            for sub in child:
                name = sub.get("name") or sub.get("id") or _local(sub.tag)
                _collect_items(sub, device, (*path, name), out)


def _data_item(el: ElementTree.Element, device: str, path: tuple[str, ...]) -> DataItemInfo:
    return DataItemInfo(
        id=_attr(el, "id"),
        name=el.get("name"),
        category=_attr(el, "category"),
        type=_attr(el, "type"),
        sub_type=el.get("subType"),
        units=el.get("units"),
        device=device,
        component_path=path,
    )


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(el: ElementTree.Element, name: str | None) -> list[ElementTree.Element]:
    return [c for c in el if name is None or _local(c.tag) == name]


def _optional_child(el: ElementTree.Element, name: str) -> ElementTree.Element | None:
    found = _children(el, name)
    return found[0] if found else None


def _child(el: ElementTree.Element, name: str) -> ElementTree.Element:
    found = _optional_child(el, name)
    if found is None:
        raise MTConnectError(f"The {_local(el.tag)} element has no {name} element.")
    return found


def _attr(el: ElementTree.Element, name: str) -> str:
    value = el.get(name)
    if value is None:
        raise MTConnectError(f"The {_local(el.tag)} element has no {name} attribute.")
    return value


def _int_attr(el: ElementTree.Element, name: str) -> int:
    value = _attr(el, name)
    try:
        return int(value)
    except ValueError:
        raise MTConnectError(
            f"The {name} attribute of {_local(el.tag)} is {value!r}, not a whole number."
        ) from None
