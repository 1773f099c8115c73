"""``plantos check`` on the operations sections of a plant file (notifications,
maintenance with its preventive plans, quality, checklists): one run names every mistake
with its file and line, however many there are and whatever their kind."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plantos.cli.main import app
from plantos.core.errors import ConfigError
from plantos.model import load_plant_text
from plantos.mom import sections
from plantos.mom.maintenance.policy import maintenance_policy
from tests.support.server import MIXER_OEE_PLANT

MIXER = "site-1/mixing/line-1/mixer-1"
SECTIONS = f"""\
notifications:
  roles:
    maintenance: []
  rules:
    - {{kinds: [WorkOrderOpened], to: [maintenance, planners]}}
    - {{lines: [site-1/mixing/line-9], to: [station]}}
    - {{sites: [site-7], to: [maintenance]}}
  escalation: {{after: 10m, to: [leads]}}
maintenance:
  window: 0s
  asset_classes: {{mixer: rotating, blender: rotating}}
  catalogue:
    rotating: {{anomaly_mode: XYZ}}
    press: {{modes: {{VIB: vibration}}, anomaly_mode: VIB, anomaly_cause: "9.9"}}
  plans:
    - {{id: p1, asset: site-1/mixing/line-1/mixer-9, every: 2w}}
    - {{id: p2, asset: {MIXER}, every: 0s}}
    - {{id: p3, asset: {MIXER}, meter: integral, tag: nope, every: 5}}
    - {{id: p4, asset: {MIXER}, every: 2w, priority: seven}}
    - {{id: p5, asset: {MIXER}, meter: hours, every: -3}}
    - {{id: p6, asset: {MIXER}}}
    - {{id: p7, asset: {MIXER}, meter: hours, states: [flying], every: 9, colour: red}}
    - {{id: p1, asset: {MIXER}, every: 1w}}
quality:
  inspections: [nope]
  hold_on: [spc_violation, bad_finding]
  notify: [quality-lead]
  scrap_releases_hold: maybe
entry:
  checklists:
    start:
      title: Start
      when: shift-start
      lines: [site-1/mixing/line-7]
      items:
        - {{id: a, text: A, kind: yes_no}}
    loto:
      title: Lock-out
      when: work-order-start
      items:
        - {{id: a, text: A, kind: yes_no, required: often}}
"""
FIRST = len(MIXER_OEE_PLANT.splitlines()) + 1
"""The line of ``notifications:``."""
EXPECTED = [
    (5, "notifications.rules[0].to: 'planners' is neither a role nor 'station'"),
    (6, "notifications.rules[1].lines: no line 'site-1/mixing/line-9' in the plant"),
    (7, "notifications.rules[2].sites: no site 'site-7' in the plant"),
    (8, "notifications.escalation.to: 'leads' is not a role"),
    (10, "maintenance.window: a duration longer than zero is needed, not '0s'"),
    (11, "maintenance.asset_classes.blender: no asset type 'blender' in the plant"),
    (13, "maintenance.catalogue.rotating: anomaly_mode 'XYZ' must be one of"),
    (14, "maintenance.catalogue.press.anomaly_cause: unknown ISO 14224 code '9.9'"),
    (16, "maintenance.plans[0].asset: no asset 'site-1/mixing/line-1/mixer-9'"),
    (17, "maintenance.plans[1].every: a duration longer than zero is needed, not '0s'"),
    (18, "maintenance.plans[2].tag: no tag 'nope'"),
    (19, "maintenance.plans[3].priority: Input should be a valid integer"),
    (20, "maintenance.plans[4].every: plan p5: every must be positive, not -3.0"),
    (21, "maintenance.plans[5]: 'every' is required"),
    (22, "maintenance.plans[6]: unknown key 'colour'"),
    (22, "maintenance.plans[6].states: unknown state(s) ['flying']"),
    (23, "maintenance.plans[7].id: another plan has the id 'p1'"),
    (25, "quality.inspections[0]: 'nope' is no tag or signal of the plant"),
    (26, "quality.hold_on[1]: unknown finding 'bad_finding'"),
    (27, "quality.notify[0]: 'quality-lead' is not a role of notifications.roles"),
    (28, "quality.scrap_releases_hold: Input should be a valid boolean"),
    (34, "entry.checklists.start.lines.0: no line 'site-1/mixing/line-7' in the plant"),
    (41, "entry.checklists.loto.items[0].required: Input should be a valid boolean"),
]


def check(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    plant = tmp_path / "plantos.yaml"
    plant.write_text(text)
    result = CliRunner().invoke(app, ["check", str(plant)], env={"COLUMNS": "400"})
    errors = [line for line in result.output.splitlines() if line.startswith("error ")]
    return result.exit_code, [e.removeprefix(f"error {plant}:") for e in errors]


def test_every_mistake_is_named_with_its_line_in_one_run(tmp_path: Path) -> None:
    code, errors = check(tmp_path, MIXER_OEE_PLANT + SECTIONS)
    assert code == 1
    assert len(errors) == len(EXPECTED), "\n".join(errors)
    for error, (line, message) in zip(errors, EXPECTED, strict=True):
        assert error.startswith(f"{FIRST + line - 1}: {message}"), (error, line, message)


def test_the_sections_when_right_pass(tmp_path: Path) -> None:
    right = f"""\
notifications:
  roles: {{maintenance: []}}
  rules: [{{lines: [site-1/mixing/line-1], sites: [site-1], to: [maintenance, station]}}]
maintenance:
  asset_classes: {{mixer: rotating}}
  plans:
    - {{id: p1, asset: {MIXER}, every: 2w}}
    - {{id: p2, asset: {MIXER}, meter: hours, states: [running], every: 500}}
quality: {{hold_on: [spc_violation], notify: []}}
"""
    code, errors = check(tmp_path, MIXER_OEE_PLANT + right)
    assert (code, errors) == (0, [])


def test_the_server_refuses_the_same_maintenance_mistakes_together() -> None:
    plant = load_plant_text(MIXER_OEE_PLANT + SECTIONS, file="plantos.yaml")
    with pytest.raises(ConfigError) as info:
        maintenance_policy(plant)
    # the typing mistakes and the catalogue's (the plans' assets and meters are checked
    # when the preventive loop starts)
    lines = sorted(p.line or 0 for p in info.value.problems)
    assert lines == [FIRST + n - 1 for n in (10, 11, 13, 14, 19, 21, 22)]


def test_salvage_doctest() -> None:
    assert doctest.testmod(sections).failed == 0
