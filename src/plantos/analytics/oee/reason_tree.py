"""The stop reasons operators choose from: groups of reasons, from the plant file.

A Pareto of downtime by reason only means something when everyone names the same cause
the same way: "pump", "hydr. pump" and "pump failure" are three bars for one problem.
So a stop's reason is chosen from a tree (``group / reason``, e.g. ``Breakdown /
Hydraulic``) that the plant file can set under ``analytics.stop_reasons``; what the
operator wants to add in their own words goes into a note beside it, never into the code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SEPARATOR = " / "
DEFAULT_TREE: dict[str, list[str]] = {
    "Breakdown": ["Mechanical", "Electrical", "Hydraulic or pneumatic", "Control or software"],
    "Tooling": ["Tool change", "Tool breakage", "Fixture"],
    "Material": ["Waiting for material", "Wrong material", "Material defect"],
    "Quality": ["Inspection", "Rework", "First-piece approval"],
    "Organisation": ["No operator", "Meeting or training", "Waiting for maintenance"],
    "Planned": ["Changeover", "Cleaning", "Planned maintenance"],
}
"""The tree when the plant file gives none: the usual causes of a machine stop."""


def reason_code(group: str, reason: str) -> str:
    """The code a reason is stored and counted under.

    >>> reason_code("Breakdown", "Electrical")
    'Breakdown / Electrical'
    """
    return f"{group}{SEPARATOR}{reason}"


@dataclass(frozen=True)
class ReasonTree:
    """Groups in the order given, each with its reasons."""

    groups: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, tree: Mapping[str, Sequence[str]] | None) -> ReasonTree:
        """The tree from the plant file's ``stop_reasons`` (validated there), or the default."""
        chosen = DEFAULT_TREE if tree is None else tree
        return cls(tuple((group, tuple(reasons)) for group, reasons in chosen.items()))

    def codes(self) -> list[str]:
        return [reason_code(g, r) for g, reasons in self.groups for r in reasons]

    def check(self, code: str) -> str:
        """``code`` if it is in the tree; ``ValueError`` naming the groups otherwise.

        >>> ReasonTree.of({"Breakdown": ["Electrical"]}).check("Breakdown / Electrical")
        'Breakdown / Electrical'
        """
        if code not in self.codes():
            groups = ", ".join(g for g, _ in self.groups)
            raise ValueError(f"{code!r} is not a stop reason; choose one of the groups {groups}")
        return code


def validate_tree(tree: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """A plant file's tree: groups and reasons non-empty, unique, without the separator."""
    if not tree:
        raise ValueError("stop_reasons needs at least one group")
    out: dict[str, list[str]] = {}
    for group, reasons in tree.items():
        names = [group, *reasons]
        if any(not n.strip() or SEPARATOR.strip() in n for n in names):
            raise ValueError(f"group {group!r}: names must be non-empty and without '/'")
        if not reasons:
            raise ValueError(f"group {group!r} has no reasons")
        if len(set(reasons)) != len(reasons):
            raise ValueError(f"group {group!r} lists a reason twice")
        out[group] = list(reasons)
    return out
