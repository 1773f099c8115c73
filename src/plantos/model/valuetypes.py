"""Which values a tag of each type holds, and which source types can fill it.

A tag's type is a promise to everyone downstream: an ``int`` tag holds whole numbers
exact to 64 bits, a ``text`` tag holds strings up to its ``max_length``. The ingest gate
keeps the promise at run time (a value that does not fit becomes a Bad sample with a
named reason); :func:`fit_problem` lets ``plantos check`` warn before the first sample
where a connector mapping names the type of its source.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from plantos.core.batch import Exact, exact_held
from plantos.model.plant import TagDef

TagType = Literal["float", "int", "uint", "bool", "enum", "text"]

SourceType = Literal[
    "bool",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
    "text",
]
"""The type of a value as the device declares it (a register layout, an OPC UA or
Sparkplug data type), in PlantOS's words."""

INT_BOUNDS: dict[str, tuple[int, int]] = {
    "int": (-(2**63), 2**63 - 1),
    "uint": (0, 2**64 - 1),
    "enum": (-(2**31), 2**31 - 1),
    "bool": (0, 1),
}
"""The whole numbers each integral tag type holds."""


def _source_bounds(source: str) -> tuple[int, int] | None:
    """The integer range of an integral source type, ``None`` for the others."""
    if source == "bool":
        return (0, 1)
    for sign, low in (("uint", lambda b: 0), ("int", lambda b: -(2 ** (b - 1)))):
        if source.startswith(sign) and source[len(sign) :].isdigit():
            bits = int(source[len(sign) :])
            high = 2**bits - 1 if sign == "uint" else 2 ** (bits - 1) - 1
            return (low(bits), high)
    return None


def fit_problem(source: SourceType, tag: TagDef) -> str | None:
    """Why values of ``source`` may not fit ``tag`` (``None`` when every one fits).

    >>> from plantos.model.plant import TagDef
    >>> counter = TagDef("s/a/l/m/parts", "s/a/l/m", "parts", "int", None, None, 10**9)
    >>> fit_problem("uint64", counter)
    'uint64 values above 9223372036854775807 do not fit int tag s/a/l/m/parts: declare it uint'
    >>> fit_problem("int32", counter) is None
    True
    """
    kind = tag.dtype
    if (source == "text") != (kind == "text"):
        what = "text" if source == "text" else f"{source} numbers"
        return f"{what} cannot fit {kind} tag {tag.path}: declare the tag's type to match"
    if kind in ("text", "float"):
        if kind == "float" and source in ("int64", "uint64"):
            return (
                f"{source} values beyond 2**53 lose precision in float tag {tag.path}: "
                "declare it int or uint"
            )
        return None
    bounds = _source_bounds(source)
    if bounds is None:
        return (
            f"{source} values may have fractions, which {kind} tag {tag.path} marks Bad: "
            "declare it float"
        )
    low, high = INT_BOUNDS[kind]
    if bounds[0] < low:
        hint = "declare it int" if kind == "uint" else "check the source"
        return f"negative {source} values do not fit {kind} tag {tag.path}: {hint}"
    if bounds[1] > high:
        hint = "declare it uint" if kind == "int" else "declare it int"
        return f"{source} values above {high} do not fit {kind} tag {tag.path}: {hint}"
    return None


JsonValue = float | int | str | None

_WHOLE = frozenset({"int", "uint", "bool", "enum"})


def json_values(dtype: str, value: npt.NDArray[np.float64], exact: Exact | None) -> list[JsonValue]:
    """Values as JSON should carry them for a tag of ``dtype``: whole numbers as integers
    (exact beyond 2**53, where ``exact`` holds them), text as strings, no value as null.

    >>> json_values("uint", np.array([3.0, 2.0**64, np.nan]), np.array([None, 2**64 - 1, None]))
    [3, 18446744073709551615, None]
    """
    out: list[JsonValue] = [None] * len(value) if dtype == "text" else value.tolist()
    if dtype != "text":
        for i in np.flatnonzero(~np.isfinite(value)):
            out[i] = None
        if dtype in _WHOLE:
            out = [None if v is None else int(v) for v in out]
    if exact is not None:
        for i in np.flatnonzero(exact_held(exact)):
            out[i] = exact[i]
    return out
