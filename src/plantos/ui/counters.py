"""Connector counters for people: a label, a unit and a sensible precision.

Connectors report their protocol counters as plain metric keys (``last_poll_ms``,
``handling_seconds``, ``dropped_notifications``); the Connectors page shows them as
"last poll 0.747 ms" and "dropped notifications 0", not as a Python float with sixteen
digits. The unit comes from the key's suffix; the API keeps the raw keys and values.
"""

from __future__ import annotations

from typing import Any

_UNITS = (("_per_s", "/s"), ("_ms", "ms"), ("_seconds", "s"), ("_s", "s"), ("_bytes", "B"))
SIGNIFICANT = 3


def number_text(value: float | int) -> str:
    """An integer with thousands separators; a float to three significant digits.

    >>> number_text(431133), number_text(0.7466639999620384), number_text(1234.5678)
    ('431,133', '0.747', '1,235')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 1):
        return f"{int(value):,}"
    if value == 0:
        return "0"
    digits = max(SIGNIFICANT - 1 - int(f"{abs(value):e}".split("e")[1]), 0)
    return f"{value:,.{digits}f}"


def counter(key: str, value: Any) -> tuple[str, str]:
    """``(label, text)`` of one counter, the unit moved from the key into the text.

    >>> counter("last_poll_ms", 0.7466639999620384)
    ('last poll', '0.747 ms')
    >>> counter("overflow_policy", "drop_newest")
    ('overflow policy', 'drop newest')
    """
    unit = ""
    name = key
    for suffix, symbol in _UNITS:
        if key.endswith(suffix) and key != suffix.lstrip("_"):
            name, unit = key[: -len(suffix)], symbol
            break
    label = name.replace("_", " ")
    if value is None:
        return label, "\u2014"
    if isinstance(value, int | float):
        text = number_text(value)
        return label, f"{text}/s" if unit == "/s" else f"{text} {unit}".strip()
    return label, str(value).replace("_", " ")
