"""Anomaly detection quality: NAB's labelled series and the demo plant's bearing wear.

Two sections of docs/benchmarks.md. (1) NAB: every series is run through the
code path of ``plantos analytics detect`` with the default slow-signal preset;
per series the labelled windows hit, alert runs outside windows, precision,
recall, F1, detection delay and the NAB standard-profile score. (2) The demo
plant: the simulated CNCs streamed batch by batch through the vibration
preset, one bearing-wear scenario per seed; lead time before functional
failure and false alarms per machine-day on the healthy machines.

Run: ``python bench/anomaly_quality.py`` (``--quick``: 3 seeds, no doc update).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
from typing import Any

import numpy as np
from common import REPO, machine_line, markdown_table, print_table, publish

from plantos.analytics.anomaly import offline
from plantos.analytics.anomaly.calibration import chi2_per_dof_quantile
from plantos.analytics.anomaly.events import AnomalyEscalated, AnomalyRaised
from plantos.analytics.anomaly.features import SLOW_FEATURES
from plantos.analytics.anomaly.presets import SLOW, VIBRATION
from plantos.analytics.anomaly.profile import MIN_TRAINING_DAYS
from plantos.analytics.anomaly.spindle import SpindleTags
from plantos.analytics.anomaly.zones import GROUP2_RIGID
from plantos.analytics.spindles import SpindleWatch
from plantos.core.timeparse import parse_time_ns
from plantos.demo.simulator import Simulator, parse_scenario
from plantos.model.loader import load_plant
from plantos.model.plant import Plant

NAB = REPO.parent / "shared" / "data" / "anomaly" / "nab"
FOLDERS = ("artificialNoAnomaly", "artificialWithAnomaly", "realKnownCause")
MACHINE_TEMPERATURE = "realKnownCause/machine_temperature_system_failure.csv"
NS, HOUR_NS = 1_000_000_000, 3_600_000_000_000
TP_W, FN_W, FP_W = 1.0, 1.0, 0.11  # NAB standard profile (config_profiles.json)


def sigmoid(x: float) -> float:
    """NAB's scaled sigmoid: about 1 at a window's start, 0 at its end, towards -1 after it."""
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def nab_score(detections: list[int], windows: list[tuple[int, int]], n: int) -> float:
    """NAB standard-profile raw score of one file from detection rows and window row spans."""
    probation = min(math.floor(0.15 * n), 750)
    score, hit = 0.0, [False] * len(windows)
    for i in (d for d in detections if d >= probation):
        inside = [w for w, (a, b) in enumerate(windows) if a <= i <= b]
        if inside:
            w = inside[0]
            a, b = windows[w]
            if not hit[w]:
                hit[w] = True
                score += TP_W * sigmoid(-(b - i + 1) / (b - a + 1))
            continue
        before = [(a, b) for a, b in windows if b < i]
        if before:
            a, b = before[-1]
            score += FP_W * sigmoid((i - b) / (b - a + 1))
        else:
            score -= FP_W
    return score - FN_W * hit.count(False)


def nab_series(key: str, windows_text: list[list[str]], per: int | None = None) -> dict[str, Any]:
    """One series with the defaults, or with a window of its training rows / ``per``."""
    path = NAB / "data" / key
    fraction = 0.07 if key == MACHINE_TEMPERATURE else 0.15
    table = offline.read_table(path, "timestamp")
    train = offline.train_rows_for(table.ts_ns, train_until_ns=None, train_fraction=fraction)
    preset = SLOW if per is None else dataclasses.replace(SLOW, windows_per_training=per)
    try:
        result = offline.detect(table, train_rows=train, preset=preset, subject=path.stem)
    except ValueError as exc:  # the window is longer than this series' training: not judged
        flags, raise_at, notes = np.zeros(len(table.ts_ns), np.int8), None, [str(exc)]
    else:
        flags, raise_at, notes = result.flags.astype(np.int8), result.policy.raise_at, result.notes
    ts = table.ts_ns
    spans = [
        (offline.parse_timestamp_ns(a), offline.parse_timestamp_ns(b)) for a, b in windows_text
    ]
    rows = [
        (int(np.searchsorted(ts, a)), int(np.searchsorted(ts, b, side="right")) - 1)
        for a, b in spans
    ]
    onsets = np.flatnonzero(np.diff(flags, prepend=0) == 1).tolist()
    inside = [i for i in onsets if any(a <= ts[i] <= b for a, b in spans)]
    delays = []
    for a, b in spans:
        first = [i for i in onsets if a <= ts[i] <= b] or [
            i for i in np.flatnonzero(flags).tolist() if a <= ts[i] <= b
        ]
        delays.append((ts[first[0]] - a) / HOUR_NS if first else None)
    hits = sum(d is not None for d in delays)
    false_runs = len(onsets) - len(inside)
    recall = hits / len(spans) if spans else None
    precision = len(inside) / len(onsets) if onsets else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall and precision + recall > 0
        else None
    )
    command = (
        f"plantos analytics detect --input ../shared/data/anomaly/nab/data/{key} "
        f"--time-column timestamp --train-fraction {fraction} --output scores.csv"
    )
    return {
        "key": key,
        "windows": len(spans),
        "hits": hits,
        "false_runs": false_runs,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "delay_h": delays,
        "raise_at": raise_at,
        "judged": raise_at is not None,
        "nab_raw": nab_score(onsets, rows, len(ts)),
        "notes": notes,
        "command": command,
    }


def _f(x: object, digits: int = 2) -> str:
    return "\u2013" if x is None else f"{x:.{digits}f}"


GRID_PER = (3, 5, 10, 20, 40)
SELECTION = ("artificialNoAnomaly", "artificialWithAnomaly")
"""NAB's artificial series: the declared selection set (labels may choose settings here)."""
EVALUATION = ("realKnownCause",)
"""NAB's real-world series: the declared evaluation set (reported, never chosen on)."""


def nab_run(labels: dict[str, list[list[str]]], per: int | None) -> dict[str, Any]:
    """Every series with ``per`` windows per training span (None: the default), and the
    totals of the selection and the evaluation set."""
    keys = [k for k in labels if k.split("/")[0] in FOLDERS and (NAB / "data" / k).exists()]
    results = [nab_series(k, labels[k], per) for k in keys]
    out: dict[str, Any] = {"per": per or SLOW.windows_per_training, "results": results}
    for name, folders in (("selection", SELECTION), ("evaluation", EVALUATION)):
        part = [r for r in results if r["key"].split("/")[0] in folders]
        windows = sum(int(r["windows"]) for r in part)
        raw = sum(float(r["nab_raw"]) for r in part)
        null, perfect = -FN_W * windows, TP_W * sigmoid(-1.0) * windows
        out[name] = {
            "windows": windows,
            "hits": sum(int(r["hits"]) for r in part),
            "false_runs": sum(int(r["false_runs"]) for r in part),
            "quiet_alerts": sum(
                int(r["false_runs"]) for r in part if r["key"].startswith("artificialNoAnomaly")
            ),
            "normalised": 100 * (raw - null) / (perfect - null) if windows else 0.0,
            "unjudged": sum(not r["judged"] for r in part),
        }
    machine = next(r for r in results if r["key"] == MACHINE_TEMPERATURE)
    out["machine"] = f"{machine['hits']}/{machine['windows']}, {machine['false_runs']}"
    return out


def grid_choice(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The rule, on the selection set only: no alert on a series without anomalies, then the
    most windows hit, then the fewest alerts outside windows, then the higher NAB score."""
    sel = [r["selection"] for r in runs]
    quiet = [r for r, s in zip(runs, sel, strict=True) if s["quiet_alerts"] == 0] or runs
    return max(
        quiet,
        key=lambda r: (
            r["selection"]["hits"],
            -r["selection"]["false_runs"],
            r["selection"]["normalised"],
        ),
    )


def _series_row(r: dict[str, Any]) -> list[str]:
    delays = r["delay_h"]
    return [
        str(r["key"]),
        f"{r['hits']}/{r['windows']}",
        str(r["false_runs"]),
        _f(r["precision"]),
        _f(r["recall"]),
        _f(r["f1"]),
        ", ".join("miss" if d is None else f"{d:.1f}" for d in delays) or "\u2013",
        _f(r["raise_at"], 1),
        _f(r["nab_raw"]),
    ]


def nab_section() -> tuple[str, list[list[str]]]:
    labels = json.loads((NAB / "labels" / "combined_windows.json").read_text())
    runs = [nab_run(labels, per) for per in GRID_PER]
    chosen = grid_choice(runs)
    default_per = SLOW.windows_per_training
    default = next((r for r in runs if r["per"] == default_per), None) or nab_run(labels, None)
    results = default["results"]
    rows = [_series_row(r) for r in results]
    evaluation = [
        row for row, r in zip(rows, results, strict=True) if r["key"].startswith(EVALUATION)
    ]
    selection = [
        row for row, r in zip(rows, results, strict=True) if not r["key"].startswith(EVALUATION)
    ]
    grid_rows = [
        [
            f"{r['per']}" + (" (default)" if r["per"] == default_per else ""),
            f"{r['selection']['hits']}/{r['selection']['windows']}",
            str(r["selection"]["false_runs"]),
            str(r["selection"]["quiet_alerts"]),
            f"{r['evaluation']['hits']}/{r['evaluation']['windows']}",
            str(r["evaluation"]["false_runs"]),
            r["machine"],
            f"{r['evaluation']['normalised']:.1f}",
        ]
        for r in runs
    ]
    agrees = (
        f"The rule picks {chosen['per']}, the default."
        if chosen["per"] == default_per
        else f"**The rule now picks {chosen['per']}, not the default {default_per}.**"
    )
    cal = SLOW.calibration
    assert cal is not None
    floor = chi2_per_dof_quantile(cal.floor_quantile, len(SLOW_FEATURES))
    header = [
        "series",
        "windows hit",
        "false runs",
        "precision",
        "recall",
        "F1",
        "delay h per window",
        "raise at",
        "NAB raw",
    ]
    grid_header = [
        "windows per training span",
        "selection: windows hit",
        "selection: false runs",
        "selection: alerts on no-anomaly series",
        "evaluation: windows hit",
        "evaluation: false runs",
        "machine_temperature hit, false",
        "evaluation: NAB normalised",
    ]
    ev = default["evaluation"]
    md = [
        "## Anomaly detection on NAB (labelled public data)",
        "",
        machine_line(),
        "",
        "Every series runs through the code path of `plantos analytics detect` with its",
        "defaults (one column: the slow-signal preset), the same for every series.",
        "",
        "**Selection and evaluation sets.** NAB's artificial series (`artificialNoAnomaly`,",
        "`artificialWithAnomaly`, 11 series) are the *selection set*: the one setting that",
        "labels chose, how many feature windows the training rows must hold (the window is",
        "the training rows divided by it), is chosen there (the multichannel preset's own",
        "on the Tennessee Eastman training runs). NAB's real-world series (`realKnownCause`, 7",
        "series, 19 windows) are the *evaluation set*: reported, never chosen on. The rule",
        "on the selection set: no alert on a series without anomalies, then the most",
        "windows hit, then the fewest alert runs outside windows, then the higher NAB score.",
        f"{agrees}",
        "",
        markdown_table(grid_header, grid_rows, "lrrrrrrr"),
        "",
        f"On the evaluation set with the defaults: **{ev['hits']}/{ev['windows']} windows hit,",
        f"{ev['false_runs']} alert runs outside them, NAB normalised {ev['normalised']:.1f}**.",
        "Until this section was rewritten, the slow-signal preset had a fixed 16 h window",
        "picked by the same rule over all 18 series, evaluation series included; it hit",
        "12 of these 19 windows with 5 false runs, figures that were not out-of-sample.",
        "",
        "Fixed without labels: the features' window holds at least",
        f"{SLOW.min_window_rows} samples, EWMA weight 2 / (window rows + 1), an alarm must",
        "last a quarter of the window. Calibrated per series from its training rows only:",
        f"they are cut into {cal.folds} consecutive blocks, each is scored (smoothed, as in",
        "operation) by a detector fitted on the others, and the raise threshold is",
        f"{cal.margin:g} x the {100 * cal.quantile:g}th percentile of those held-out scores,",
        f"but at least the {100 * cal.floor_quantile:g}% point of chi-square(k)/k",
        f"({floor:.2f} for the k = {len(SLOW_FEATURES)} features); the clear threshold is",
        f"{cal.clear_fraction:g} of it. *raise at* is the result per series. A series with at",
        f"least {MIN_TRAINING_DAYS} days of training whose daily profile explains at least",
        f"{SLOW.daily_profile_min_explained:.0%} of the variance of its second training half,",
        "learned from the first half, is judged as its residual from that profile.",
        "",
        "Training: the first 7% of machine_temperature (it ends before the first window), the",
        "first 15% (NAB's probationary period) of every other series; the training rows are not",
        "scored. An *alert* is the row where an alarm is raised; a *false run* is an alert",
        "outside every labelled window. Precision = alerts inside windows / all alerts; recall =",
        "windows with an alert / windows; delay = hours from the window's start to its first",
        "alert, or 0 when an alarm raised before the window is still on at its start (*miss*:",
        "none in that window). NAB raw is the standard-profile score (TP 1, FN 1, FP 0.11,",
        "scaled sigmoid, probationary 15%) with our alerts as NAB's detections (NAB counts",
        "every flagged row; we count alarm onsets, the thing that would open a work order).",
        "",
        "Evaluation set, defaults:",
        "",
        markdown_table(header, evaluation, "lrrrrrrrr"),
        "",
        "Selection set, defaults:",
        "",
        markdown_table(header, selection, "lrrrrrrrr"),
        "",
        "What it cannot do: a daily-periodic series with fewer than",
        f"{MIN_TRAINING_DAYS} training days has no daily profile, and its level and slope",
        "follow the phase of the cycle, so its thresholds run into the thousands (the art_daily",
        "series); an anomaly that is a change of timing rather than of level (nyc_taxi's",
        "holidays) is mostly missed. The NAB normalised score is not comparable with the NAB",
        "scoreboard, which normalises over all 58 files and chooses each detector's",
        "threshold on the whole corpus.",
        "",
        "Command per series, e.g. machine_temperature:",
        "",
        "```",
        str(next(r["command"] for r in results if r["key"] == MACHINE_TEMPERATURE)),
        "```",
        "",
        "The others: the same with `--input` changed and `--train-fraction 0.15`.",
    ]
    return "\n".join(md), rows


def _cnc_tags(plant: Plant) -> tuple[list[str], dict[str, int], dict[str, SpindleTags]]:
    """The CNCs, the ids of the three spindle tags each (only those are simulated), their tags."""
    cncs = [a for a, d in plant.assets.items() if d.simulator.get("model") == "cnc-mill"]
    wanted = ("spindle_vibration_waveform", "spindle_speed", "spindle_vibration")
    ids = {f"{c}/{s}": i for i, (c, s) in enumerate((c, s) for c in cncs for s in wanted)}
    tags = {}
    for c in cncs:
        wf = plant.tags[f"{c}/{wanted[0]}"].waveform
        if wf is None:
            raise ValueError(f"{c} has no waveform definition")
        tags[c] = SpindleTags(
            waveform=ids[f"{c}/{wanted[0]}"],
            speed=ids[f"{c}/{wanted[1]}"],
            velocity_rms=ids[f"{c}/{wanted[2]}"],
            rate_hz=wf.rate_hz,
            samples=wf.samples,
        )
    return cncs, ids, tags


def _short(asset: str) -> str:
    """``plant-a/machining/line-1/cnc-07`` as ``plant-a/cnc-07``."""
    return f"{asset.split('/')[0]}/{asset.rsplit('/', 1)[-1]}"


def _hours_s(seconds: float | None) -> float | None:
    return seconds / 3600 if seconds is not None else None


def demo_seed(seed: int, *, onset_h: int, hours: int) -> dict[str, Any]:
    """One run: every CNC streamed in 5-minute batches for ``hours``; bearing wear on one.

    No fixed training span: each monitor learns every operating state from its
    first ``VIBRATION.learn_rows`` snapshots in that state, whenever the machine
    runs. The wear starts at ``onset_h`` (the second simulated day, so that the
    two-shift plant has run before) and reaches functional failure 12 h later.
    False alarms: every alarm of a healthy machine, and of the failing one
    before onset. Each CNC runs through a :class:`SpindleWatch` as in the platform
    (severity from the ISO velocity zones); the failing spindle's running velocity
    snapshots are kept to say when it really reached zone D.
    """
    plant = load_plant(REPO / "examples" / "demo-plant" / "plantos.yaml")
    cncs, ids, tags = _cnc_tags(plant)
    failing = cncs[seed % len(cncs)]
    start = parse_time_ns("2026-01-05T05:00:00Z", now_ns=0)
    scenario = parse_scenario(f"bearing-wear:{failing}:{onset_h}h:12h", plant)
    sim = Simulator(plant, ids, seed=seed, start_ns=start, scenarios=[scenario])
    truth = sim.ground_truth()[0]
    watches = {c: SpindleWatch(c, tags[c]) for c in cncs}
    raised: dict[str, list[AnomalyRaised]] = {c: [] for c in cncs}
    graded: list[AnomalyRaised | AnomalyEscalated] = []
    velocity: list[tuple[int, float]] = []
    step = 300 * NS
    for until in range(start + step, start + hours * HOUR_NS + 1, step):
        batch, _ = sim.step(until)
        for c in cncs:
            frame = watches[c].features.update(batch)
            events = watches[c].judge_rows(frame)
            raised[c] += [e for e in events if isinstance(e, AnomalyRaised)]
            if c == failing:
                graded += [e for e in events if isinstance(e, AnomalyRaised | AnomalyEscalated)]
                run = frame.state != 0
                v = frame.values[run, frame.names.index("velocity_rms")]
                velocity += zip(frame.ts_ns[run].tolist(), v.tolist(), strict=True)
    onset_ns, failure_ns = int(truth["onset_ns"]), int(truth["functional_failure_ns"])
    during = [e for e in raised[failing] if onset_ns <= e.ts_ns <= failure_ns]
    first = during[0] if during else None
    healthy = [c for c in cncs if c != failing]
    watched = watches[failing].monitor
    zone_d = watches[failing].severity.zones.c_d
    d_ns = next((t for t, v in velocity if t >= onset_ns and v >= zone_d), None)
    critical = next(
        (
            e.ts_ns
            for e in graded
            if first and first.ts_ns <= e.ts_ns <= failure_ns and e.severity == "critical"
        ),
        None,
    )
    to_c = next(
        (e for e in graded if first and e.ts_ns >= first.ts_ns and e.severity == "alarm"), None
    )
    learned = sorted(watched.learned_ns.values())
    running = sorted(t for state, t in watched.learned_ns.items() if state > 0)
    false = [e for c in healthy for e in raised[c]] + [
        e for e in raised[failing] if e.ts_ns < onset_ns
    ]
    return {
        "seed": seed,
        "failing": _short(failing),
        "states": len(learned),
        "first_running_h": (running[0] - start) / HOUR_NS if running else None,
        "after_onset": sum(t > onset_ns for t in learned),
        "lead_h": (failure_ns - first.ts_ns) / HOUR_NS if first else None,
        "severity": first.severity if first else None,
        "est_d_h": _hours_s(first.time_to_threshold_s if first else None),
        "span_d_h": _span_h(first),
        "span_d_at_c_h": _span_h(to_c),
        "actual_d_h": (d_ns - first.ts_ns) / HOUR_NS if first and d_ns is not None else None,
        "critical_h": (critical - first.ts_ns) / HOUR_NS if first and critical else None,
        "est_d_at_c_h": _hours_s(to_c.time_to_threshold_s if to_c else None),
        "actual_d_at_c_h": (d_ns - to_c.ts_ns) / HOUR_NS if to_c and d_ns is not None else None,
        "evidence": [ev.feature for ev in first.evidence] if first else [],
        "false_alarms": len(false),
        "false_at": [f"{_short(e.subject)} at {(e.ts_ns - start) / HOUR_NS:.1f} h" for e in false],
        "machine_days": (len(healthy) * hours + onset_h) / 24.0,
        "untrained": sum(watched.learning.values()),
    }


def _span_h(e: AnomalyRaised | AnomalyEscalated | None) -> tuple[float, float] | None:
    """An event's interval of the time to zone D in hours (inf: open), None without one."""
    if e is None or e.time_to_threshold_s is None or e.time_to_threshold_low_s is None:
        return None
    high = e.time_to_threshold_high_s
    return e.time_to_threshold_low_s / 3600, math.inf if high is None else high / 3600


def _covered(runs: list[dict[str, Any]], span: str, actual: str) -> tuple[int, int]:
    """Runs whose interval holds the actual time, of the runs with both."""
    both = [r for r in runs if r[span] is not None and r[actual] is not None]
    return sum(r[span][0] <= r[actual] <= r[span][1] for r in both), len(both)


def _interval(span: tuple[float, float] | None) -> str:
    if span is None:
        return "\u2013"
    return f"{span[0]:.1f}-{'open' if math.isinf(span[1]) else f'{span[1]:.1f}'}"


def _median(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f}" if xs else "\u2013"


def _ratios(runs: list[dict[str, Any]], estimate: str, actual: str) -> list[float]:
    """Estimate over actual hours, where both exist and the actual is positive."""
    return [
        r[estimate] / r[actual]
        for r in runs
        if r[estimate] is not None and r[actual] is not None and r[actual] > 0
    ]


def demo_section(seeds: int) -> str:
    onset_h, hours = 30, 48
    runs = [demo_seed(s, onset_h=onset_h, hours=hours) for s in range(seeds)]
    rows = [
        [
            r["seed"],
            r["failing"],
            r["states"],
            _f(r["first_running_h"], 1),
            r["after_onset"],
            _f(r["lead_h"], 1),
            r["severity"] or "\u2013",
            _f(r["est_d_h"], 1),
            _interval(r["span_d_h"]),
            _f(r["actual_d_h"], 1),
            _f(r["est_d_at_c_h"], 1),
            _interval(r["span_d_at_c_h"]),
            _f(r["actual_d_at_c_h"], 1),
            _f(r["critical_h"], 1),
            ", ".join(r["evidence"]) or "\u2013",
            r["false_alarms"],
            _f(r["machine_days"], 1),
        ]
        for r in runs
    ]
    header = [
        "seed",
        "failing CNC",
        "states learned",
        "first running state h",
        "learned after onset",
        "lead h",
        "severity",
        "est. h to zone D",
        "interval",
        "actual h to zone D",
        "at zone C: est. h to D",
        "interval",
        "actual",
        "h to critical",
        "evidence",
        "false alarms",
        "machine-days",
    ]
    print_table(header, rows)
    leads = [r["lead_h"] for r in runs if r["lead_h"] is not None]
    alarms = sum(r["false_alarms"] for r in runs)
    days = sum(r["machine_days"] for r in runs)
    per_seed = [r["false_alarms"] / r["machine_days"] for r in runs]
    crit = [r["critical_h"] for r in runs if r["critical_h"] is not None]
    est = _ratios(runs, "est_d_h", "actual_d_h")
    est_c = _ratios(runs, "est_d_at_c_h", "actual_d_at_c_h")
    cov, cov_n = _covered(runs, "span_d_h", "actual_d_h")
    cov_c, cov_c_n = _covered(runs, "span_d_at_c_h", "actual_d_at_c_h")
    errors = [
        abs(r["est_d_at_c_h"] - r["actual_d_at_c_h"])
        for r in runs
        if r["est_d_at_c_h"] is not None and r["actual_d_at_c_h"] is not None
    ]
    zone_d = GROUP2_RIGID.c_d
    md = [
        "## Anomaly detection on the demo plant (bearing wear)",
        "",
        machine_line(),
        "",
        f"{seeds} seeds; per seed one CNC (by turn, so plant-b's two-shift CNCs are among them)",
        f"gets `bearing-wear:<cnc>:{onset_h}h:12h` (onset {onset_h} h after the start, Monday",
        "05:00 UTC; functional failure 12 h later). All ten CNCs' spindle signals are streamed",
        f"for {hours} simulated hours in 5-minute batches through `SpindleFeatures` (one row per",
        "10 kHz snapshot: RMS, peak, crest, kurtosis, five FFT band energies, the 1 s velocity",
        "RMS; state = 250 rpm speed band) and an `AnomalyMonitor` with the vibration preset",
        "(raise at 20, clear below 8, at least 15 min; thresholds fixed, not calibrated;",
        f"no feature's healthy spread below {100 * VIBRATION.relative_scale_floor:g}% of its",
        "level). That floor was added after seed 7 of the first ten raised a false alarm: a",
        "baseline learned from two hours of one job scored a spindle 4% above it at 31. Seeds",
        "10 to 19 were first run with the floor in place.",
        "",
        "There is no fixed training span: each monitor learns every operating state from its",
        f"first {VIBRATION.learn_rows} snapshots in that state, whenever the machine runs, and",
        "does not score the state until then. *States learned*: states of the failing spindle",
        "with a baseline by the end (stopped counts as one); *first running state h*: hours from",
        "the start until a spindle speed had one (plant-b's first shift starts 7 h in); *learned",
        "after onset*: states",
        "whose baseline includes worn-bearing snapshots (learned after the onset), which makes",
        "that state blind to the early wear; no state is learned while an alarm is active (a",
        "machine in alarm is no example of health). *Lead h*: functional failure minus the",
        "first alarm",
        "between onset and failure. *False alarms*: every alarm on the nine healthy CNCs over",
        f"{hours} h, plus the failing CNC's before onset; *machine-days* counts those hours.",
        "",
        "The score decides whether there is an alarm; its *severity* comes from the ISO",
        f"10816-3 zone of the velocity RMS (group 2, rigid: C/D at {zone_d:g} mm/s; zone A or B:",
        "warning, C: alarm, D: critical) and *est. h to zone D* is the trend's time to C/D at",
        "the first alarm (\u2013: no rising trend yet), *interval* its 90% interval: the",
        "velocity is the healthy level plus what the defect adds, and the interval spans two",
        "exponential models (the defect's excess over each speed band's healthy level, the",
        "central estimate; and the whole level) with Sen's confidence interval of each slope",
        "(*open*: the trend may not be rising). *Actual h to zone D*:",
        "from the first alarm to the first running snapshot at or above C/D; *h to critical*:",
        "from the first alarm to the first event graded critical (the zone of the median of",
        "the newest three running snapshots).",
        "",
        markdown_table(header, rows, "llrrrrlrrrrrrrlrr"),
        "",
        f"Failing spindles flagged before failure: **{len(leads)}/{seeds}**; lead time before",
        f"functional failure: min **{min(leads, default=float('nan')):.1f} h**, median",
        f"**{statistics.median(leads) if leads else float('nan'):.1f} h**. False alarms:",
        f"**{alarms}** in {days:.0f} machine-days (**{alarms / days:.3f} per machine-day**;",
        f"per seed at most {max(per_seed, default=0.0):.3f}): "
        + (
            "; ".join(
                f"seed {r['seed']}: {', '.join(r['false_at'])}" for r in runs if r["false_at"]
            )
            or "none"
        )
        + ".",
        "",
        f"First alarms graded critical: **{sum(r['severity'] == 'critical' for r in runs)}"
        f"/{len(leads)}**; critical before functional failure: **{len(crit)}/{seeds}**, "
        f"median **{_median(crit)} h** after the first alarm. Estimated time to zone D at the",
        f"first alarm: {len(est)}/{len(leads)} with an estimate"
        + (f", median ratio estimate/actual {_median(est)}" if est else "")
        + "; at the escalation to *alarm* (zone C): "
        + f"{len(est_c)} with an estimate"
        + (f", median ratio estimate/actual **{_median(est_c)}**" if est_c else "")
        + (f", median absolute error **{_median(errors)} h**" if errors else "")
        + f". The interval holds the actual time to zone D at the first alarm in **{cov}/{cov_n}**"
        + f" runs with an estimate, at the escalation to *alarm* in **{cov_c}/{cov_c_n}**.",
        "",
        "```",
        f"python bench/anomaly_quality.py --seeds {seeds}",
        "```",
    ]
    return "\n".join(md)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 seeds, no doc update")
    parser.add_argument("--seeds", type=int, default=20, help="demo-plant seeds (default 20)")
    args = parser.parse_args(argv)
    seeds = 3 if args.quick else args.seeds
    if NAB.exists():
        nab_md, rows = nab_section()
        header = ["series", "hit", "false", "P", "R", "F1", "delay h", "raise", "NAB raw"]
        print_table(header, rows)
        publish("anomaly-nab", nab_md, skip=args.quick)
    else:
        print(f"NAB data not found at {NAB}: section skipped")
    publish("anomaly-demo", demo_section(seeds), skip=args.quick)


if __name__ == "__main__":
    main()
