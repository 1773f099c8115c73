"""The JSON form of the codec's dataclasses, both ways, so a webhook body, a JSON-lines
file and a B2MML document carry the same fields: timestamps as ISO 8601 strings, keys
as UUID strings, tuples as lists, nested records as objects.

:func:`from_payload` is strict: an unknown field, a missing required one or a value of
the wrong type is a ``ValueError`` naming the record and field (``PerformanceReport.good:
expected a number, got 'many'``), so a malformed outbox row is refused with a reason.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import MISSING, fields, is_dataclass
from datetime import datetime
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints
from uuid import UUID

T = TypeVar("T")


def to_payload(value: Any) -> Any:
    """A dataclass (or a value inside one) as plain JSON-ready data."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_payload(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, tuple):
        return [to_payload(v) for v in value]
    return value


def from_payload(cls: type[T], data: object) -> T:
    """An instance of the dataclass ``cls`` from its JSON form (see module docstring)."""
    name = cls.__name__
    if not isinstance(data, Mapping):
        raise ValueError(f"{name}: expected an object, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"{name}: unknown fields {unknown}")
    hints = get_type_hints(cls)
    values = {}
    for field_name, spec in known.items():
        if field_name in data:
            values[field_name] = _convert(
                hints[field_name], data[field_name], f"{name}.{field_name}"
            )
        elif spec.default is MISSING and spec.default_factory is MISSING:
            raise ValueError(f"{name}: {field_name} is missing")
    return cls(**values)


def _convert(kind: Any, value: Any, where: str) -> Any:
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        kind = next(a for a in args if a is not type(None))
        return _convert(kind, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list, got {value!r}")
        return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if is_dataclass(kind):
        return from_payload(kind, value)  # type: ignore[arg-type]
    return _SCALARS[kind](value, where)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _integer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: expected a whole number, got {value!r}")
    return value


def _typed(expected: type, label: str) -> Any:
    def convert(value: Any, where: str) -> Any:
        if not isinstance(value, expected):
            raise ValueError(f"{where}: expected {label}, got {value!r}")
        return value

    return convert


def _timestamp(value: Any, where: str) -> datetime:
    try:
        return datetime.fromisoformat(_typed(str, "an ISO 8601 string")(value, where))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _uuid(value: Any, where: str) -> UUID:
    try:
        return UUID(_typed(str, "a UUID string")(value, where))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


_SCALARS: dict[Any, Any] = {
    str: _typed(str, "a string"),
    bool: _typed(bool, "true or false"),
    float: _number,
    int: _integer,
    datetime: _timestamp,
    UUID: _uuid,
}
