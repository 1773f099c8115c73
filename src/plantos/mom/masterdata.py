"""Master data from YAML: products, routings and counting sources, checked against the
plant model with file and line for every problem.

```yaml
changeovers:                   # sequence-dependent setups (instead of the operation's own)
  - {assets: [plant-a/machining/line-1/cnc-01], from: shaft-s, to: flange-m, setup: 40m}
counting:                      # per asset; the plant file's mom.counting otherwise
  plant-a/assembly/line-3/st-30: both
products:
  - {id: housing-a, name: Pump housing A, routing: housing-a}
routings:
  - id: housing-a
    product: housing-a
    alternatives: [housing-a-slow]       # other routings of the same product
    operations:
      - name: mill
        assets:                          # eligible assets, preferred first
          - {asset: plant-a/machining/line-1/cnc-01, setup: 15m, run_per_unit: 95s}
```

Refused: an unknown asset, an operation or routing with no eligible asset, alternatives
that lead back to their own routing, a product without its routing, a routing of an
unknown product.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plantos.core.errors import ConfigError, ConfigProblem
from plantos.core.timeparse import parse_duration_ns
from plantos.core.timeunits import NS_PER_S as NS
from plantos.model import yamlsource
from plantos.model.loader import read_config_text, validation_problems
from plantos.model.schema import check_id
from plantos.mom.domain.master import (
    AssetOption,
    Changeover,
    Product,
    Routing,
    RoutingStep,
    routing_cycles,
)

Loc = tuple[Any, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionSpec(_Strict):
    asset: str
    setup: str = "0s"
    run_per_unit: str


class OperationSpec(_Strict):
    name: str = Field(min_length=1, max_length=100)
    assets: list[OptionSpec] = Field(default_factory=list)


class RoutingSpec(_Strict):
    id: str
    product: str
    operations: list[OperationSpec] = Field(default_factory=list)
    alternatives: list[str] = Field(default_factory=list)


class ProductSpec(_Strict):
    id: str
    name: str = ""
    routing: str
    counting: Literal["machine", "operator", "both"] | None = None


class ChangeoverSpec(_Strict):
    assets: list[str] = Field(min_length=1)
    from_: str = Field(alias="from")
    to: str
    setup: str


class MasterDataSpec(_Strict):
    changeovers: list[ChangeoverSpec] = Field(default_factory=list)
    counting: dict[str, Literal["machine", "operator", "both"]] = Field(default_factory=dict)
    products: list[ProductSpec] = Field(default_factory=list)
    routings: list[RoutingSpec] = Field(default_factory=list)
    order_stream: dict[str, Any] = Field(default_factory=dict)
    """How the demo releases orders; read by the demo, kept as plain data here."""


@dataclass(frozen=True)
class MasterData:
    products: dict[str, Product]
    routings: dict[str, Routing]
    counting: dict[str, str] = field(default_factory=dict)
    changeovers: tuple[Changeover, ...] = ()
    order_stream: dict[str, Any] = field(default_factory=dict)


def load_master_data(path: Path, *, assets: set[str] | dict[str, Any]) -> MasterData:
    """Read and check a master data file against the plant's asset paths."""
    file = str(path)
    data, problems = yamlsource.parse(read_config_text(path), file)
    if data is None or not isinstance(data, dict):
        raise ConfigError(problems or [ConfigProblem(file, 1, "master data must be a mapping")])
    try:
        spec = MasterDataSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            problems + validation_problems(exc, lambda loc: yamlsource.line_of(data, loc), file)
        ) from None
    problems += check_master_data(
        spec, set(assets), lambda loc, msg: ConfigProblem(file, yamlsource.line_of(data, loc), msg)
    )
    if problems:
        raise ConfigError(problems)
    return build_master_data(spec)


def build_master_data(spec: MasterDataSpec) -> MasterData:
    """Domain objects from a checked spec."""
    routings = {
        r.id: Routing(
            r.id,
            r.product,
            tuple(
                RoutingStep(
                    op.name,
                    tuple(
                        AssetOption(
                            o.asset,
                            parse_duration_ns(o.setup) // NS,
                            parse_duration_ns(o.run_per_unit) / NS,
                        )
                        for o in op.assets
                    ),
                )
                for op in r.operations
            ),
            tuple(r.alternatives),
        )
        for r in spec.routings
    }
    products = {p.id: Product(p.id, p.name or p.id, p.routing, p.counting) for p in spec.products}
    changeovers = tuple(
        Changeover(asset, c.from_, c.to, parse_duration_ns(c.setup) // NS)
        for c in spec.changeovers
        for asset in c.assets
    )
    return MasterData(
        products,
        routings,
        counting=dict(spec.counting),
        order_stream=dict(spec.order_stream),
        changeovers=changeovers,
    )


def check_master_data(
    spec: MasterDataSpec, assets: set[str], problem: Callable[[Loc, str], ConfigProblem]
) -> list[ConfigProblem]:
    """Every contradiction within the master data and against the plant's assets."""
    out: list[ConfigProblem] = []
    products = {p.id for p in spec.products}
    routing_ids = {r.id for r in spec.routings}
    for i, p in enumerate(spec.products):
        out += _id_problem(p.id, ("products", i, "id"), problem)
        if p.routing not in routing_ids:
            out.append(
                problem(
                    ("products", i, "routing"), f"product {p.id!r}: unknown routing {p.routing!r}"
                )
            )
    for i, r in enumerate(spec.routings):
        out += _id_problem(r.id, ("routings", i, "id"), problem)
        if r.product not in products:
            out.append(
                problem(
                    ("routings", i, "product"), f"routing {r.id!r}: unknown product {r.product!r}"
                )
            )
        if not r.operations:
            out.append(problem(("routings", i), f"routing {r.id!r} has no operation"))
        for j, op in enumerate(r.operations):
            out += _operation_problems(r.id, op, ("routings", i, "operations", j), assets, problem)
        for k, alt in enumerate(r.alternatives):
            if alt not in routing_ids:
                out.append(
                    problem(
                        ("routings", i, "alternatives", k),
                        f"routing {r.id!r}: unknown alternative {alt!r}",
                    )
                )
    for i, c in enumerate(spec.changeovers):
        out += _changeover_problems(c, ("changeovers", i), products, assets, problem)
    for asset in spec.counting:
        if asset not in assets:
            out.append(problem(("counting", asset), f"counting: unknown asset {asset!r}"))
    index = {r.id: i for i, r in enumerate(spec.routings)}
    domain = {r.id: Routing(r.id, r.product, (), tuple(r.alternatives)) for r in spec.routings}
    for cycle in routing_cycles(domain):
        out.append(
            problem(
                ("routings", index[cycle[0]], "alternatives"),
                f"cyclic alternatives: {' -> '.join(cycle)}",
            )
        )
    return out


def _operation_problems(
    routing: str,
    op: OperationSpec,
    loc: Loc,
    assets: set[str],
    problem: Callable[[Loc, str], ConfigProblem],
) -> list[ConfigProblem]:
    out: list[ConfigProblem] = []
    if not op.assets:
        out.append(problem(loc, f"routing {routing!r}, operation {op.name!r}: no eligible asset"))
    for k, option in enumerate(op.assets):
        where = (*loc, "assets", k)
        if option.asset not in assets:
            out.append(
                problem(
                    (*where, "asset"),
                    f"routing {routing!r}, operation {op.name!r}: unknown asset {option.asset!r}",
                )
            )
        for key in ("setup", "run_per_unit"):
            try:
                value = parse_duration_ns(getattr(option, key))
            except ValueError as exc:
                out.append(problem((*where, key), f"{key}: {exc}"))
                continue
            if value < 0 or (key == "run_per_unit" and value == 0):
                out.append(problem((*where, key), f"{key} must be positive"))
    return out


def _changeover_problems(
    c: ChangeoverSpec,
    loc: Loc,
    products: set[str],
    assets: set[str],
    problem: Callable[[Loc, str], ConfigProblem],
) -> list[ConfigProblem]:
    out = [
        problem((*loc, "assets", k), f"changeover: unknown asset {a!r}")
        for k, a in enumerate(c.assets)
        if a not in assets
    ]
    for key, product in (("from", c.from_), ("to", c.to)):
        if product not in products:
            out.append(problem((*loc, key), f"changeover: unknown product {product!r}"))
    try:
        if parse_duration_ns(c.setup) < 0:
            out.append(problem((*loc, "setup"), "changeover: setup must not be negative"))
    except ValueError as exc:
        out.append(problem((*loc, "setup"), f"changeover setup: {exc}"))
    return out


def _id_problem(
    value: str, loc: Loc, problem: Callable[[Loc, str], ConfigProblem]
) -> list[ConfigProblem]:
    try:
        check_id(value)
    except ValueError as exc:
        return [problem(loc, str(exc))]
    return []
