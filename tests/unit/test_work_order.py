"""The work order aggregate: its lifecycle, who did what, and what it refuses."""

from __future__ import annotations

import pytest

from plantos.mom.maintenance.catalogue import DEFAULT_CATALOGUE
from plantos.mom.maintenance.errors import (
    IllegalWorkOrderTransitionError,
    InvalidWorkOrderError,
    UnknownFailureCodeError,
)
from plantos.mom.maintenance.events import WorkOrderOpened, WorkOrderUpdated
from plantos.mom.maintenance.history import history_of, repair_s
from plantos.mom.maintenance.workorder import Window, WorkOrder

NS = 1_000_000_000
T0 = 1_767_225_600 * NS


def new(**extra: object) -> WorkOrder:
    fields: dict[str, object] = {
        "id": "WO-1", "asset": "p/a/l/cnc-07", "kind": "predictive", "title": "spindle",
        "opened_ns": T0, "failure_mode": "VIB", **extra,
    }  # fmt: skip
    return WorkOrder.request(by="loop:maintenance", **fields)


def test_full_lifecycle_records_who_moved_it_when() -> None:
    order = new()
    order.propose_window(Window(T0 + 3600 * NS, T0 + 7200 * NS), by="alice", at_ns=T0 + 1)
    for i, to in enumerate(("approved", "scheduled", "in_progress", "done"), start=2):
        order.transition(to, by="bob", at_ns=T0 + i * NS)
    assert [t["to"] for t in order.transitions] == [
        "requested", "approved", "scheduled", "in_progress", "done",
    ]  # fmt: skip
    assert order.transitions[-1] == {
        "from": "in_progress",
        "to": "done",
        "by": "bob",
        "at_ns": T0 + 5 * NS,
    }
    assert order.closed_ns == T0 + 5 * NS and not order.is_open
    events = order.take_events()
    assert isinstance(events[0], WorkOrderOpened)
    assert [e.change for e in events[1:] if isinstance(e, WorkOrderUpdated)] == [
        "window", "approved", "scheduled", "in_progress", "done",
    ]  # fmt: skip
    assert repair_s(order) == 1.0


def test_illegal_transition_names_allowed_moves_and_changes_nothing() -> None:
    order = new()
    order.take_events()
    with pytest.raises(IllegalWorkOrderTransitionError, match="approved, cancelled, not done"):
        order.transition("done", by="bob", at_ns=T0)
    assert order.state == "requested" and order.take_events() == []
    order.transition("approved", by="bob", at_ns=T0)
    with pytest.raises(IllegalWorkOrderTransitionError, match="window before scheduling"):
        order.transition("scheduled", by="bob", at_ns=T0)
    order.transition("cancelled", by="bob", at_ns=T0)
    with pytest.raises(IllegalWorkOrderTransitionError, match="final"):
        order.transition("approved", by="bob", at_ns=T0)
    with pytest.raises(IllegalWorkOrderTransitionError, match="no longer take evidence"):
        order.add_evidence({"score": 1.0}, by="loop", at_ns=T0)


def test_labour_and_parts_only_on_a_started_job_and_with_sane_values() -> None:
    order = new(window=Window(T0, T0 + NS))
    with pytest.raises(IllegalWorkOrderTransitionError, match="only a started job"):
        order.record_labour(person="carl", hours=1.0, by="carl", at_ns=T0)
    for to in ("approved", "scheduled", "in_progress"):
        order.transition(to, by="carl", at_ns=T0)
    with pytest.raises(InvalidWorkOrderError, match="hours"):
        order.record_labour(person="carl", hours=30, by="carl", at_ns=T0)
    with pytest.raises(InvalidWorkOrderError, match="positive quantity"):
        order.record_part(part="6205-2RS", quantity=0, by="carl", at_ns=T0)
    order.record_labour(person="carl", hours=1.5, by="carl", at_ns=T0)
    order.record_part(part="6205-2RS", quantity=2, by="carl", at_ns=T0)
    assert order.labour[0]["hours"] == 1.5 and order.parts[0]["quantity"] == 2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "magic"}, "kind must be one of"),
        ({"priority": 0}, "priority must be 1"),
        ({"id": ""}, "1 to 64"),
    ],
)
def test_bad_fields_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidWorkOrderError, match=message):
        new(**fields)


def test_window_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidWorkOrderError, match="end after"):
        Window(T0, T0)


def test_catalogue_refuses_unknown_codes_per_class() -> None:
    DEFAULT_CATALOGUE.check("furnace", mode="PDE", mechanism="2.7", cause="3.1")
    with pytest.raises(UnknownFailureCodeError, match="failure mode 'VIB'"):
        DEFAULT_CATALOGUE.check("furnace", mode="VIB", mechanism=None, cause=None)
    with pytest.raises(UnknownFailureCodeError, match=r"failure cause '9\.9'"):
        DEFAULT_CATALOGUE.check("welding", mode=None, mechanism=None, cause="9.9")
    assert DEFAULT_CATALOGUE.class_of("cnc-mill") is DEFAULT_CATALOGUE.classes["rotating"]
    assert DEFAULT_CATALOGUE.class_of("assembly-station") is None


def test_history_names_last_service_open_orders_and_past_failures() -> None:
    done = new(id="WO-A", window=Window(T0, T0 + NS))
    for i, to in enumerate(("approved", "scheduled", "in_progress", "done")):
        done.transition(to, by="x", at_ns=T0 + i * 600 * NS)
    other = new(id="WO-B", failure_mode="OHE", opened_ns=T0 + 10 * NS)
    history = history_of("p/a/l/cnc-07", [done, other], failure_mode="VIB")
    assert history.last_service is done and history.last_service_ns == T0 + 1800 * NS
    assert history.open_orders == (other,)
    assert history.past_failures == (done,) and history.mean_repair_s == 600.0
