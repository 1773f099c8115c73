"""Counting sources: who may book parts to an order, so that no part is counted twice.

* ``machine``: the asset's counters book good and scrap; operator entries are refused.
* ``operator``: only what operators enter is booked; machine counts are ignored.
* ``both``: the machine books every part it counts; operators declare scrap among the
  parts already counted (a part found bad at the bench), which moves them from good to
  scrap instead of adding them. An operator cannot add good parts then: the machine
  has counted them already.
"""

from __future__ import annotations

from dataclasses import dataclass

from plantos.mom.errors import CountRejectedError

SOURCES = ("machine", "operator")


@dataclass(frozen=True, slots=True)
class Count:
    """Parts reported by one source at one asset at ``ts_ns``."""

    source: str
    asset: str
    ts_ns: int
    good: int
    scrap: int = 0
    operation: int | None = None
    from_good: bool = False
    """Scrap found among parts already counted good (a failed inspection): it moves
    parts from good to scrap instead of adding them."""

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise CountRejectedError(
                f"a count comes from {' or '.join(SOURCES)}, not {self.source!r}"
            )
        if self.good < 0 or self.scrap < 0:
            raise CountRejectedError(
                f"counts cannot be negative (good {self.good}, scrap {self.scrap})"
            )


def apply_count(
    good: list[int], scrap: list[int], step: int, count: Count, *, mode: str, order: str
) -> bool:
    """Add ``count`` to operation ``step`` of the per-operation lists under ``mode``.

    Returns ``False`` for a machine count the mode ignores; raises
    :class:`CountRejectedError` for an operator entry the mode refuses.
    """
    if count.good == 0 and count.scrap == 0:
        return False
    if count.source == "machine":
        if mode == "operator":
            return False
        if count.from_good:
            return _reclassify(good, scrap, step, count.scrap)
        good[step] += count.good
        scrap[step] += count.scrap
        return True
    if mode == "machine":
        raise CountRejectedError(
            f"order {order} is counted by the machine: operators cannot book to it"
        )
    if mode == "operator":
        good[step] += count.good
        scrap[step] += count.scrap
        return True
    if count.good:
        raise CountRejectedError(
            f"order {order} is counted by machine and operator: the machine books good parts, "
            "operators declare scrap among them"
        )
    if count.scrap > good[step]:
        raise CountRejectedError(
            f"order {order}: {count.scrap} scrap declared but only {good[step]} good parts counted"
        )
    return _reclassify(good, scrap, step, count.scrap)


def _reclassify(good: list[int], scrap: list[int], step: int, parts: int) -> bool:
    moved = min(parts, good[step])
    good[step] -= moved
    scrap[step] += moved
    return moved > 0
