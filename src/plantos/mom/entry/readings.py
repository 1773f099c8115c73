"""One value typed by a person, checked against its tag as the plant model defines it.

A reading keeps the promise of the tag's type like a device's value does at the ingest
gate, but a person gets the reason at once instead of a Bad sample: a float or integer
tag takes a number (in the tag's unit, or in another unit of the same kind, which is
converted), and must lie in the tag's ``range``; a bool takes yes/no, an enum one of its
states (by name or code), a text at most ``max_length`` characters.
"""

from __future__ import annotations

import math

from plantos.model.plant import TagDef
from plantos.model.units import convert
from plantos.model.valuetypes import INT_BOUNDS
from plantos.mom.entry.errors import InvalidEntryError

Value = float | int | bool | str
TRUE = frozenset({"true", "yes", "1", "on"})
FALSE = frozenset({"false", "no", "0", "off"})


def reading_value(tag: TagDef, raw: object, *, unit: str | None = None) -> Value:
    """The value to store for ``raw`` entered on ``tag`` (``unit``: the unit it was given
    in, ``None`` or empty for the tag's own); :class:`InvalidEntryError` with the reason.

    >>> from plantos.model.plant import TagDef
    >>> oil = TagDef("x/oil", "x", "oil", "float", "degC", (0.0, 90.0), 0)
    >>> reading_value(oil, "41.5"), round(reading_value(oil, 122, unit="degF"), 6)
    (41.5, 50.0)
    >>> reading_value(oil, 95)
    Traceback (most recent call last):
    ...
    plantos.mom.entry.errors.InvalidEntryError: x/oil: 95 degC is outside the range 0 to 90 degC
    """
    unit = (unit or "").strip() or None
    if tag.dtype in ("float", "int", "uint"):
        return _number(tag, raw, unit)
    if unit is not None:
        raise InvalidEntryError(f"{tag.path}: a {tag.dtype} value has no unit (given {unit!r})")
    if tag.dtype == "bool":
        return _bool(tag, raw)
    if tag.dtype == "enum":
        return _state(tag, raw)
    return _text(tag, raw)


def _number(tag: TagDef, raw: object, unit: str | None) -> float | int:
    number = _parse_number(tag, raw)
    if unit is not None and unit != tag.unit:
        if tag.unit is None:
            raise InvalidEntryError(f"{tag.path} has no unit: enter a plain number, not {unit!r}")
        try:
            number = convert(float(number), unit, tag.unit)
        except ValueError as exc:
            raise InvalidEntryError(f"{tag.path}: {exc}") from None
    if tag.dtype != "float":
        number = _whole(tag, number)
    if tag.range is not None and not tag.range[0] <= number <= tag.range[1]:
        low, high = (_show(v) for v in tag.range)
        suffix = f" {tag.unit}" if tag.unit else ""
        raise InvalidEntryError(
            f"{tag.path}: {_show(number)}{suffix} is outside the range {low} to {high}{suffix}"
        )
    return number


def _parse_number(tag: TagDef, raw: object) -> float | int:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InvalidEntryError(f"{tag.path} takes a number, not {raw!r}")
    if isinstance(raw, str):
        text = raw.strip().replace(",", ".") if raw.count(",") == 1 else raw.strip()
        try:
            whole = tag.dtype != "float" and text.lstrip("+-").isdigit()
            number = int(text) if whole else float(text)
        except ValueError:
            raise InvalidEntryError(f"{tag.path} takes a number, not {raw!r}") from None
    else:
        number = raw
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidEntryError(f"{tag.path} takes a finite number, not {raw!r}")
    return number


def _whole(tag: TagDef, number: float | int) -> int:
    if isinstance(number, float):
        if not math.isfinite(number) or number != int(number):
            raise InvalidEntryError(f"{tag.path} takes a whole number, not {_show(number)}")
        number = int(number)
    low, high = INT_BOUNDS[tag.dtype]
    if not low <= number <= high:
        raise InvalidEntryError(f"{tag.path}: {number} does not fit a {tag.dtype} tag")
    return number


def _bool(tag: TagDef, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower() if isinstance(raw, str | int) else None
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise InvalidEntryError(f"{tag.path} takes yes or no, not {raw!r}")


def _state(tag: TagDef, raw: object) -> int:
    states = tag.states or {}
    by_name = {name: code for code, name in states.items()}
    if isinstance(raw, str) and raw.strip() in by_name:
        return by_name[raw.strip()]
    if isinstance(raw, int | str) and not isinstance(raw, bool):
        text = str(raw).strip()
        if text.lstrip("-").isdigit() and int(text) in states:
            return int(text)
    names = ", ".join(states.values())
    raise InvalidEntryError(f"{tag.path} takes one of {names}, not {raw!r}")


def _text(tag: TagDef, raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidEntryError(f"{tag.path} takes a text, not {raw!r}")
    limit = tag.max_length or 0
    if len(raw) > limit:
        raise InvalidEntryError(f"{tag.path} takes at most {limit} characters, not {len(raw)}")
    return raw


def _show(number: float | int) -> str:
    """A number as a person wrote it: ``90`` rather than ``90.0``."""
    return str(int(number)) if float(number).is_integer() else str(number)
