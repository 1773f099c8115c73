"""Nelson and Western Electric rules: hand-made series for each rule, a near miss each,
and the qcc test vectors from ``../shared/data/spc/`` (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from plantos.analytics.spc import evaluate_rules, most_serious

SPC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spc"
VECTORS = SPC_DIR / "qcc_rule_test_vectors.json"


def flagged(values: list[float], rule: int, rule_set: str = "nelson") -> list[int]:
    hits = evaluate_rules(np.array(values, dtype=float), 0.0, 1.0, rules=[rule], rule_set=rule_set)  # type: ignore[arg-type]
    return hits[rule].points.tolist()


# (rule, violating series, 0-based flagged points, near miss that must flag nothing)
NELSON_CASES = [
    (1, [0, 3.01, 0, -3.5], [1, 3], [0, 3.0, -3.0, 2.99]),
    (2, [0.1] * 9, [8], [0.1] * 8 + [0.0] + [0.1] * 8),
    (3, [1, 2, 3, 4, 5, 6], [5], [1, 2, 3, 4, 5, 5, 6, 7, 8, 9]),
    (4, [0, 1] * 7, [13], [0, 1] * 6 + [0, 0]),
    (5, [0, 2.1, 0, 2.2], [3], [2.1, 0, 0, 2.2, -2.1, 0]),
    (6, [1.1, 1.2, 0, 1.3, 1.4], [4], [1.1, 1.2, 0, 1.3, 0, 1.4, -1.1]),
    (7, [0.5, -0.5] * 7 + [1.0], [14], [0.5, -0.5] * 7 + [1.01]),
    (8, [1.5, -1.5] * 4, [7], [1.5, -1.5] * 3 + [1.5, -1.0]),
]


@pytest.mark.parametrize(("rule", "series", "expected", "near"), NELSON_CASES)
def test_each_nelson_rule_fires_on_its_pattern_and_not_on_a_near_miss(
    rule: int, series: list[float], expected: list[int], near: list[float]
) -> None:
    assert flagged(series, rule) == expected
    assert flagged(near, rule) == []


def test_a_continuing_run_flags_every_later_point() -> None:
    assert flagged([-0.2] * 11, 2) == [8, 9, 10]


def test_points_involved_are_the_window_or_the_points_beyond_the_line() -> None:
    hits = evaluate_rules(np.array([2.1, 0.0, 2.2, 0.1] + [0.3] * 8), 0.0, 1.0, rules=[2, 5])
    assert hits[5].involved(0).tolist() == [0, 2]
    assert hits[2].involved(0).tolist() == list(range(2, 11))


def test_per_point_lines_and_missing_lines() -> None:
    center = np.array([np.nan, 0, 0, 0])
    assert evaluate_rules(np.array([9.0, 0, 0, 9]), center, 1.0, rules=[1])[1].points.tolist() == [
        3
    ]


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="got \\[5\\]"):
        evaluate_rules(np.zeros(3), 0.0, 1.0, rules=[5], rule_set="western-electric")


def test_empty_and_non_finite_series_flag_nothing() -> None:
    assert all(len(h.points) == 0 for h in evaluate_rules(np.empty(0), 0.0, 1.0).values())
    nasty = np.array([np.nan, np.inf, -np.inf] * 10)
    hits = evaluate_rules(nasty, 0.0, 1.0)
    assert hits[1].points.tolist() == [
        1,
        2,
        4,
        5,
        7,
        8,
        10,
        11,
        13,
        14,
        16,
        17,
        19,
        20,
        22,
        23,
        25,
        26,
        28,
        29,
    ]
    assert all(len(hits[r].points) == 0 for r in (3, 4, 7))


# ---- qcc's own test vectors ---------------------------------------------------------------


def vectors() -> dict[str, object]:
    if not VECTORS.is_file():
        pytest.skip(f"qcc rule test vectors not found at {VECTORS}")
    data: dict[str, object] = json.loads(VECTORS.read_text())
    return data


def test_qcc_single_rule_vectors() -> None:
    cases = vectors()["single_rule_cases"]
    assert isinstance(cases, list)
    checked = 0
    for case in cases:
        for key in (k for k in case if k.startswith("expected")):
            name = case["rule"] if key == "expected" else key.split("_")[1]
            rule_set = "nelson" if name.startswith("NEL") else "western-electric"
            got = [i + 1 for i in flagged(case["values"], int(name[-1]), rule_set)]
            assert got == case[key], (name, case["values"])
            checked += 1
    assert checked == 16


def test_qcc_precedence_case() -> None:
    case = vectors()["precedence_case"]
    assert isinstance(case, dict)
    values = np.array(case["values"])
    hits = evaluate_rules(values, 0.0, 1.0, rules=[1, 2, 3, 4], rule_set="western-electric")
    assert {f"WE{r}": (h.points + 1).tolist() for r, h in hits.items()} == case["per_rule"]
    for rules, key in (
        ([4], "combined_rules_4_only"),
        ([4, 3, 2], "combined_rules_4_3_2"),
        ([1, 2, 3, 4], "combined_rules_4_3_2_1"),
    ):
        chosen = {r: hits[r] for r in rules}
        expected = [0 if v is None else v for v in case[key]]
        assert most_serious(chosen, len(values)).tolist() == expected
