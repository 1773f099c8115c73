"""What an MTConnect observation's value is: a number or text, decided by the standard.

An agent sends every value as text. ``SAMPLE`` data items are numbers; ``EVENT`` data
items are mostly text (``Program``, ``PartId``, ``Execution``, ``ControllerMode``, a
message), and a few are counts or overrides (``PartCount``, ``LineNumber``,
``PathFeedrateOverride``); a ``CONDITION`` is its level (``NORMAL``, ``WARNING``,
``FAULT``). Deciding by the number-likeness of the text instead would make a part id
``12345`` a number one day and ``12345-B`` text the next. A data item the standard does
not know (a vendor's ``x:`` extension) can be given ``value_type`` in the connector spec.

Whole numbers stay exact ``int`` (a part counter past 2**53 is kept to the unit); an
enumeration maps text states to numbers for an enum tag. Nothing is dropped: a value that
is not what its item should carry is delivered as it came, with the problem named, and
the ingest gate marks it Bad if it does not fit the tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from plantos.edge.mtconnect.documents import Observation

ValueType = Literal["text", "number"]

NUMERIC_EVENTS = frozenset(
    {
        "PartCount",
        "Line",
        "LineNumber",
        "ToolNumber",
        "ToolOffset",
        "ProgramNestLevel",
        "PathFeedrateOverride",
        "AxisFeedrateOverride",
        "RotaryVelocityOverride",
    }
)
"""``EVENT`` types (element names) whose values the standard defines as numbers."""

Problem = Literal["non_numeric", "unmapped_states"]
"""What can be wrong with a value; each is a counter of the client."""

PROBLEMS: dict[Problem, str] = {
    "non_numeric": "text where the data item carries numbers",
    "unmapped_states": "a state its enum does not list",
}


def value_type(obs: Observation) -> ValueType:
    """``number`` for samples and numeric events, ``text`` for other events and conditions."""
    if obs.category == "SAMPLE" or obs.element in NUMERIC_EVENTS:
        return "number"
    return "text"


def device_value(
    obs: Observation,
    *,
    states: Mapping[str, int] | None = None,
    forced: ValueType | None = None,
) -> tuple[int | float | str | None, Problem | None]:
    """The value to deliver for ``obs`` (None for ``UNAVAILABLE``) and what is wrong with
    it, if anything. ``states`` maps the text states of an enumerated item to numbers;
    ``forced`` overrides the type the standard gives the item.

    >>> from plantos.edge.mtconnect.documents import Observation
    >>> count = Observation("pc", 1, 0, 2**60 + 1, "EVENT", str(2**60 + 1), "PartCount")
    >>> device_value(count)
    (1152921504606846977, None)
    >>> part = Observation("pid", 2, 0, 12345, "EVENT", "12345", "PartId")
    >>> device_value(part)
    ('12345', None)
    """
    if obs.value is None:
        return None, None
    if states is not None:
        state = states.get(obs.text)
        return (state, None) if state is not None else (obs.text, "unmapped_states")
    if (forced or value_type(obs)) == "text":
        return obs.text, None
    if isinstance(obs.value, str):
        return obs.text, "non_numeric"
    return obs.value, None
