"""The CP-SAT model of a scheduling :class:`Instance`.

Per free operation: a start and an end, and one optional interval per eligible asset
of which exactly one is present. Per asset: no overlap between its intervals, its
pinned work and its closed time; where the asset has changeovers, a circuit over its
operations fixes each one's direct predecessor, and the predecessor's family decides
the setup. An order with alternative routings is one job per routing (see
:mod:`~plantos.mom.scheduling.routes`) with a literal each, exactly one of them true:
the operations of the others are on no asset and count for nothing. Times are seconds
from ``now`` so the numbers stay small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ortools.sat.python import cp_model

from plantos.mom.scheduling.instance import Instance, Key, OpInfo
from plantos.mom.scheduling.problem import Assignment

Node = Key  # an operation, or a pinned block of foreign work keyed by its assignment


class SchedulingModel:
    """Variables and the three objective terms; ``hint`` and ``read`` speak assignments."""

    def __init__(
        self, instance: Instance, groups: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.instance = instance
        self.origin = instance.problem.now_s
        self.model = cp_model.CpModel()
        self.horizon = self._horizon()
        self.start: dict[Key, cp_model.IntVar] = {}
        self.end: dict[Key, cp_model.IntVar] = {}
        self.present: dict[Key, dict[str, cp_model.IntVar]] = {}
        self.setup: dict[tuple[Key, str], cp_model.IntVar] = {}
        self.arcs: dict[str, dict[tuple[int, int], cp_model.IntVar]] = {}
        self.nodes: dict[str, list[Key]] = {}
        self.stay: dict[Key, cp_model.IntVar] = {}
        self.late: dict[str, cp_model.IntVar] = {}
        self.chosen: dict[str, cp_model.IntVar] = {}
        """Per job of an order with alternatives: whether it is the routing used."""
        self.switched: list[cp_model.IntVar] = []
        """The chosen literals of the routings an order does not have now."""
        for ids in (groups or {}).values():
            lits = [self.model.new_bool_var(f"route {i}") for i in ids]
            self.model.add_exactly_one(lits)
            self.chosen.update(zip(ids, lits, strict=True))
            self.switched += lits[1:]
        intervals: dict[str, list[cp_model.IntervalVar]] = {a: [] for a in instance.problem.assets}
        for key, info in instance.ops.items():
            if key not in instance.pinned:
                self._operation(info, intervals)
        self._fixed_work(intervals)
        for asset, items in intervals.items():
            self.model.add_no_overlap(items)
            if instance.has_changeovers(asset):
                self._circuit(asset)
        self._precedences()
        self.tardiness = self._tardiness()
        self.makespan = self._makespan()
        self.moved = self._moved()

    def _horizon(self) -> int:
        inst, latest = self.instance, 0
        for job in inst.problem.jobs:
            latest = max(latest, job.release_s - self.origin)
        for spans in inst.closed.values():
            latest = max([latest, *(e - self.origin for _, e in spans)])
        for a in inst.pinned.values():
            latest = max(latest, a.end_s - self.origin)
        longest_setup = max((c.setup_s for c in inst.problem.changeovers), default=0)
        for key, info in inst.ops.items():
            if key not in inst.pinned:
                latest += max(o.setup_s + o.run_s for o in info.op.options) + longest_setup
        return latest

    def _operation(self, info: OpInfo, intervals: dict[str, list[cp_model.IntervalVar]]) -> None:
        key, m, name = info.key, self.model, f"{info.key[0]}/{info.key[1]}"
        lo = self.instance.earliest_s(info) - self.origin
        start = self.start[key] = m.new_int_var(lo, self.horizon, f"start {name}")
        end = self.end[key] = m.new_int_var(lo, self.horizon, f"end {name}")
        present = self.present[key] = {}
        for option in info.op.options:
            lit = m.new_bool_var(f"{name} on {option.asset}")
            present[option.asset] = lit
            size: cp_model.LinearExprT = option.setup_s + option.run_s
            if info.op.family is not None and self.instance.has_changeovers(option.asset):
                values = {option.setup_s} | {
                    c.setup_s
                    for c in self.instance.problem.changeovers
                    if c.asset == option.asset and c.to_family == info.op.family
                }
                setup = m.new_int_var_from_domain(
                    cp_model.Domain.from_values(sorted(values)), f"setup {name}"
                )
                self.setup[(key, option.asset)] = setup
                size = setup + option.run_s
            interval = m.new_optional_interval_var(start, size, end, lit, f"{name}@{option.asset}")
            intervals[option.asset].append(interval)
        route = self.chosen.get(key[0])
        if route is None:
            m.add_exactly_one(present.values())
        else:  # on one asset when its routing is chosen, on none otherwise
            m.add(sum(present.values()) == route)

    def _fixed_work(self, intervals: dict[str, list[cp_model.IntervalVar]]) -> None:
        """Pinned operations, and closed time except where pinned work already runs."""
        by_asset: dict[str, list[tuple[int, int]]] = {}
        for a in self.instance.pinned.values():
            intervals[a.asset].append(self._fixed(a.start_s, a.end_s))
            by_asset.setdefault(a.asset, []).append((a.start_s, a.end_s))
        for asset, spans in self.instance.closed.items():
            for start, end in spans:
                for lo, hi in _minus((start, end), sorted(by_asset.get(asset, []))):
                    if hi > self.origin:
                        intervals[asset].append(self._fixed(lo, hi))

    def _fixed(self, start_s: int, end_s: int) -> cp_model.IntervalVar:
        return self.model.new_fixed_size_interval_var(start_s - self.origin, end_s - start_s, "")

    def begin(self, key: Key) -> cp_model.LinearExprT:
        pinned = self.instance.pinned.get(key)
        return pinned.start_s - self.origin if pinned else self.start[key]

    def finish(self, key: Key) -> cp_model.LinearExprT:
        pinned = self.instance.pinned.get(key)
        return pinned.end_s - self.origin if pinned else self.end[key]

    def _precedences(self) -> None:
        for job in self.instance.problem.jobs:
            for a, b in zip(job.operations, job.operations[1:], strict=False):
                before, after = (a.order_id, a.index), (b.order_id, b.index)
                if after not in self.instance.pinned:
                    rule = self.model.add(self.finish(before) <= self.begin(after))
                    if job.order_id in self.chosen:
                        rule.only_enforce_if(self.chosen[job.order_id])

    def _circuit(self, asset: str) -> None:
        """Successor literals: arc i->j means j runs right after i on the asset, which
        orders them and sets j's setup from i's family; node 0 is the start and end."""
        inst, m = self.instance, self.model
        pinned = sorted(
            (a for a in inst.pinned.values() if a.asset == asset), key=lambda a: a.start_s
        )
        nodes = [k for k in self.present if asset in self.present[k]] + [a.key for a in pinned]
        self.nodes[asset] = nodes
        if not nodes:
            return
        # the loop on node 0 is an asset with none of its operations: without it the
        # circuit would force at least one operation onto every asset with changeovers
        arcs: dict[tuple[int, int], cp_model.IntVar] = {(0, 0): m.new_bool_var("")}
        for j, key in enumerate(nodes, start=1):
            arcs[(0, j)] = m.new_bool_var("")
            arcs[(j, 0)] = m.new_bool_var("")
            if key in self.present:
                arcs[(j, j)] = self.present[key][asset].Not()  # type: ignore[assignment]
                setup = self.setup.get((key, asset))
                if setup is not None:
                    default = inst.ops[key].option(asset).setup_s  # type: ignore[union-attr]
                    m.add(setup == default).only_enforce_if(arcs[(0, j)])
        for i, a in enumerate(nodes, start=1):
            for j, b in enumerate(nodes, start=1):
                if i == j or (
                    a in inst.pinned
                    and b in inst.pinned
                    and inst.pinned[b].start_s < inst.pinned[a].start_s
                ):
                    continue
                lit = arcs[(i, j)] = m.new_bool_var("")
                m.add(self.finish(a) <= self.begin(b)).only_enforce_if(lit)
                setup = self.setup.get((b, asset))
                if setup is not None:
                    info = inst.ops[b]
                    default = info.option(asset).setup_s  # type: ignore[union-attr]
                    m.add(
                        setup == inst.setup_s(asset, inst.family(a), info, default)
                    ).only_enforce_if(lit)
        m.add_circuit([(i, j, lit) for (i, j), lit in arcs.items()])
        self.arcs[asset] = arcs

    def _tardiness(self) -> cp_model.LinearExpr:
        terms = []
        for job in self.instance.problem.jobs:
            last = job.operations[-1]
            # an order due before now is late by more than the horizon
            most = self.horizon + max(0, self.origin - job.due_s)
            late = self.model.new_int_var(0, most, f"late {job.order_id}")
            self.late[job.order_id] = late
            over = self._if_chosen(
                job.order_id, self.finish((last.order_id, last.index)) - (job.due_s - self.origin)
            )
            self.model.add_max_equality(late, [over, 0])
            terms.append(job.weight * late)
        return cp_model.LinearExpr.sum(terms)

    def _makespan(self) -> cp_model.IntVar:
        makespan = self.model.new_int_var(0, self.horizon, "makespan")
        ends = [self._if_chosen(k[0], self.finish(k)) for k in self.instance.ops]
        self.model.add_max_equality(makespan, [*ends, 0])
        return makespan

    def _if_chosen(self, job: str, value: cp_model.LinearExprT) -> cp_model.LinearExprT:
        """``value`` when the job's routing is chosen (or it has no other), else 0."""
        route = self.chosen.get(job)
        if route is None:
            return value
        out = self.model.new_int_var(-(2**40), 2**40, "")
        self.model.add(out == value).only_enforce_if(route)
        self.model.add(out == 0).only_enforce_if(route.Not())
        return out

    def _moved(self) -> cp_model.LinearExpr:
        """Operations of the previous plan not kept on their asset at their start."""
        moved: list[cp_model.LinearExprT] = []
        for a in self.instance.problem.previous:
            if a.key not in self.start:
                continue
            lit = self.present[a.key].get(a.asset)
            if lit is None:
                moved.append(1)
                continue
            stay = self.stay[a.key] = self.model.new_bool_var("")
            self.model.add_implication(stay, lit)
            self.model.add(self.start[a.key] == a.start_s - self.origin).only_enforce_if(stay)
            moved.append(1 - stay)
        return cp_model.LinearExpr.sum(moved)

    def hint(self, plan: Mapping[Key, Assignment]) -> None:
        """Suggest ``plan`` as the first solution (every decision variable hinted)."""
        m = self.model
        m.clear_hints()  # type: ignore[no-untyped-call]
        for job_id, lit in self.chosen.items():
            first = self.instance.jobs[job_id].operations[0]
            m.add_hint(lit, (first.order_id, first.index) in plan)
        for key, start in self.start.items():
            a = plan.get(key)
            if a is None:  # a routing not chosen: on no asset, times unused
                self._hint_absent(key)
                continue
            m.add_hint(start, a.start_s - self.origin)
            m.add_hint(self.end[key], a.end_s - self.origin)
            for option in self.instance.ops[key].op.options:
                m.add_hint(self.present[key][option.asset], option.asset == a.asset)
                setup = self.setup.get((key, option.asset))
                if setup is not None:
                    here = option.asset == a.asset
                    m.add_hint(
                        setup, a.end_s - a.start_s - option.run_s if here else option.setup_s
                    )
        ends = [
            plan[k].end_s if k in plan else self.instance.pinned[k].end_s
            for k in self.instance.ops
            if k in plan or k in self.instance.pinned
        ]
        m.add_hint(self.makespan, max(0, max(ends, default=self.origin) - self.origin))
        for job in self.instance.problem.jobs:
            last = (job.operations[-1].order_id, job.operations[-1].index)
            end = plan.get(last) or self.instance.pinned.get(last)
            m.add_hint(self.late[job.order_id], max(0, end.end_s - job.due_s) if end else 0)
        for key, stay in self.stay.items():
            kept = next(p for p in self.instance.problem.previous if p.key == key)
            now = plan.get(key)
            m.add_hint(
                stay, now is not None and (now.asset, now.start_s) == (kept.asset, kept.start_s)
            )
        for asset, arcs in self.arcs.items():
            self._hint_arcs(asset, arcs, plan)

    def _hint_absent(self, key: Key) -> None:
        lo = self.instance.earliest_s(self.instance.ops[key]) - self.origin
        self.model.add_hint(self.start[key], lo)
        self.model.add_hint(self.end[key], lo)
        for option in self.instance.ops[key].op.options:
            self.model.add_hint(self.present[key][option.asset], False)
            setup = self.setup.get((key, option.asset))
            if setup is not None:
                self.model.add_hint(setup, option.setup_s)

    def _hint_arcs(
        self,
        asset: str,
        arcs: dict[tuple[int, int], cp_model.IntVar],
        plan: Mapping[Key, Assignment],
    ) -> None:
        nodes = self.nodes[asset]
        where = {k: plan.get(k) or self.instance.pinned.get(k) for k in nodes}
        here = sorted(
            (i for i, k in enumerate(nodes, start=1) if (w := where[k]) and w.asset == asset),
            key=lambda i: (where[nodes[i - 1]].start_s, where[nodes[i - 1]].end_s),  # type: ignore[union-attr]
        )
        chosen = set(zip([0, *here], [*here, 0], strict=True)) if here else set()
        chosen |= {(i, i) for i in range(1, len(nodes) + 1) if i not in here}
        for arc, lit in arcs.items():
            if arc[0] != arc[1] or arc == (0, 0):
                self.model.add_hint(lit, arc in chosen or (arc == (0, 0) and not here))

    def read(self, solver: cp_model.CpSolver) -> dict[Key, Assignment]:
        """The solver's current solution as assignments, pinned operations included."""
        out = {k: a for k, a in self.instance.pinned.items() if k in self.instance.ops}
        for key, start in self.start.items():
            asset = next(
                (a for a, lit in self.present[key].items() if solver.boolean_value(lit)), None
            )
            if asset is None:  # its routing is not the one chosen
                continue
            out[key] = Assignment(
                key[0],
                key[1],
                asset,
                solver.value(start) + self.origin,
                solver.value(self.end[key]) + self.origin,
            )
        return out


def _minus(span: tuple[int, int], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``span`` without the (sorted) ``holes``."""
    out, lo = [], span[0]
    for start, end in holes:
        if end <= lo or start >= span[1]:
            continue
        if start > lo:
            out.append((lo, start))
        lo = max(lo, end)
    if lo < span[1]:
        out.append((lo, span[1]))
    return out
