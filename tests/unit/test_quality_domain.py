"""The ``quality`` section of the plant file (defaults, per-characteristic rules, every
problem named with its line) and the nonconformance aggregate's refusals."""

from __future__ import annotations

import pytest

from plantos.core.errors import ConfigError
from plantos.model import load_plant_text
from plantos.mom.quality.errors import IllegalDispositionError, InvalidNonconformanceError
from plantos.mom.quality.nonconformance import EVIDENCE_KEPT, Nonconformance
from plantos.mom.quality.policy import quality_policy
from tests.unit.test_model_loader import BASE

PUMP = "site-1/area-1/line-1/pump-1"
ROLES = "notifications:\n  channels: [{kind: webhook, name: hook, url: 'http://127.0.0.1:9/x'}]\n"
ROLES += "  roles: {quality: [{channel: hook}]}\n"


def problems(block: str, extra: str = "") -> list[tuple[int | None, str]]:
    plant = load_plant_text(BASE + extra + "quality:\n" + block, file="plant.yaml")
    with pytest.raises(ConfigError) as info:
        quality_policy(plant)
    assert all(p.file == "plant.yaml" for p in info.value.problems)
    return [(p.line, p.message) for p in info.value.problems]


def test_defaults_hold_nothing_and_tell_the_quality_role_when_there_is_one() -> None:
    policy = quality_policy(load_plant_text(BASE))
    assert (policy.inspections, policy.hold_on, policy.notify) == (frozenset(), frozenset(), ())
    assert quality_policy(load_plant_text(BASE + ROLES)).notify == ("quality",)


def test_a_rule_overrides_the_section_for_the_characteristics_it_matches() -> None:
    plant = load_plant_text(
        BASE + "quality:\n  inspections: [running]\n  hold_on: [spc_violation]\n"
        "  rules:\n    - {match: '*/running', hold_on: [failed_inspection],"
        " scrap_releases_hold: false}\n"
    )  # fmt: skip
    policy = quality_policy(plant)
    assert policy.inspections == {f"{PUMP}/running"}
    rule = policy.for_characteristic(f"{PUMP}/running")
    assert (rule.hold_on, rule.scrap_releases_hold) == ({"failed_inspection"}, False)
    flow = policy.for_characteristic(f"{PUMP}/flow")
    assert (flow.hold_on, flow.scrap_releases_hold) == ({"spc_violation"}, True)


def test_every_problem_is_named_with_its_line() -> None:
    start = BASE.count("\n") + 2
    found = problems(
        "  inspections: [flow, nothing]\n"
        "  hold_on: [spc_violation, coffee]\n"
        "  notify: [quality]\n"
        "  rules:\n"
        "    - {match: 'site-9/*'}\n"
    )
    assert found == [
        (start, f"quality.inspections[0]: {PUMP}/flow is float: an inspection is a bool tag"),
        (start, "quality.inspections[1]: 'nothing' is no tag or signal of the plant"),
        (start + 1, "quality.hold_on[1]: unknown finding 'coffee': "
                    "one of spc_violation, failed_inspection"),
        (start + 4, "quality.rules[0].match: 'site-9/*' matches no tag of the plant"),
        (start + 2, "quality.notify[0]: 'quality' is not a role of notifications.roles"),
    ]  # fmt: skip
    assert problems("  hold: yes\n") == [(start, "quality: unknown key 'hold'")]


def nc() -> Nonconformance:
    return Nonconformance.open(
        id="NC-1", asset=PUMP, characteristic=f"{PUMP}/flow", trigger="spc_violation",
        opened_ns=1, by="loop", order="PO-1", hold=True,
    )  # fmt: skip


def test_evidence_is_capped_but_every_occurrence_counted() -> None:
    found = nc()
    for i in range(EVIDENCE_KEPT + 7):
        found.add_evidence({"i": i})
    assert found.occurrences == EVIDENCE_KEPT + 7 and found.evidence[0] == {"i": 7}


def test_refused_moves_name_the_reason_and_change_nothing() -> None:
    found = nc()
    with pytest.raises(IllegalDispositionError, match="one of use_as_is, rework, scrap"):
        found.dispose("sell", by="qa", at_ns=2, hold_released=True)
    with pytest.raises(InvalidNonconformanceError, match="only a scrap disposition scraps"):
        found.dispose("rework", by="qa", at_ns=2, scrapped=3, hold_released=True)
    assert (found.state, found.held, len(found.take_events())) == ("open", True, 1)
    found.dispose("scrap", by="qa", at_ns=2, scrapped=3, hold_released=False)
    assert (found.state, found.held, found.scrapped) == ("closed", True, 3)
    with pytest.raises(IllegalDispositionError, match="closed already \\(scrap\\)"):
        found.dispose("use_as_is", by="qa", at_ns=3, hold_released=True)
    with pytest.raises(IllegalDispositionError, match="takes no more evidence"):
        found.add_evidence({})
    with pytest.raises(InvalidNonconformanceError, match="trigger must be one of"):
        Nonconformance(id="x", asset=PUMP, characteristic="c", trigger="rumour",
                       opened_ns=1, opened_by="me")  # fmt: skip
