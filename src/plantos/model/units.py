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
