"""The analytics API against a real server fed crafted batches: an SPC chart with its limits
and a violation, a frozen baseline, a spindle that learns and then raises an anomaly with
evidence; 404s that say why, and authentication."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from plantos.analytics.anomaly.events import AnomalyRaised
from plantos.api import judgements
from plantos.app import Platform, Settings
from plantos.core.batch import SampleBatch
from tests.support.server import RunningServer, running_server, wait_until

NS = 1_000_000_000
MILL = "site-1/machining/line-1/mill-1"
OVEN = "site-1/machining/line-1/oven-1"
TEMP = f"{OVEN}/temperature"
PRESSURE = f"{OVEN}/pressure"
HUMIDITY = f"{OVEN}/humidity"
SNAPSHOT = 256
RATE_HZ = 10_000.0
HEALTHY_SNAPSHOTS = 60
SICK_SNAPSHOTS = 10
SHIFT_AT = 80  # the temperature point from which the process runs 15 degC hot


def plant_yaml(now_ns: int) -> str:
    """The plant: a mill whose spindle is watched and an oven with SPC on two of its tags;
    the pressure baseline is the hour that ended three hours before ``now_ns``."""
    base_to = datetime.fromtimestamp(now_ns // NS - 3 * 3600, tz=UTC)
    base_from = datetime.fromtimestamp(now_ns // NS - 4 * 3600, tz=UTC)
    return f"""\
plantos: 1
enterprise: {{id: testco, name: Test Co}}
asset_types:
  mill:
    tags:
      - {{signal: spindle_vibration, unit: mm/s, range: [0, 40], sampling: 1s}}
      - {{signal: spindle_vibration_waveform, unit: m/s^2, range: [-200, 200], sampling: 100us,
         waveform: {{rate_hz: {RATE_HZ}, samples: {SNAPSHOT}, every: 5m}}}}
      - {{signal: spindle_speed, unit: rpm, range: [0, 15000], sampling: 1s}}
  oven:
    tags:
      - {{signal: temperature, unit: degC, range: [0, 1000], sampling: 1m}}
      - {{signal: pressure, unit: bar, range: [0, 10], sampling: 1m}}
      - {{signal: humidity, unit: percent, range: [0, 100], sampling: 1m}}
sites:
  - id: site-1
    areas:
      - id: machining
        lines:
          - id: line-1
            assets:
              - {{id: mill-1, name: Mill 1, type: mill}}
              - {{id: oven-1, name: Oven 1, type: oven}}
analytics:
  spc:
    - {{tag: {TEMP}, chart: i-mr, subgroup_size: 1, limits: {{rolling: 20}}, rules: [1, 2, 5],
       spec_limits: {{lsl: 840, usl: 880, target: 860}}}}
    - tag: {PRESSURE}
      chart: xbar-r
      subgroup_size: 5
      spec_limits: {{lsl: 4.0, usl: 6.0}}
      limits:
        baseline:
          {{from: "{base_from.isoformat()}", to: "{base_to.isoformat()}", frozen_by: qa.lead}}
  spindles:
    - {{asset_type: mill, waveform: spindle_vibration_waveform, speed: spindle_speed,
       velocity_rms: spindle_vibration}}
"""


def snapshot(
    start_ns: int, rng: np.random.Generator, *, sick: bool, ids: dict[str, int]
) -> SampleBatch:
    """One vibration burst at 12,000 rpm with its speed and 1 s RMS around it (they run on
    after a burst, and a burst is judged once they have); a sick spindle rings at 3 kHz (a
    bearing defect's resonance) and vibrates harder."""
    t = np.arange(SNAPSHOT) / RATE_HZ
    wave = np.sin(2 * np.pi * 200 * t) + rng.normal(0, 0.3, SNAPSHOT)
    rms = 1.5 + rng.normal(0, 0.05)
    if sick:
        wave += 4.0 * np.sin(2 * np.pi * 3000 * t)
        rms += 5.0
    slow_ts = start_ns + np.array([-3, -2, -1, 1, 2], dtype=np.int64) * NS
    columns = [
        (ids[f"{MILL}/spindle_vibration_waveform"], start_ns + (t * NS).astype(np.int64), wave),
        (ids[f"{MILL}/spindle_speed"], slow_ts, np.full(5, 12_000.0)),
        (ids[f"{MILL}/spindle_vibration"], slow_ts, np.full(5, rms)),
    ]
    return SampleBatch.concat([SampleBatch.of(np.full(len(ts), i), ts, v) for i, ts, v in columns])


def oven_batch(now_ns: int, ids: dict[str, int], rng: np.random.Generator) -> SampleBatch:
    """100 temperatures at 1 min ending now (hot from point ``SHIFT_AT``: rule 1 fires) and
    five hours of pressure at 1 min (subgroups of 5), steady round 5 bar."""
    ts = now_ns - np.arange(100, 0, -1, dtype=np.int64) * 60 * NS
    temp = 860 + rng.normal(0, 2.0, 100)
    temp[SHIFT_AT:] += 15.0
    p_ts = now_ns - np.arange(300, 0, -1, dtype=np.int64) * 60 * NS
    pressure = 5.0 + rng.normal(0, 0.1, 300)
    return SampleBatch.concat(
        [
            SampleBatch.of(np.full(100, ids[TEMP]), ts, temp),
            SampleBatch.of(np.full(300, ids[PRESSURE]), p_ts, pressure),
        ]
    )


def feed_judged(platform: Platform, call: Any, now_ns: int) -> None:
    """The oven's hours first (a baseline whose end passes without its points is refused),
    then healthy snapshots (one batch: the spindle learns from them), then sick ones a batch
    each; returns once the stage has judged them all and the historian holds them."""
    rng = np.random.default_rng(7)
    ids = platform.tag_ids
    first = now_ns - (HEALTHY_SNAPSHOTS + SICK_SNAPSHOTS + 1) * 300 * NS
    healthy = [
        snapshot(first + k * 300 * NS, rng, sick=False, ids=ids) for k in range(HEALTHY_SNAPSHOTS)
    ]
    batches = [oven_batch(now_ns, ids, rng), SampleBatch.concat(healthy)]
    for k in range(HEALTHY_SNAPSHOTS, HEALTHY_SNAPSHOTS + SICK_SNAPSHOTS):
        batches.append(snapshot(first + k * 300 * NS, rng, sick=True, ids=ids))
    done, acked = platform.analytics.batches, platform.writer.acked_rows
    for batch in batches:
        call(platform.ingest(batch, source="test"))
    wait_until(lambda: platform.analytics.batches >= done + len(batches), "the analytics stage")
    rows = acked + sum(len(b) for b in batches)
    wait_until(lambda: platform.writer.acked_rows >= rows, "the historian commit")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    now = time.time_ns()
    with running_server(tmp_path_factory.mktemp("judged"), plant_yaml(now)) as running:
        feed_judged(running.platform, running.call, now)
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.admin_token}"}, timeout=30
    ) as c:
        yield c


def test_the_list_names_every_characteristic_with_its_limits(client: httpx.Client) -> None:
    body = client.get("/api/v1/spc").json()
    by_tag = {c["tag"]: c for c in body["characteristics"]}
    assert list(by_tag) == [TEMP, PRESSURE]
    temp = by_tag[TEMP]
    assert (temp["chart"], temp["statistic"], temp["dispersion_statistic"]) == ("i-mr", "x", "mr")
    assert [r["rule"] for r in temp["rules"] if r["statistic"] == "location"] == [1, 2, 5]
    assert temp["limits"] == {"mode": "rolling", "subgroups": 20, "nsigmas": 3.0}
    assert temp["counters"]["plotted"] == 100 and temp["counters"]["violations"] >= 1
    assert by_tag[PRESSURE]["limits"]["frozen_by"] == "qa.lead"


def test_a_rolling_chart_has_lines_per_point_and_its_violation(client: httpx.Client) -> None:
    body = client.get(f"/api/v1/spc/{TEMP}", params={"points": 100}).json()
    points = body["points"]
    loc = points["location"]
    assert len(points["t_ms"]) == len(loc["value"]) == len(loc["ucl"]) == 100
    assert loc["center"][:20] == [None] * 20  # rolling: no limits before 20 points
    assert all(v is not None for v in loc["ucl"][20:])
    assert all(lo < hi for lo, hi in zip(loc["lcl"][20:], loc["ucl"][20:], strict=True))
    shift_ms = points["t_ms"][SHIFT_AT]
    at_shift = [v for v in body["violations"] if v["t_ms"] == shift_ms and v["statistic"] == "x"]
    rule1 = next(v for v in at_shift if v["rule"] == 1)
    assert rule1["points_t_ms"] == [shift_ms] and rule1["points_value"][0] > rule1["ucl"]
    assert rule1["text"] == "a point beyond a control limit"
    assert points["dispersion"]["name"] == "mr" and len(points["dispersion"]["value"]) == 100
    cap = body["capability"]
    assert cap["basis"] == "plotted individuals" and cap["samples"] == 100
    assert cap["cp"] is not None and cap["ppk"] is not None and cap["ppk"] < cap["pp"]


def test_a_frozen_baseline_says_who_froze_it_and_judges_with_flat_lines(
    client: httpx.Client,
) -> None:
    body = client.get(f"/api/v1/spc/{PRESSURE}").json()
    limits = body["limits"]
    assert limits["mode"] == "frozen" and limits["frozen_by"] == "qa.lead"
    assert limits["frozen_at"] is not None and limits["subgroups"] == 12  # 1 h of 5-min groups
    loc = body["points"]["location"]
    assert len(body["points"]["t_ms"]) == 60  # 5 h of 5-min subgroups
    assert loc["center"][:12] == [None] * 12  # the hour before the baseline is never judged
    assert loc["center"][12:] == [pytest.approx(limits["center"])] * 48
    assert body["points"]["dispersion"]["name"] == "r"
    assert body["capability"]["basis"] == "raw samples" and body["capability"]["samples"] >= 240


def test_the_health_of_a_spindle_with_an_anomaly_and_its_evidence(
    client: httpx.Client, server: RunningServer
) -> None:
    body = client.get(f"/api/v1/assets/{MILL}/health").json()
    assert body["status"] == "trained" and body["rows_seen"] == HEALTHY_SNAPSHOTS + SICK_SNAPSHOTS
    assert body["features"][-1] == "velocity_rms" and len(body["features"]) > 2
    scores = body["scores"]
    # one operating state, learned from its first snapshots: every later one is scored
    judged = HEALTHY_SNAPSHOTS + SICK_SNAPSHOTS - body["training_rows"]
    assert len(scores["t_ms"]) == len(scores["score"]) == len(scores["flag"]) == judged
    assert scores["flag"][-1] and body["latest"]["flag"]
    assert body["latest"]["score"] > body["thresholds"]["raise_at"]
    # 6.5 mm/s: zone D of the default group-2-rigid boundaries, so the anomaly is critical
    assert body["thresholds"]["velocity_zones_mm_s"] == {"a_b": 1.4, "b_c": 2.8, "c_d": 4.5}
    assert body["latest"]["velocity_mm_s"] == pytest.approx(6.5, abs=0.3)
    assert (body["latest"]["zone"], body["latest"]["severity"]) == ("D", "critical")
    anomaly = body["anomaly"]
    assert anomaly["active"] and anomaly["cleared"] is None
    assert anomaly["raised"]["severity"] == "critical"
    assert anomaly["raised"]["time_to_threshold_s"] == 0.0 and anomaly["escalated"] is None
    raised = next(e for e in server.platform.judgements if isinstance(e, AnomalyRaised))
    assert anomaly["raised"]["score"] == raised.score
    assert [e["feature"] for e in anomaly["raised"]["evidence"]] == [
        e.feature for e in raised.evidence
    ]
    assert body["alarm"]["active"] and body["alarm"]["alarm_id"] == f"{MILL}/anomaly"


@pytest.mark.parametrize(
    ("url", "title", "detail"),
    [
        (f"/api/v1/spc/{OVEN}/temperatur", "Unknown tag", "no tag"),
        (f"/api/v1/spc/{HUMIDITY}", "Not analysed", "has no SPC characteristic"),
        (f"/api/v1/assets/{OVEN}/health", "Not analysed", "has no spindle watch"),
        ("/api/v1/assets/site-1/nowhere/health", "Unknown tag", "no asset"),
    ],
)
def test_what_is_not_judged_is_a_404_with_the_reason(
    client: httpx.Client, url: str, title: str, detail: str
) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == title and detail in response.json()["detail"]


@pytest.mark.parametrize(
    "url", ["/api/v1/spc", f"/api/v1/spc/{TEMP}", f"/api/v1/assets/{MILL}/health"]
)
def test_every_route_needs_a_token(server: RunningServer, url: str) -> None:
    response = httpx.get(server.url + url, timeout=10)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_learning_spindle_says_how_far_it_got(tmp_path: Path) -> None:
    """A fresh platform: a few snapshots are not a healthy period yet."""
    now = time.time_ns()
    config = tmp_path / "plantos.yaml"
    config.write_text(plant_yaml(now))
    platform = Platform(Settings(config=config, data_dir=tmp_path / "data"))
    rng = np.random.default_rng(1)
    for k in range(5):
        platform.analytics.judge(
            snapshot(now - (10 - k) * 300 * NS, rng, sick=False, ids=platform.tag_ids)
        )
    watch = judgements.watch_of(platform, MILL)
    assert (watch.trained, watch.rows_seen, watch.rows_at_speed) == (False, 5, 5)
    assert not watch.scores
    platform.historian.close()
