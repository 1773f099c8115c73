"""Broker to historian: metrics/s from Sparkplug NDATA on Mosquitto until durable in DuckDB.

The stream of ``sparkplug_ingest.py``, built by ``sparkplug_feed.py`` (one edge node,
NDATA payloads of N metrics by alias with their own timestamps and Double values,
metric names = tag paths, as the PlantOS edge gateway publishes) goes into a running
PlantOS ``Platform``, built the way ``plantos serve`` builds it: a plant file generated
in ``bench/.work`` with a tag for every metric, a ``sparkplug-host`` connector with
``metric_names_are_tags: true``, the DuckDB historian in ``bench/.work``. The path is
broker -> ``SparkplugHost`` -> Supervisor -> normaliser -> bus -> historian writer
(group commit), live state and the analytics stage (which has no judgement configured
for these tags, so it only routes them).

The clock runs from the publisher's start until the writer has acknowledged every
sample as committed (``HistorianWriter.acked_rows``: durable); afterwards the rows are
counted through the historian's query API (``query_raw`` per tag). The ceiling is a
bare paho subscriber receiving the same payloads from the same broker in the same run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import sparkplug_feed as feed

from plantos.app import Platform, Settings

GROUP = "plant"
SIGNALS = 50  # tags per asset; metric j is asset j // 50, signal j % 50


def plant_yaml(metrics: int, port: int) -> str:
    """A plant with a tag for each metric name of the stream, and the Sparkplug host."""
    signals = "\n".join(f"      - {{signal: signal_{s:02d}, unit: bar}}" for s in range(SIGNALS))
    assets = "\n".join(
        f"              - {{id: cell-{a:02d}, type: cell}}" for a in range(-(-metrics // SIGNALS))
    )
    return f"""\
plantos: 1
enterprise: {{id: bench}}
historian:
  url: duckdb:///history.duckdb
  rollups:
    - {{width: 1m, retention: 400d}}
    - {{width: 1h}}
calendars:
  always:
    timezone: UTC
    shifts: [{{name: all, start: "00:00", end: "00:00"}}]
asset_types:
  cell:
    tags:
{signals}
sites:
  - id: {GROUP}
    calendar: always
    areas:
      - id: ingest
        lines:
          - id: line-1
            assets:
{assets}
connectors:
  - kind: sparkplug-host
    name: uns
    broker: mqtt://127.0.0.1:{port}
    host_id: bench-core
    group: {GROUP}
    metric_names_are_tags: true
"""


def platform_run(port: int, stream: feed.Stream, workdir: Path) -> tuple[float, int, dict]:
    """Seconds from the publisher's start until every sample is committed; rows counted."""
    run_dir = workdir / f"platform-{stream.metrics}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    config = run_dir / "plantos.yaml"
    config.write_text(plant_yaml(stream.metrics, port))
    expected = stream.samples

    async def run() -> tuple[float, int, dict]:
        platform = Platform(Settings(config=config, data_dir=run_dir / "data"))
        ids = [platform.tag_ids[name] for name in stream.names]
        await platform.start()
        try:
            host = platform.connectors[0]
            deadline = time.monotonic() + feed.WAIT_S
            while not host.connected:  # connected and subscribed before the clock starts
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the host did not connect: {host.metrics()}")
                await asyncio.sleep(0.02)
            with feed.publisher(port, stream, workdir) as proc:
                t0 = feed.go(proc)
                while platform.writer.acked_rows < expected:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"{platform.writer.acked_rows} of {expected} acked: {host.metrics()}"
                        )
                    await asyncio.sleep(0.005)
                end = time.perf_counter()
            stored = await asyncio.to_thread(count_rows, platform, ids)
            return end - t0, stored, platform.metrics()
        finally:
            await platform.stop()

    return asyncio.run(run())


def count_rows(platform: Platform, ids: list[int]) -> int:
    """Rows in the historian through its query API, all of time, every tag of the stream."""
    return sum(len(platform.historian.query_raw(i, 0, 2**62, limit=10_000_000).ts) for i in ids)


def main(argv: list[str] | None = None) -> int:
    args = feed.parse_args("broker_historian", __doc__.split("\n\n")[0], argv)
    workdir = common.work_dir("broker_historian")
    sizes = [int(s) for s in args.metrics.split(",")]
    rates: dict[int, dict[str, list[float]]] = {n: {"a": [], "p": []} for n in sizes}
    last: dict[int, dict] = {}
    with feed.broker(workdir) as port:
        for r in range(args.rounds):
            for n in sizes:
                stream = feed.build_stream(GROUP, n, max(args.total // n, 1), seed=r, numbered=True)
                total = n * len(stream.data)
                a = feed.bare_paho(port, stream, workdir)
                p, stored, last[n] = platform_run(port, stream, workdir)
                expected = stream.samples
                if stored != expected:
                    raise RuntimeError(f"the historian holds {stored} rows, not {expected}")
                rates[n]["a"].append(total / a)
                rates[n]["p"].append(total / p)
                print(
                    f"round {r + 1} {n} metrics/msg: bare paho {common.fmt_rate(total / a)}, "
                    f"broker->historian {common.fmt_rate(total / p)} metrics/s, "
                    f"{stored:,} rows stored"
                )
    med = {n: {k: statistics.median(v) for k, v in rates[n].items()} for n in sizes}
    header = ["metrics/msg", "bare paho receive", "PlantOS broker -> historian", "ratio"]
    table = [
        [
            str(n),
            f"{common.fmt_rate(med[n]['a'])}/s",
            f"{common.fmt_rate(med[n]['p'])}/s",
            f"{med[n]['p'] / med[n]['a']:.2f}",
        ]
        for n in sizes
    ]
    print()
    common.print_table(header, table)
    ratio = med[100]["p"] / med[100]["a"] if 100 in med else None
    goal = "met" if ratio is not None and ratio >= 0.5 else "NOT met"
    writer = {n: last[n]["historian_writer"] for n in sizes}
    load = os.getloadavg()[0]
    goals = (
        f"- Load average (1 min) at the end of the run: {load:.1f} on {os.cpu_count()} cores; "
        "well above the core count, every figure here is noise-dominated: compare ratios of "
        "a quiet run.\n"
        if load > (os.cpu_count() or 1)
        else ""
    ) + (
        "- Goal: broker to historian at ≥ 0.5 of the bare paho receive at 100 metrics/msg, "
        f"with the end-to-end acknowledgement running: **{goal}**"
        + ("" if ratio is None else f", ratio {ratio:.2f}")
        + ".\n"
        "- Writer of the last round: "
        + "; ".join(
            f"{n} metrics/msg: {writer[n]['commits']} commits, "
            f"{writer[n]['commit_seconds']} s committing"
            for n in sizes
        )
        + ".\n"
    )
    print()
    print(goals)
    md = "\n".join(
        [
            "## Broker to historian (Sparkplug B)",
            "",
            common.machine_line(feed.versions()),
            "",
            f"Metrics/s of one edge node's NDATA stream ({args.total:,} metrics per run, "
            "payloads of N Doubles by alias with their own timestamps, metric names = tag "
            "paths, each message numbered with `PlantOS/Stream Seq` as an edge gateway numbers "
            "its batches, so the end-to-end acknowledgement runs: every batch is acknowledged "
            "by the writer after its commit and the host publishes the committed number) "
            "from a private Mosquitto on 127.0.0.1 through a running PlantOS "
            "`Platform` (sparkplug-host connector with `metric_names_are_tags`, Supervisor, "
            "normaliser, bus, live state, historian writer with group commit, DuckDB file "
            "historian with 1m and 1h rollups) until every sample is durably committed; rows "
            "then counted with `query_raw`. The analytics stage runs as in production (it "
            "takes every batch), but the generated plant configures no judgement for these "
            "tags, so it only routes them; the judging cost over the demo plant is in the "
            "headless demo and analytics sections. "
            f"Median of {args.rounds} round(s); the bare paho subscriber (the receive "
            "ceiling) gets the same payloads from the same broker in the same round.",
            "",
            common.markdown_table(header, table),
            "",
            goals,
        ]
    )
    common.publish("broker-historian", md, skip=args.no_doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
