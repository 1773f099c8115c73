"""The ``maintenance`` and ``notifications`` sections of the plant file: defaults, the
demo plant's sections valid, every problem named with its line; the loop's pure
judgements (windows, priorities) and their doctests."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from plantos.core.errors import ConfigError
from plantos.integration.notify import routing
from plantos.integration.notify.config import notification_config
from plantos.loops import judgement
from plantos.loops.judgement import choose_window, priority_of, schedule_view
from plantos.model import load_plant, load_plant_text
from plantos.mom.domain.plan import PlannedOperation, PublishedPlan
from plantos.mom.maintenance import catalogue
from plantos.mom.maintenance.policy import maintenance_policy
from tests.unit.test_model_loader import BASE

NS = 1_000_000_000


def problems(section: str, block: str) -> list[tuple[int | None, str]]:
    plant = load_plant_text(BASE + f"{section}:\n" + block, file="plant.yaml")
    with pytest.raises(ConfigError) as info:
        (maintenance_policy if section == "maintenance" else notification_config)(plant)
    return [(p.line, p.message) for p in info.value.problems]


def test_defaults_and_the_demo_plant(demo_plant_path: Path) -> None:
    policy = maintenance_policy(load_plant_text(BASE))
    assert (policy.auto_approve_up_to, policy.window_ns) == (2, 2 * 3600 * NS)
    demo = load_plant(demo_plant_path)
    assert maintenance_policy(demo).auto_approve_up_to == 4
    config = notification_config(demo)
    assert [c.name for c in config.channels] == ["maintenance-mail", "maintenance-hook"]
    assert [r.to for r in config.rules] == [["station"], ["maintenance"], ["maintenance"]]


def test_bad_maintenance_settings_are_named_with_their_line() -> None:
    first = len(BASE.splitlines()) + 2
    assert sorted(problems("maintenance", "  window: soon\n  auto_approve: 7\n")) == [
        (first, "maintenance.window: not a duration: 'soon' (write e.g. 500ms, 30s, 15m, 8h, 7d)"),
        (first + 1, "maintenance.auto_approve: true, false or a priority 1-4, not 7"),
    ]
    classes = problems("maintenance", "  asset_classes: {pump: hydraulic}\n")
    assert classes == [
        (len(BASE.splitlines()) + 2, "maintenance.asset_classes.pump: unknown class "
         "'hydraulic' (['furnace', 'rotating', 'welding'])"),
    ]  # fmt: skip


def test_rules_must_name_known_roles_and_roles_known_channels() -> None:
    block = """\
  roles:
    maintenance: [{channel: nowhere, to: m@acme.example}]
  rules:
    - {to: [maintenance, planners]}
  escalation: {after: 10m, to: [leads]}
"""
    messages = [m for _, m in problems("notifications", block)]
    assert messages == [
        "notifications.roles.maintenance[0]: unknown channel 'nowhere'",
        "notifications.rules[0].to: 'planners' is neither a role nor 'station'",
        "notifications.escalation.to: 'leads' is not a role",
    ]


def test_a_custom_class_extends_the_catalogue() -> None:
    block = "  catalogue:\n    spindle: {modes: {VIB: vibration}, anomaly_mode: VIB}\n"
    plant = load_plant_text(BASE + "maintenance:\n" + block + "  asset_classes: {pump: spindle}\n")
    policy = maintenance_policy(plant)
    assert policy.catalogue.class_of("pump") is policy.catalogue.classes["spindle"]
    assert problems("maintenance", "  catalogue:\n    spindle: {modes: {X: y}}\n")[0][1].startswith(
        "maintenance.catalogue.spindle: anomaly_mode None"
    )


def test_window_prefers_an_idle_gap_before_the_failure() -> None:
    busy = [(0, 1000), (1000, 5000), (9000, 12000)]
    assert choose_window(busy, earliest_s=1000, latest_end_s=9000, duration_s=3600) == (
        5000, 8600, True,
    )  # fmt: skip
    # no gap before the failure: the earliest window, the replan moves what is in it
    assert choose_window(busy, earliest_s=1000, latest_end_s=4000, duration_s=3600) == (
        1000, 4600, False,
    )  # fmt: skip


def test_schedule_view_names_affected_orders_and_those_due_before_failure() -> None:
    ops = (
        PlannedOperation("PO-1", 0, "a/cnc", 0, 500),
        PlannedOperation("PO-2", 0, "a/cnc", 600, 900),
        PlannedOperation("PO-3", 0, "a/cnc", 90_000, 91_000),
        PlannedOperation("PO-4", 0, "a/other", 100, 200),
    )
    plan = PublishedPlan(0, "t", None, "cp-sat", "OPTIMAL", 0, 0, 0, 1.0, ops)
    view = schedule_view(
        plan, lambda ids: {"PO-1": 700, "PO-2": 50_000}, "a/cnc",
        now_s=100, horizon_s=86_400, failure_s=10_000,
    )  # fmt: skip
    assert view.affected_orders == ("PO-1", "PO-2")
    assert view.due_before_failure == ("PO-1",)
    assert view.running_until_s == 500


def test_priority_grows_with_severity_criticality_urgency_and_impact() -> None:
    def rate(hours: float, criticality: str, impact: int) -> int:
        return priority_of(
            severity_rank=1, hours_to_failure=hours, criticality=criticality, impact=impact
        )

    assert rate(48.0, "medium", 0) == 3
    assert rate(48.0, "critical", 2) == 2
    assert rate(4.0, "critical", 2) == 1


@pytest.mark.parametrize("module", [judgement, routing, catalogue])
def test_doctests(module: object) -> None:
    assert doctest.testmod(module, raise_on_error=False).failed == 0  # type: ignore[arg-type]
