"""JSON shapes shared by the routes: tags with live values, arrays without NaN."""

from __future__ import annotations

from typing import Any

import numpy as np

from plantos.core import quality
from plantos.core.timeparse import iso
from plantos.live import LiveState
from plantos.model.plant import TagDef
from plantos.model.valuetypes import json_values


def live_entry(tag: TagDef, tag_id: int, live: LiveState) -> dict[str, Any]:
    """The newest value of a tag as JSON: ``value`` typed by the tag (whole numbers exact,
    text as a string), ``text`` what a person reads (an enum's state name, a text)."""
    current = live.get(tag_id)
    entry: dict[str, Any] = {"path": tag.path, "id": tag_id, "unit": tag.unit, "type": tag.dtype}
    if current is None:
        entry.update(ts=None, value=None, quality=None, text=None)
        return entry
    exact = None if current.exact is None else np.array([current.exact], dtype=object)
    value = json_values(tag.dtype, np.array([current.value]), exact)[0]
    text = None
    if isinstance(value, str):
        text = value
    elif tag.states and isinstance(value, int):
        text = tag.states.get(value, f"code {value}")
    elif tag.dtype in ("int", "uint") and isinstance(value, int):
        text = str(value)  # exact for readers whose JSON numbers are doubles (browsers)
    entry.update(
        ts=iso(current.ts_ns),
        value=value,
        quality=quality.name(current.quality),
        text=text,
    )
    return entry
