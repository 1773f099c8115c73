"""A section of ``plantos.yaml`` validated so that *every* mistake in it is found at once.

Pydantic stops a section at its first wrong type: the section's own checks (an unknown
asset, a role nobody defined) would then wait for the next run. Here the wrongly typed
values are reported with file and line, then taken out of a copy of the section (the
deepest mapping entry that holds each one, so list positions and therefore line numbers
stay right) and the rest is validated again, so the section's own checks still run on
everything that was well formed. A list entry that cannot be mended that way (a
required field missing) takes its list with it: a list whose entries each deserve their
own checks (the preventive plans) is read entry by entry with :func:`checked`.

>>> from pydantic import BaseModel
>>> class S(BaseModel):
...     every: int = 1
...     items: list[dict[str, int]] = []
>>> data = {"every": "often", "items": [{"a": 1}, {"a": "x"}]}
>>> _salvaged(S, data).model_dump()
{'every': 1, 'items': [{'a': 1}, {}]}
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from plantos.core.errors import ConfigProblem
from plantos.model.loader import validation_problems
from plantos.model.plant import Plant

M = TypeVar("M", bound=BaseModel)
_MAX_ROUNDS = 50
"""Each round removes at least one entry; a section has far fewer wrong ones."""


def checked_section(
    model: type[M], plant: Plant, name: str
) -> tuple[M | None, list[ConfigProblem]]:
    """Section ``name`` of ``plant`` as ``model``, and its type problems with file:line.
    With problems, the section returned holds only what was well formed (None when even
    that does not validate): enough for the section's own checks to go on."""
    return checked(model, getattr(plant.spec, name), plant, (name,))


def checked(
    model: type[M], raw: Any, plant: Plant, loc: tuple[str | int, ...]
) -> tuple[M | None, list[ConfigProblem]]:
    """:func:`checked_section` for the part of the plant file at ``loc`` (one entry of a
    list, whose siblings are checked on their own)."""
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        problems = validation_problems(exc, plant.locate, plant.source, loc)
    return (_salvaged(model, raw) if isinstance(raw, dict) else None), problems


def _salvaged(model: type[M], raw: dict[str, Any]) -> M | None:
    data = copy.deepcopy(raw)
    for _ in range(_MAX_ROUNDS):
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            if not sum(_drop(data, tuple(err["loc"])) for err in exc.errors()):
                return None
    return None


def _drop(data: Any, loc: tuple[Any, ...]) -> bool:
    """Remove the deepest mapping entry on the way to ``loc`` (a missing field: the entry
    that should have held it); False when there is none left to remove."""
    found: tuple[dict[Any, Any], Any] | None = None
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            found = (node, part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            break
    if found is None:
        return False
    del found[0][found[1]]
    return True
