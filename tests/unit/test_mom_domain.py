"""The production order aggregate: its states, its one counting path and its ETA."""

from __future__ import annotations

import pytest

from plantos.mom.domain.counting import Count
from plantos.mom.domain.master import AssetOption, Routing, RoutingStep, routing_cycles
from plantos.mom.domain.order import ALLOWED, STATES, ProductionOrder
from plantos.mom.errors import (
    CountRejectedError,
    IllegalTransitionError,
    InvalidOrderError,
)

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
MILL, ASSY = "p/a/l1/cnc-1", "p/a/l3/st-30"
ROUTING = Routing(
    "housing",
    "housing",
    (
        RoutingStep("mill", (AssetOption(MILL, 600, 90.0),)),
        RoutingStep("assemble", (AssetOption(ASSY, 300, 45.0),)),
    ),
)


def order(quantity: int = 4, **kw: object) -> ProductionOrder:
    o = ProductionOrder.release(
        id="o-1", routing=ROUTING, quantity=quantity, due_ns=T0 + 3600 * NS, release_ns=T0, **kw
    )  # type: ignore[arg-type]
    return o


def running(quantity: int = 4, **kw: object) -> ProductionOrder:
    o = order(quantity, **kw)
    o.transition("running", ts_ns=T0, asset=MILL)
    return o


def test_release_records_order_released() -> None:
    o = order()
    assert [e.kind for e in o.take_events()] == ["OrderReleased"]
    assert o.take_events() == []


@pytest.mark.parametrize("start", STATES)
@pytest.mark.parametrize("to", STATES)
def test_every_transition_follows_the_table(start: str, to: str) -> None:
    o = order()
    o.state = start
    if to in ALLOWED[start]:
        o.transition(to, ts_ns=T0)
        assert o.state == to
    else:
        with pytest.raises(IllegalTransitionError, match=f"is {start}"):
            o.transition(to, ts_ns=T0)
        assert o.state == start


def test_unknown_state_is_refused() -> None:
    with pytest.raises(IllegalTransitionError, match="not a state"):
        order().transition("done", ts_ns=T0)


@pytest.mark.parametrize(
    ("kw", "reason"),
    [({"quantity": 0}, "quantity"), ({"counting": "robot"}, "counting")],
)
def test_bad_order_fields_are_refused(kw: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidOrderError, match=reason):
        order(**kw)  # type: ignore[arg-type]


def test_due_before_release_is_refused() -> None:
    with pytest.raises(InvalidOrderError, match="due date"):
        ProductionOrder.release(id="x", routing=ROUTING, quantity=1, due_ns=T0, release_ns=T0 + 1)


def test_counts_advance_operations_and_complete() -> None:
    o = running(2)
    for i in range(2):
        o.book(Count("machine", MILL, T0 + (i + 1) * 90 * NS, 1), routing=ROUTING, mode="machine")
    assert o.current_operation == 1 and o.good == [2, 0] and o.state == "running"
    o.book(Count("machine", ASSY, T0 + 300 * NS, 1, 1), routing=ROUTING, mode="machine")
    o.book(Count("machine", ASSY, T0 + 350 * NS, 1), routing=ROUTING, mode="machine")
    assert o.state == "completed" and o.good_total == 2 and o.scrap_total == 1
    assert o.completed_ns == T0 + 350 * NS


def test_eta_follows_the_live_rate_plus_later_operations() -> None:
    o = running(10)
    o.book(Count("machine", MILL, T0 + 100 * NS, 1), routing=ROUTING, mode="machine")
    o.book(Count("machine", MILL, T0 + 200 * NS, 1), routing=ROUTING, mode="machine")
    # 100 s per part live, 8 parts left, then assembly: 300 s setup + 10 x 45 s
    assert o.eta_ns == T0 + 200 * NS + 800 * NS + 750 * NS


def test_machine_mode_refuses_operator_entries() -> None:
    o = running()
    with pytest.raises(CountRejectedError, match="counted by the machine"):
        o.book(Count("operator", MILL, T0, 1), routing=ROUTING, mode="machine")
    assert o.good == [0, 0]


def test_operator_mode_ignores_machine_counts() -> None:
    o = running()
    assert not o.book(Count("machine", MILL, T0, 3), routing=ROUTING, mode="operator")
    assert o.book(Count("operator", MILL, T0, 2), routing=ROUTING, mode="operator")
    assert o.good == [2, 0]


def test_both_mode_counts_each_part_once() -> None:
    o = running()
    o.book(Count("machine", MILL, T0, 3), routing=ROUTING, mode="both")
    o.book(Count("operator", MILL, T0 + NS, 0, 1), routing=ROUTING, mode="both")
    assert (o.good, o.scrap) == ([2, 0], [1, 0])
    with pytest.raises(CountRejectedError, match="operators declare scrap"):
        o.book(Count("operator", MILL, T0 + 2 * NS, 1), routing=ROUTING, mode="both")
    with pytest.raises(CountRejectedError, match="only 2 good"):
        o.book(Count("operator", MILL, T0 + 2 * NS, 0, 5), routing=ROUTING, mode="both")
    assert (o.good, o.scrap) == ([2, 0], [1, 0])


def test_failed_inspection_moves_a_good_part_to_scrap() -> None:
    o = running()
    o.book(Count("machine", MILL, T0, 2), routing=ROUTING, mode="machine")
    o.book(Count("machine", MILL, T0, 0, 1, from_good=True), routing=ROUTING, mode="machine")
    assert (o.good, o.scrap) == ([1, 0], [1, 0])


def test_orders_not_running_take_no_counts() -> None:
    with pytest.raises(CountRejectedError, match="released"):
        order().book(Count("machine", MILL, T0, 1), routing=ROUTING, mode="machine")


def test_negative_count_is_refused() -> None:
    with pytest.raises(CountRejectedError, match="negative"):
        Count("machine", MILL, T0, -1)


def test_cycles_in_alternatives_are_found() -> None:
    def r(i: str, *alt: str) -> Routing:
        return Routing(i, "p", (), alt)

    assert routing_cycles({"a": r("a", "b"), "b": r("b", "c"), "c": r("c", "a")}) == [
        ["a", "b", "c", "a"]
    ]
    assert routing_cycles({"a": r("a", "a")}) == [["a", "a"]]
    assert routing_cycles({"a": r("a", "b"), "b": r("b")}) == []


def test_one_progress_event_per_change_with_the_newest_totals() -> None:
    o = running(10)
    o.take_events()
    for i in range(3):
        o.book(Count("machine", MILL, T0 + i * NS, 1), routing=ROUTING, mode="machine")
    (event,) = o.take_events()
    assert event.kind == "OrderProgressed" and o.good == [3, 0]
    assert event.ts_ns == T0 + 2 * NS and event.operation == 0  # type: ignore[attr-defined]


def test_a_paused_order_completes_when_late_counts_reach_the_quantity() -> None:
    o = running(2)
    o.book(Count("machine", MILL, T0 + NS, 2), routing=ROUTING, mode="machine")
    o.transition("paused", ts_ns=T0 + 2 * NS)
    o.book(Count("machine", ASSY, T0 + NS, 2), routing=ROUTING, mode="machine")
    assert o.state == "completed" and o.good_total == 2
