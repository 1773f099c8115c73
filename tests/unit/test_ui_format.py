"""What pages show people: plant time with its zone, counters with units and precision,
feature names readable, the newest anomaly judgement per asset."""

from __future__ import annotations

from pathlib import Path

from plantos.analytics.anomaly.events import AnomalyEscalated, AnomalyRaised, Evidence
from plantos.model import load_plant
from plantos.ui.counters import counter, number_text
from plantos.ui.findings import feature_label, latest_findings
from plantos.ui.timefmt import human_time, parse_iso_ns, zone_of

NS = 1_000_000_000
PLANT = Path(__file__).resolve().parents[2] / "examples" / "demo-plant" / "plantos.yaml"
JAN_5_0600_UTC = 1_767_592_800 * NS


def test_times_show_in_the_zone_of_the_site() -> None:
    plant = load_plant(PLANT)
    berlin = zone_of(plant, "plant-a/machining/line-1/cnc-07")
    chicago = zone_of(plant, "plant-b/machining/line-1/cnc-01/spindle_speed")
    assert human_time(JAN_5_0600_UTC, berlin) == "2026-01-05 07:00:00 CET"
    assert human_time(JAN_5_0600_UTC, chicago) == "2026-01-05 00:00:00 CST"
    assert zone_of(plant).key == "Europe/Berlin"  # the enterprise: its first site
    assert human_time(None, berlin) == ""
    assert parse_iso_ns("2026-01-05T06:00:00.000Z") == JAN_5_0600_UTC


def test_counters_carry_their_unit_and_three_significant_digits() -> None:
    assert counter("last_poll_ms", 0.7466639999620384) == ("last poll", "0.747 ms")
    assert counter("handling_seconds", 12.3456) == ("handling", "12.3 s")
    assert counter("samples_per_s", 13026.2) == ("samples", "13,026/s")
    assert counter("dropped_notifications", 0) == ("dropped notifications", "0")
    assert counter("last_error", None) == ("last error", "\u2014")
    assert number_text(431133) == "431,133" and number_text(True) == "yes"


def test_the_newest_judgement_of_each_asset_explains_its_alarm() -> None:
    evidence = (Evidence("band_2500_3500hz", 0.29, 0.07, 40.0), Evidence("peak", 9.2, 5.8, 7.0))
    raised = AnomalyRaised(
        ts_ns=1,
        subject="a/b/c/m1",
        score=54.0,
        severity="warning",
        evidence=evidence,
        time_to_threshold_s=3600.0,
        detector="spindle",
    )
    worse = AnomalyEscalated(
        ts_ns=2,
        subject="a/b/c/m1",
        score=90.0,
        severity="alarm",
        previous="warning",
        evidence=evidence[:1],
        detector="spindle",
    )
    found = latest_findings([raised, worse])["a/b/c/m1"]
    assert (found["severity"], found["score"]) == ("alarm", 90.0)
    assert found["evidence"] == [
        {"feature": "band 2500\u20133500 Hz", "value": 0.29, "healthy": 0.07}
    ]
    assert feature_label("velocity_rms") == "velocity rms"
