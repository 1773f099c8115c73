"""Anomaly detection on the Tennessee Eastman process, beside a plain PCA monitor.

52 channels of a simulated chemical plant under control, one row every 3 min.
Protocol (the data's README): learn from ``d00.dat`` (normal operation) only;
judge every test run ``dXX_te.dat`` causally, row by row (the fault starts at
row 161); per fault the detection rate (flagged share of rows 161-960) and the
false-alarm rate (flagged share of rows 1-160, and of the normal run
``d00_te.dat``). PlantOS runs through the code path of ``plantos analytics
detect`` with its defaults; the baseline is the textbook PCA monitor (9
components on mean/std-scaled channels, a row flagged when T-squared or Q is
above its 99% limit), computed here in the same run.

Two settings were chosen with labels, on the *training* runs ``dXX.dat`` (all
rows faulty) only: the share of variance the components keep, and how many
feature windows the training rows must hold. The grid and the pick are part of
the section; the test runs are then judged once with the defaults.

Run: ``python bench/anomaly_tep.py`` (``--quick``: no grid, no doc update).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import Any

import numpy as np
from common import REPO, machine_line, markdown_table, print_table, publish

from plantos.analytics.anomaly import offline
from plantos.analytics.anomaly.calibration import normal_quantile
from plantos.analytics.anomaly.presets import MULTICHANNEL, Preset
from plantos.analytics.anomaly.timescale import Span

TEP = REPO.parent / "shared" / "data" / "anomaly" / "tep"
ONSET = 160
STEP_NS = 180 * 1_000_000_000
HARD = (3, 9, 15)
FAULTS = tuple(f for f in range(1, 22) if f not in HARD)
GRID_EXPLAINED = (0.9, 0.95, 0.99, 0.999)
GRID_WINDOWS = (10, 20, 40, 80)


def load(name: str) -> np.ndarray:
    """One data file as rows x 52 channels (``d00.dat`` is stored transposed)."""
    x = np.loadtxt(TEP / name)
    return x.T if x.shape[0] == 52 else x


def plantos_flags(
    train: np.ndarray, run: np.ndarray, preset: Preset, window: Span | None
) -> np.ndarray:
    """Flags of ``run`` after learning from ``train``, as ``plantos analytics detect`` gives."""
    x = np.vstack([train, run])
    ts = np.arange(len(x), dtype=np.int64) * STEP_NS
    table = offline.Table(ts, [""] * len(x), {f"x{j + 1}": x[:, j] for j in range(x.shape[1])})
    result = offline.detect(table, train_rows=len(train), preset=preset, window=window)
    return result.flags[len(train) :]


# ---- the plain PCA baseline -----------------------------------------------------------------


def f_quantile(p: float, d1: int, d2: int) -> float:
    """The F(d1, d2) quantile by Paulson's normal approximation (no SciPy)."""
    z = normal_quantile(p)
    lo, hi = 1e-6, 1e3
    for _ in range(200):
        f = (lo + hi) / 2
        num = (1 - 2 / (9 * d2)) * f ** (1 / 3) - (1 - 2 / (9 * d1))
        if num / math.sqrt(2 / (9 * d1) + f ** (2 / 3) * 2 / (9 * d2)) < z:
            lo = f
        else:
            hi = f
    return (lo + hi) / 2


class PlainPca:
    """9 components of mean/std-scaled channels; T-squared (F limit) or Q (Jackson-Mudholkar)."""

    def __init__(self, train: np.ndarray, *, components: int = 9, level: float = 0.99) -> None:
        n, a = len(train), components
        self.mean, self.std = train.mean(axis=0), train.std(axis=0, ddof=1)
        z = (train - self.mean) / self.std
        _, s, vt = np.linalg.svd(z, full_matrices=False)
        lam = s**2 / (n - 1)
        self.p, self.lam = vt[:a].T, lam[:a]
        self.t2_limit = a * (n - 1) * (n + 1) / (n * (n - a)) * f_quantile(level, a, n - a)
        th1, th2, th3 = (float(np.sum(lam[a:] ** i)) for i in (1, 2, 3))
        h0 = 1 - 2 * th1 * th3 / (3 * th2**2)
        c = normal_quantile(level)
        self.q_limit = th1 * (
            c * math.sqrt(2 * th2 * h0**2) / th1 + 1 + th2 * h0 * (h0 - 1) / th1**2
        ) ** (1 / h0)

    def flags(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.std
        t = z @ self.p
        t2 = (t**2 / self.lam).sum(axis=1)
        q = ((z - t @ self.p.T) ** 2).sum(axis=1)
        return np.asarray((t2 > self.t2_limit) | (q > self.q_limit))


# ---- selection on the training runs, evaluation on the test runs ----------------------------


def selection_grid(train: np.ndarray) -> list[dict[str, Any]]:
    """Mean detection over the training fault runs for each grid point."""
    runs = {f: load(f"d{f:02d}.dat") for f in FAULTS}
    out = []
    for explained in GRID_EXPLAINED:
        for per in GRID_WINDOWS:
            preset = dataclasses.replace(MULTICHANNEL, explained=explained)
            window = Span(rows=len(train) // per)
            rates = [float(plantos_flags(train, x, preset, window).mean()) for x in runs.values()]
            out.append({"explained": explained, "per": per, "detection": float(np.mean(rates))})
            print(f"explained {explained}, {per} windows: training-run detection {out[-1]}")
    return out


TIE = 0.005
"""Mean detections closer than this are a tie (one fault's rate moving by 0.09)."""


def pick(grid: list[dict[str, Any]]) -> dict[str, Any]:
    """The highest mean detection on the training runs; a tie goes to the fewer components
    (lower ``explained``), then to the higher detection."""
    top = max(g["detection"] for g in grid)
    tied = [g for g in grid if g["detection"] >= top - TIE]
    return min(tied, key=lambda g: (g["explained"], -g["detection"]))


def evaluate(train: np.ndarray) -> dict[str, Any]:
    base = PlainPca(train)
    normal = load("d00_te.dat")
    rows = []
    for f in (*FAULTS, *HARD):
        x = load(f"d{f:02d}_te.dat")
        ours, theirs = plantos_flags(train, x, MULTICHANNEL, None), base.flags(x)
        rows.append(
            {
                "fault": f,
                "ours": float(ours[ONSET:].mean()),
                "ours_before": float(ours[:ONSET].mean()),
                "base": float(theirs[ONSET:].mean()),
                "base_before": float(theirs[:ONSET].mean()),
                "first": int(np.argmax(ours[ONSET:])) if ours[ONSET:].any() else None,
            }
        )
    main = [r for r in rows if r["fault"] in FAULTS]
    return {
        "rows": rows,
        "ours": float(np.mean([r["ours"] for r in main])),
        "base": float(np.mean([r["base"] for r in main])),
        "ours_normal": float(plantos_flags(train, normal, MULTICHANNEL, None).mean()),
        "base_normal": float(base.flags(normal).mean()),
        "ours_before": float(np.mean([r["ours_before"] for r in rows])),
        "base_before": float(np.mean([r["base_before"] for r in rows])),
    }


def section(train: np.ndarray, grid: list[dict[str, Any]] | None) -> tuple[str, list[list[str]]]:
    ev = evaluate(train)
    weakest = min((r for r in ev["rows"] if r["fault"] in FAULTS), key=lambda r: r["ours"])
    weakest_first = (
        "never" if weakest["first"] is None else f"{weakest['first'] * 3} min after onset"
    )
    rows = [
        [
            str(r["fault"]) + (" (hard)" if r["fault"] in HARD else ""),
            f"{r['ours']:.3f}",
            f"{r['base']:.3f}",
            f"{r['ours_before']:.3f}",
            f"{r['base_before']:.3f}",
            "\u2013" if r["first"] is None else f"{r['first'] * 3}",
        ]
        for r in ev["rows"]
    ]
    header = [
        "fault",
        "PlantOS detection",
        "PCA detection",
        "PlantOS false before onset",
        "PCA false before onset",
        "PlantOS first flag, min after onset",
    ]
    md = [
        "## Anomaly detection on the Tennessee Eastman process (52 channels)",
        "",
        machine_line(),
        "",
        "The data's own protocol: learn from `d00.dat` (500 rows of normal operation, 25 h at",
        "3 min) only; judge every test run `dXX_te.dat` (960 rows; the fault starts at row 161)",
        "causally, row by row. *Detection*: flagged share of rows 161-960; *false before",
        "onset*: flagged share of rows 1-160; *normal run*: flagged share of `d00_te.dat`.",
        "PlantOS runs the code path of `plantos analytics detect` with its defaults (all 52",
        "columns judged together by the robust PCA monitor, T-squared and Q each over its",
        "held-out 99th percentile, EWMA over the feature window, an alarm raised after a",
        "quarter of a window above 1.5 and cleared below 0.75). The baseline is the plain",
        "PCA monitor (9 components of mean/std-scaled channels, a row flagged when T-squared",
        "or Q is above its 99% limit), computed in this run on the same files.",
        "",
        "| | PlantOS (defaults) | plain PCA |",
        "| :--- | ---: | ---: |",
        f"| mean detection, the {len(FAULTS)} faults other than 3, 9, 15 | "
        f"**{ev['ours']:.3f}** | {ev['base']:.3f} |",
        f"| false alarms on the normal run `d00_te.dat` | **{ev['ours_normal']:.3f}** | "
        f"{ev['base_normal']:.3f} |",
        f"| false alarms before onset, all 21 test runs | {ev['ours_before']:.3f} | "
        f"{ev['base_before']:.3f} |",
        "",
        "The data's README gives the baseline as 0.82 detection with false alarms on 10% of",
        "the normal run; computed here it is the figure above (limits from the F and",
        "Jackson-Mudholkar approximations).",
        "",
        "**Selection and evaluation sets.** Two settings were chosen with labels, on the",
        "training runs `d01.dat` ... `d21.dat` (480 rows each, all after the fault) and the",
        "normal `d00.dat`, never on a test run: the share of healthy variance the components",
        "keep (`explained`), and how many feature windows the training rows must hold (the",
        "window is the training rows divided by it). The rule: the highest mean detection",
        f"over the training runs of the 18 faults; within {TIE} of it (a tie), the fewer",
        "components. The grid first ended at 0.99, which was then the pick at its edge;",
        "extended to 0.999, that detects 0.001 more on the training runs, but a model that",
        "keeps all but one direction leaves Q next to nothing and raised a false alarm on",
        "a three-channel pump in the unit tests, so the tie rule was added and 0.99 kept:",
        "disclosed here because the rule came after that look. Everything else was fixed",
        "before: the raise threshold 1.5 and clear fraction 0.5 are those of the slow-signal",
        "calibration,",
        "the 99th percentile that of the held-out calibration, the persistence a quarter",
        "window.",
    ]
    if grid is not None:
        best = pick(grid)
        chosen = (
            "the defaults"
            if best["explained"] == MULTICHANNEL.explained
            and best["per"] == MULTICHANNEL.windows_per_training
            else f"**not the defaults** ({MULTICHANNEL.explained}, "
            f"{MULTICHANNEL.windows_per_training})"
        )
        md += [
            "",
            markdown_table(
                ["explained", "windows per training span", "mean detection, training runs"],
                [[f"{g['explained']:g}", str(g["per"]), f"{g['detection']:.3f}"] for g in grid],
                "rrr",
            ),
            "",
            f"The rule picks explained {best['explained']:g}, {best['per']} windows: {chosen}.",
        ]
    md += [
        "",
        "Per fault on the test runs (faults 3, 9 and 15 are reported but not averaged: they",
        "are widely reported as invisible to data-driven monitoring):",
        "",
        markdown_table(header, rows, "lrrrrr"),
        "",
        "What it cannot do: faults 3, 9 and 15 stay at the false-alarm level; a fault that",
        "develops slowly is flagged late (the last column; the weakest of the 18 here is",
        f"fault {weakest['fault']}, detected on {weakest['ours']:.2f} of its rows, first",
        f"flagged {weakest_first}). The score says *that* the channels' relations broke and",
        "which channels carry it, not the fault's cause.",
        "",
        "```",
        "python bench/anomaly_tep.py",
        "```",
    ]
    return "\n".join(md), rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="no grid, no doc update")
    args = parser.parse_args(argv)
    if not TEP.exists():
        print(f"Tennessee Eastman data not found at {TEP}: section skipped")
        return
    train = load("d00.dat")
    grid = None if args.quick else selection_grid(train)
    md, rows = section(train, grid)
    print_table(["fault", "ours", "PCA", "ours pre", "PCA pre", "first"], rows)
    publish("anomaly-tep", md, skip=args.quick)


if __name__ == "__main__":
    main()
