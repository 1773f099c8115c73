"""JSON shapes shared by the routes: tags with live values, arrays without NaN."""

from __future__ import annotations

from typing import Any

import numpy as np

from plantos.core import quality
from plantos.core.timeparse import iso
from plantos.live import LiveState
from plantos.model.plant import TagDef


def live_entry(tag: TagDef, tag_id: int, live: LiveState) -> dict[str, Any]:
    current = live.get(tag_id)
    entry: dict[str, Any] = {"path": tag.path, "id": tag_id, "unit": tag.unit}
    if current is None:
        entry.update(ts=None, value=None, quality=None, text=None)
        return entry
    value = current.value if np.isfinite(current.value) else None
    text = None
    if tag.states and value is not None:
        text = tag.states.get(int(value), f"code {int(value)}")
    entry.update(
        ts=iso(current.ts_ns),
        value=value,
        quality=quality.name(current.quality),
        text=text,
    )
    return entry
