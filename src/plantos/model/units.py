"""Engineering units, checked against pint's registry so a typo (``mm/ss``) is caught at load."""

from __future__ import annotations

from functools import lru_cache

import pint


@lru_cache(maxsize=1)
def _registry() -> pint.UnitRegistry:  # type: ignore[type-arg]
    return pint.UnitRegistry()


@lru_cache(maxsize=512)
def unit_problem(unit: str) -> str | None:
    """Why ``unit`` is not a unit pint knows, or ``None`` when it is fine.

    >>> unit_problem("mm/s") is None
    True
    >>> unit_problem("furlongz")
    "unknown unit 'furlongz' ('furlongz' is not defined)"
    """
    try:
        _registry().parse_units(unit)
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError) as exc:
        detail = getattr(exc, "unit_names", None) or exc
        if isinstance(detail, tuple | list):
            detail = ", ".join(repr(d) for d in detail)
        return f"unknown unit {unit!r} ({detail} is not defined)"
    except Exception as exc:  # pint raises several parser errors for garbage input
        return f"unknown unit {unit!r} ({exc})"
    return None


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit``; :class:`ValueError` naming both
    units when pint does not know one or they measure different things.

    >>> convert(1.5, "bar", "kPa")
    150.0
    >>> round(convert(212, "degF", "degC"), 6)
    100.0
    >>> convert(1, "bar", "degC")
    Traceback (most recent call last):
    ...
    ValueError: bar cannot be converted to degC: pressure is not temperature
    """
    for unit in (from_unit, to_unit):
        why = unit_problem(unit)
        if why:
            raise ValueError(why)
    registry = _registry()
    source = registry.Quantity(value, from_unit)
    try:
        return float(source.to(to_unit).magnitude)
    except pint.errors.DimensionalityError:
        given = _kind(source.dimensionality)
        wanted = _kind(registry.parse_units(to_unit).dimensionality)
        message = f"{from_unit} cannot be converted to {to_unit}: {given} is not {wanted}"
        raise ValueError(message) from None


def _kind(dimensionality: object) -> str:
    """A plain name for a dimensionality where pint has one ("pressure"), else its formula."""
    names = {
        "[mass] / [length] / [time] ** 2": "pressure",
        "[temperature]": "temperature",
        "[length]": "length",
        "[mass]": "mass",
        "[time]": "time",
        "[length] / [time]": "speed",
        "[length] ** 3": "volume",
        "[current]": "current",
        "dimensionless": "a plain number",
    }
    text = str(dimensionality)
    return names.get(text, text)
