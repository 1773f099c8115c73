"""SPC charts, limits and capability against Montgomery's data sets as qcc publishes them.

The reference data is read from ``../shared/data/spc/`` next to the repository;
tests that need it skip when it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plantos.analytics.spc import (
    BaselineError,
    ChartKind,
    ControlLimits,
    FlatBaselineError,
    capability,
    evaluate_rules,
    fit_limits,
    rolling_limits,
    statistics_from_samples,
)
from plantos.analytics.spc.capability import overall_sigma
from plantos.analytics.spc.charts import Statistics, attribute_statistics
from plantos.analytics.spc.constants import c4, d2, d3

SPC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spc"
REL = 1e-6


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    path = SPC_DIR / "qcc_reference_results.json"
    if not path.is_file():
        pytest.skip(f"SPC reference data not found at {path}")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def table(name: str) -> dict[str, np.ndarray]:
    """A qcc data file as columns (R ``read.table(header=TRUE)``)."""
    lines = (SPC_DIR / "qcc_data" / name).read_text().split("\n")
    header = lines[0].split()
    rows = [line.split() for line in lines[1:] if line.strip()]
    cols = {}
    for i, h in enumerate(header):
        raw = [r[i] for r in rows]
        cols[h] = (
            np.array([v == "TRUE" for v in raw])
            if raw[0] in ("TRUE", "FALSE")
            else (np.array(raw, dtype=float))
        )
    return cols


def by_count(values: np.ndarray, size: int) -> np.ndarray:
    return np.arange(0, len(values), size, dtype=np.intp)


def check(lines_center: float, lcl: float, ucl: float, published: dict[str, float]) -> None:
    assert lines_center == pytest.approx(published["center"], rel=REL)
    assert lcl == pytest.approx(published["LCL"], rel=REL, abs=1e-12)
    assert ucl == pytest.approx(published["UCL"], rel=REL)


# ---- constants ------------------------------------------------------------------------------


def test_constants_match_the_textbook_table() -> None:
    assert d2([2, 5, 10]).tolist() == [1.128, 2.326, 3.078]
    assert d3(5)[()] == pytest.approx(0.8640855)
    # c4 exact from gamma functions, Montgomery Appendix VI to 4 decimals
    assert c4([2, 5, 10, 25]) == pytest.approx([0.7979, 0.9400, 0.9727, 0.9896], abs=5e-5)
    with pytest.raises(ValueError, match=r"2\.\.25"):
        d2(26)


# ---- reference data sets ------------------------------------------------------------------


def test_pistonrings_xbar_r_and_s_limits_match_qcc(reference: dict[str, Any]) -> None:
    data = table("pistonrings.txt")
    phase1 = data["diameter"][data["trial"]]
    pub = reference["pistonrings"]["published"]
    stats = statistics_from_samples(ChartKind.XBAR_R, phase1, by_count(phase1, 5))
    lim = fit_limits(stats)
    assert lim.sigma == pytest.approx(pub["xbar_phase1"]["std_dev"], rel=REL)
    loc, disp = lim.location(stats.sizes), lim.dispersion(stats.sizes)
    check(loc.center[0], loc.lcl[0], loc.ucl[0], pub["xbar_phase1"])
    check(disp.center[0], disp.lcl[0], disp.ucl[0], pub["R_phase1"])
    s_stats = statistics_from_samples(ChartKind.XBAR_S, phase1, by_count(phase1, 5))
    s_lim = fit_limits(s_stats)
    assert s_lim.sigma == pytest.approx(pub["S_phase1"]["std_dev"], rel=REL)
    s_disp = s_lim.dispersion(s_stats.sizes)
    check(s_disp.center[0], s_disp.lcl[0], s_disp.ucl[0], pub["S_phase1"])


def test_pistonrings_phase_two_flags_the_textbook_points(reference: dict[str, Any]) -> None:
    data = table("pistonrings.txt")
    computed = reference["pistonrings"]["computed_here"]
    stats = statistics_from_samples(
        ChartKind.XBAR_R, data["diameter"], by_count(data["diameter"], 5)
    )
    lim = fit_limits(
        Statistics(ChartKind.XBAR_R, stats.sizes[:25], stats.location[:25], stats.dispersion[:25])
    )
    means = {int(k): v for k, v in computed["xbar_phase2_means"].items()}
    assert stats.location[25:] == pytest.approx([means[i] for i in range(26, 41)], abs=1e-9)
    loc = lim.location(stats.sizes)
    hits = evaluate_rules(
        stats.location, loc.center, loc.sigma, rules=[1, 2, 3, 4], rule_set="western-electric"
    )
    sample = {r: (h.points + 1).tolist() for r, h in hits.items()}
    assert sample[1] == computed["xbar_beyond_3sigma_WE1"]
    assert sample[2] == computed["xbar_WE2_2of3_beyond_2sigma"]
    assert sample[3] == computed["xbar_WE3_4of5_beyond_1sigma"]
    assert sample[4] == computed["xbar_WE4_8_same_side"]
    disp = lim.dispersion(stats.sizes)
    r_hits = evaluate_rules(stats.dispersion, disp.center, disp.sigma, rules=[1])
    assert r_hits[1].points.tolist() == computed["R_beyond_UCL"]


def test_orangejuice_p_and_np_charts(reference: dict[str, Any]) -> None:
    data = table("orangejuice.txt")
    trial = data["trial"]
    oj = reference["orangejuice"]
    p = attribute_statistics(ChartKind.P, data["D"][trial], data["size"][trial])
    lim = fit_limits(p)
    loc = lim.location(p.sizes)
    assert loc.sigma[0] == pytest.approx(oj["published"]["p_phase1_all30"]["std_dev"], rel=REL)
    check(loc.center[0], loc.lcl[0], loc.ucl[0], oj["published"]["p_phase1_all30"])
    flagged = evaluate_rules(p.location, loc.center, loc.sigma, rules=[1])[1].points + 1
    assert flagged.tolist() == oj["documented_out_of_control"]["samples"] == [15, 23]
    np_stats = attribute_statistics(ChartKind.NP, data["D"][trial], data["size"][trial])
    np_loc = fit_limits(np_stats).location(np_stats.sizes)
    check(np_loc.center[0], np_loc.lcl[0], np_loc.ucl[0], oj["published"]["np_phase1_all30"])
    keep = ~np.isin(data["sample"][trial], [15, 23])
    revised = attribute_statistics(ChartKind.P, data["D"][trial][keep], data["size"][trial][keep])
    rev = fit_limits(revised).location(revised.sizes)
    check(rev.center[0], rev.lcl[0], rev.ucl[0], oj["published"]["p_phase1_without_15_23"])


def test_circuit_c_and_u_charts_with_phase_two(reference: dict[str, Any]) -> None:
    data = table("circuit.txt")
    trial, x, size = data["trial"], data["x"], data["size"]
    ref = reference["circuit"]
    c = attribute_statistics(ChartKind.C, x[trial], size[trial])
    loc = fit_limits(c).location(c.sizes)
    check(loc.center[0], loc.lcl[0], loc.ucl[0], ref["published"]["c_phase1_all26"])
    flagged = evaluate_rules(c.location, loc.center, loc.sigma, rules=[1])[1].points + 1
    assert flagged.tolist() == ref["documented_out_of_control"]["samples"] == [6, 20]
    # revised limits without 6 and 20; phase II appended, qcc's default rules 1 and 4
    keep = trial & ~np.isin(data["sample"], [6, 20])
    u_base = attribute_statistics(ChartKind.U, x[keep], size[keep])
    u_lim = fit_limits(u_base)
    u_loc = u_lim.location(u_base.sizes)
    check(u_loc.center[0], u_loc.lcl[0], u_loc.ucl[0], ref["published"]["u_phase1_without_6_20"])
    assert u_lim.sigma == pytest.approx(
        ref["published"]["u_phase1_without_6_20"]["std_dev"], rel=REL
    )
    series = np.concatenate((x[keep], x[~trial]))
    sizes = np.concatenate((size[keep], size[~trial]))
    u_all = attribute_statistics(ChartKind.U, series, sizes)
    lines = u_lim.location(u_all.sizes)
    hits = evaluate_rules(
        u_all.location, lines.center, lines.sigma, rules=[1, 4], rule_set="western-electric"
    )
    expected = ref["computed_here"]["u_or_c_phase1_without_6_20_plus_phase2_default_rules_1_4"]
    assert hits[1].points.tolist() == expected["WE1"]
    # sample 30 is position 28 once samples 6 and 20 are out of the series
    assert (hits[4].points + 1 + 2).tolist() == expected["WE4"]


def test_pcmanufact_u_and_orangejuice2_p(reference: dict[str, Any]) -> None:
    pc = table("pcmanufact.txt")
    u = attribute_statistics(ChartKind.U, pc["x"], pc["size"])
    loc = fit_limits(u).location(u.sizes)
    check(loc.center[0], loc.lcl[0], loc.ucl[0], reference["pcmanufact"]["published"]["u_all20"])
    oj2 = table("orangejuice2.txt")
    p = attribute_statistics(ChartKind.P, oj2["D"][oj2["trial"]], oj2["size"][oj2["trial"]])
    p_loc = fit_limits(p).location(p.sizes)
    check(
        p_loc.center[0],
        p_loc.lcl[0],
        p_loc.ucl[0],
        reference["orangejuice2"]["published"]["p_phase1"],
    )


def test_viscosity_individuals_chart(reference: dict[str, Any]) -> None:
    data = table("viscosity.txt")
    x = data["viscosity"][data["trial"]]
    ref = reference["viscosity"]
    stats = statistics_from_samples(ChartKind.I_MR, x, np.arange(len(x)))
    lim = fit_limits(stats)
    assert lim.sigma == pytest.approx(ref["published"]["I_chart_phase1_MR"]["std_dev"], rel=REL)
    loc = lim.location(stats.sizes)
    check(loc.center[0], loc.lcl[0], loc.ucl[0], ref["published"]["I_chart_phase1_MR"])
    hits = evaluate_rules(
        stats.location, loc.center, loc.sigma, rules=[1, 2, 3, 4], rule_set="western-electric"
    )
    assert (hits[1].points + 1).tolist() == ref["documented_out_of_control"]["samples"] == [4]
    assert all(len(hits[r].points) == 0 for r in (2, 3, 4))
    keep = np.delete(x, 3)
    rev = fit_limits(statistics_from_samples(ChartKind.I_MR, keep, np.arange(len(keep))))
    rl = rev.location(np.ones(1))
    check(rl.center[0], rl.lcl[0], rl.ucl[0], ref["published"]["I_chart_phase1_without_batch4"])


# ---- capability ---------------------------------------------------------------------------


def test_capability_of_pistonrings_against_spec(reference: dict[str, Any]) -> None:
    data = table("pistonrings.txt")
    phase1 = data["diameter"][data["trial"]]
    sigma_w = reference["pistonrings"]["published"]["xbar_phase1"]["std_dev"]
    mean = reference["pistonrings"]["published"]["xbar_phase1"]["center"]
    cap = capability(
        mean=mean,
        sigma_within=sigma_w,
        sigma_overall=overall_sigma(phase1),
        lsl=73.95,
        usl=74.05,
        target=74.0,
    )
    # worked by hand: 0.1 / (6 * 0.009785039); (74.05 - 74.00118) / (3 * 0.009785039)
    assert cap.cp == pytest.approx(1.703273, rel=1e-5)
    assert cap.cpk == pytest.approx(1.663091, rel=1e-5)
    assert cap.cpm == pytest.approx(0.1 / (6 * np.hypot(sigma_w, mean - 74.0)), rel=1e-9)
    assert cap.pp == pytest.approx(0.1 / (6 * np.std(phase1, ddof=1)))
    assert cap.ppk is not None and cap.ppk <= cap.pp


def test_capability_one_sided_and_refusals() -> None:
    upper = capability(mean=10.0, sigma_within=1.0, sigma_overall=2.0, usl=16.0)
    assert (upper.cp, upper.cpk, upper.pp, upper.ppk) == (None, 2.0, None, 1.0)
    lower = capability(mean=10.0, sigma_within=1.0, sigma_overall=1.0, lsl=7.0)
    assert lower.cpk == 1.0 and lower.cpm is None
    with pytest.raises(ValueError, match="at least one"):
        capability(mean=1.0, sigma_within=1.0, sigma_overall=1.0)
    with pytest.raises(ValueError, match="sigma_within"):
        capability(mean=1.0, sigma_within=0.0, sigma_overall=1.0, usl=2.0)
    with pytest.raises(ValueError, match="below"):
        capability(mean=1.0, sigma_within=1.0, sigma_overall=1.0, lsl=2.0, usl=2.0)


# ---- bad input ----------------------------------------------------------------------------


def test_baseline_skips_non_finite_subgroups() -> None:
    stats = Statistics(ChartKind.C, np.ones(5), np.array([4.0, np.nan, 6.0, np.inf, 5.0]), None)
    lim = fit_limits(stats)
    assert lim.center == 5.0 and lim.subgroups == 3 and np.isfinite(lim.sigma)


def test_flat_baseline_is_refused_not_turned_into_zero_width_limits() -> None:
    flat = np.full(20, 7.25)
    with pytest.raises(FlatBaselineError, match=r"flat at 7\.25"):
        fit_limits(statistics_from_samples(ChartKind.I_MR, flat, np.arange(20)))
    with pytest.raises(FlatBaselineError):
        fit_limits(statistics_from_samples(ChartKind.XBAR_R, flat, by_count(flat, 5)))
    with pytest.raises(FlatBaselineError):  # zero defects: p-bar 0
        fit_limits(attribute_statistics(ChartKind.P, np.zeros(10), np.full(10, 50.0)))


def test_short_or_empty_baseline_is_refused() -> None:
    empty = statistics_from_samples(ChartKind.I_MR, np.empty(0), np.empty(0, dtype=np.intp))
    assert len(empty) == 0
    with pytest.raises(BaselineError, match="0 usable"):
        fit_limits(empty)
    with pytest.raises(ValueError, match="sigma > 0"):
        ControlLimits(chart=ChartKind.C, center=1.0, sigma=float("nan"), subgroups=3)


def test_rolling_limits_use_only_earlier_subgroups_and_report_flat_windows() -> None:
    x = np.array([1.0, 2, 1, 2, 1, 2, 5, 5, 5, 5, 5, 9])
    roll = rolling_limits(statistics_from_samples(ChartKind.I_MR, x, np.arange(len(x))), 4)
    assert np.isnan(roll.center[:4]).all()
    assert roll.center[4] == pytest.approx(1.5) and roll.sigma[4] == pytest.approx(1 / 1.128)
    assert roll.flat[11] and np.isnan(roll.sigma[11])  # 5, 5, 5, 5 before it
    assert not roll.flat[:10].any()
