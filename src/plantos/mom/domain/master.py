"""Master data: products and their routings.

A routing lists operations in the order they run; each operation names the assets that
can do it, with a setup time and a run time per unit on each. An operation may also
name an alternative routing of another product family; alternatives must not refer back
to themselves (directly or through others), which :func:`routing_cycles` finds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

COUNTING_SOURCES = ("machine", "operator", "both")


@dataclass(frozen=True, slots=True)
class AssetOption:
    """One asset able to do an operation, with its times."""

    asset: str
    setup_s: int
    run_s_per_unit: float

    def duration_s(self, quantity: int) -> int:
        """Setup plus run time for ``quantity`` units, whole seconds rounded up."""
        return self.setup_s + int(-(-self.run_s_per_unit * quantity // 1))


@dataclass(frozen=True, slots=True)
class RoutingStep:
    """One operation of a routing: a name and its eligible assets, preferred first."""

    name: str
    options: tuple[AssetOption, ...]

    def option_on(self, asset: str) -> AssetOption | None:
        return next((o for o in self.options if o.asset == asset), None)


@dataclass(frozen=True, slots=True)
class Routing:
    """How a product is made: operations in order, and routings to use instead."""

    id: str
    product: str
    steps: tuple[RoutingStep, ...]
    alternatives: tuple[str, ...] = ()

    def step_for(self, asset: str, *, from_index: int = 0) -> int | None:
        """The first operation at or after ``from_index`` that ``asset`` can do."""
        for i in range(from_index, len(self.steps)):
            if self.steps[i].option_on(asset) is not None:
                return i
        return None


@dataclass(frozen=True, slots=True)
class Product:
    """Something the plant makes; ``routing`` names how (a key of the routings)."""

    id: str
    name: str
    routing: str
    counting: str | None = None


@dataclass(frozen=True, slots=True)
class Changeover:
    """On ``asset``, making product ``to_product`` right after ``from_product`` needs
    ``setup_s`` of setup instead of the operation's own (a sequence-dependent setup)."""

    asset: str
    from_product: str
    to_product: str
    setup_s: int


def routing_cycles(routings: Mapping[str, Routing]) -> list[list[str]]:
    """Every cycle in the alternatives graph, each as the list of routing ids along it.

    >>> r = lambda i, *alt: Routing(i, "p", (), alt)
    >>> routing_cycles({"a": r("a", "b"), "b": r("b", "a"), "c": r("c", "a")})
    [['a', 'b', 'a']]
    """
    found: list[list[str]] = []
    done: set[str] = set()
    for start in sorted(routings):
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            node, path = stack.pop()
            routing = routings.get(node)
            for nxt in routing.alternatives if routing else ():
                if nxt == start:
                    found.append([*path, nxt])
                elif nxt not in path and nxt not in done:
                    stack.append((nxt, [*path, nxt]))
        done.add(start)
    return found


def master_problems(
    products: Mapping[str, Product], routings: Mapping[str, Routing], assets: set[str]
) -> list[str]:
    """Every contradiction in a set of products and routings, as plain sentences: what an
    edit through the API must not introduce."""
    out: list[str] = []
    for p in products.values():
        if p.routing not in routings:
            out.append(f"product {p.id!r}: unknown routing {p.routing!r}")
    for r in routings.values():
        if r.product not in products:
            out.append(f"routing {r.id!r}: unknown product {r.product!r}")
        if not r.steps:
            out.append(f"routing {r.id!r} has no operation")
        for step in r.steps:
            if not step.options:
                out.append(f"routing {r.id!r}, operation {step.name!r}: no eligible asset")
            out += [
                f"routing {r.id!r}, operation {step.name!r}: unknown asset {o.asset!r}"
                for o in step.options
                if o.asset not in assets
            ]
        out += [
            f"routing {r.id!r}: unknown alternative {a!r}"
            for a in r.alternatives
            if a not in routings
        ]
    out += [f"cyclic alternatives: {' -> '.join(c)}" for c in routing_cycles(routings)]
    return out
