"""The PlantOS platform as a contender of the OPC UA items bench: ``plantos serve`` itself.

A plant file is generated with one asset per session, a Double tag per item and one
``opcua`` connector per session; ``plantos serve`` runs it as a subprocess in a temporary
data directory, on an unused port. Nothing is added to the platform for the bench:

- **setup** is read from ``GET /api/v1/connectors`` (every connector connected, every
  item monitored), with an ``integration`` API token issued by ``plantos token issue``, as
  an operator issues one for a monitoring system;
- **lag** is read through the API while the platform runs: every ``PROBE_S`` the newest
  samples of each session's last-written item (``GET /api/v1/tags/{path}/samples``), so a
  tick's lag is when the historian answered its value for every session; each second
  ``GET /api/v1/health`` for every stage's own lag (its queue depth and the age of its
  oldest message);
- **CPU** is the serve process's (all its threads) from ``/proc/<pid>/stat``;
- **what was stored** is counted once the server has stopped on SIGTERM, as a service
  manager stops it: every tag's raw samples read from the historian file with the same
  reader as ``plantos query``, counted per value (the tick number).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

SITE, AREA, LINE = "bench", "opcua", "line-1"
PROBE_S = 0.25  # how often the newest stored sample of each session is asked for
HEALTH_S = 1.0  # how often the stages' own lag is asked for
UP_TIMEOUT_S = 300  # plant load, historian, sessions and monitored items
STOP_TIMEOUT_S = 120  # a clean stop commits what is queued and closes the historian
HTTP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Session:
    """One connector: the server it subscribes to and its items (numbered across servers)."""

    endpoint: str
    items: range

    @property
    def asset(self) -> str:
        return f"session-{self.items.start}"

    def tag(self, item: int) -> str:
        return f"{SITE}/{AREA}/{LINE}/{self.asset}/item{item}"


@dataclass
class Report:
    """What a contender saw of each tick: samples, when its last sample came, CPU, errors."""

    counts: dict[int, int]
    arrival: dict[int, float]
    cpu_s: float
    cpu_span_s: float  # the wall seconds ``cpu_s`` was taken over
    errors: list[str]
    metrics: dict[str, float] = field(default_factory=dict)
    stage_lag: dict[str, tuple[float, int]] = field(default_factory=dict)
    """Per platform stage, its oldest queued message's age and its queue depth at worst."""


def plant_yaml(
    sessions: Sequence[Session], options: dict[str, str], node: Callable[[int], str]
) -> str:
    """The plant: one asset per session holding its items as Double tags, one ``opcua``
    connector per session with the bench's ``options`` (intervals, timeout, keep-alive)."""
    assets = [
        {"id": s.asset, "tags": [{"signal": f"item{i}", "unit": "s"} for i in s.items]}
        for s in sessions
    ]
    connectors = [
        {
            "kind": "opcua",
            "name": s.asset,
            "endpoint": s.endpoint,
            **options,
            "tags": [{"tag": s.tag(i), "node": node(i)} for i in s.items],
        }
        for s in sessions
    ]
    plant = {
        "plantos": 1,
        "enterprise": {"id": "bench"},
        "sites": [
            {
                "id": SITE,
                "areas": [{"id": AREA, "lines": [{"id": LINE, "assets": assets}]}],
            }
        ],
        "connectors": connectors,
    }
    return yaml.dump(plant, Dumper=yaml.CSafeDumper, sort_keys=False, width=200)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and all its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Probe(threading.Thread):
    """Asks the running platform, through its API, what it has stored and how its stages
    lag; it only reads."""

    def __init__(self, client: httpx.Client, paths: list[str]) -> None:
        super().__init__(name="platform-probe", daemon=True)
        self.client = client
        self.paths = paths
        self.since = math.ceil(time.time())  # the first tick wholly in view
        self.seen: dict[str, dict[int, float]] = {p: {} for p in paths}
        self.stage_lag_s: dict[str, float] = defaultdict(float)
        self.stage_depth: dict[str, int] = defaultdict(int)
        self.errors: list[str] = []
        self._done = threading.Event()

    def run(self) -> None:
        next_health = 0.0
        while not self._done.wait(PROBE_S):
            try:
                for path in self.paths:
                    self._newest(path)
                if time.monotonic() >= next_health:
                    next_health = time.monotonic() + HEALTH_S
                    self._health()
            except httpx.HTTPError as exc:
                self.errors.append(f"probe: {type(exc).__name__}: {exc}")

    def _newest(self, path: str) -> None:
        answer = self.client.get(f"/api/v1/tags/{path}/samples", params={"from": "-10s"})
        answer.raise_for_status()
        now = time.time()
        seen = self.seen[path]
        for value in answer.json()["value"]:
            if value is not None:
                seen.setdefault(int(value), now)

    def _health(self) -> None:
        answer = self.client.get("/api/v1/health")
        answer.raise_for_status()
        for stage in answer.json()["stages"]:
            name, lag = stage["stage"], stage["lag"]
            self.stage_lag_s[name] = max(self.stage_lag_s[name], lag["oldest_age_s"])
            self.stage_depth[name] = max(self.stage_depth[name], lag["depth"])

    def arrival(self) -> dict[int, float]:
        """Per tick due after the probe started, when the historian had answered it for
        every session."""
        ticks = set.intersection(*(set(s) for s in self.seen.values()))
        return {t: max(s[t] for s in self.seen.values()) for t in ticks if t >= self.since}

    def stage_lag(self) -> dict[str, tuple[float, int]]:
        """Per stage, its oldest queued message's age and its queue depth, at their worst."""
        return {name: (lag, self.stage_depth[name]) for name, lag in self.stage_lag_s.items()}

    def stop(self) -> None:
        self._done.set()
        self.join(HTTP_TIMEOUT_S * (len(self.paths) + 1))


class PlatformRun:
    """``plantos serve`` for the generated plant: started, measured, stopped, counted.

    The window has two halves: over the first, only the serve process's CPU is taken, so
    that it is the platform's own work; over the second (and the drain after it), the
    :class:`Probe` asks the API for what was stored, to time it."""

    def __init__(
        self,
        sessions: Sequence[Session],
        options: dict[str, str],
        node: Callable[[int], str],
        port: int,
    ) -> None:
        self.sessions = list(sessions)
        self._tmp = tempfile.TemporaryDirectory(prefix="plantos-bench-opcua-")
        self.dir = Path(self._tmp.name)
        self.config = self.dir / "plantos.yaml"
        self.config.write_text(plant_yaml(sessions, options, node))
        self.data_dir = self.dir / "data"
        self.log = self.dir / "serve.log"
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.client: httpx.Client | None = None
        self.probe: Probe | None = None
        self.marks: list[tuple[float, float]] = []  # wall clock, CPU seconds of serve
        self.setup: dict[str, float] = {}  # seconds from the start to each step

    # -- the phases the bench drives --

    def start(self) -> None:
        """Serve, then wait until every connector is connected with all its items."""
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "plantos.cli.main", "serve",
                    "--config", str(self.config), "--data-dir", str(self.data_dir),
                    "--port", str(self.port),
                ],
                cwd=common.REPO, stdin=subprocess.DEVNULL, stdout=sink,
                stderr=subprocess.STDOUT, env=_environment(), start_new_session=True,
            )  # fmt: skip
        t0 = time.monotonic()
        deadline = t0 + UP_TIMEOUT_S
        self._wait(deadline, "the API", self._listening)
        self.setup["up_s"] = time.monotonic() - t0
        token = self._issue_token()
        self.client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT_S,
        )
        self._wait(deadline, "every item monitored", self._subscribed)
        self.setup["subscribed_s"] = time.monotonic() - t0

    def mark(self) -> None:
        """The window starts, reaches its middle (the probe starts) or ends."""
        assert self.process is not None and self.client is not None
        self.marks.append((time.time(), process_cpu_s(self.process.pid)))
        if len(self.marks) == 2:
            self.probe = Probe(self.client, [s.tag(s.items[-1]) for s in self.sessions])
            self.probe.start()

    def finish(self) -> Report:
        """Stop as a service manager does (SIGTERM), then count what the historian holds."""
        assert self.process is not None and self.client is not None
        errors = []
        if self.probe is not None:
            self.probe.stop()
            errors += list(dict.fromkeys(self.probe.errors))
        connectors = self.client.get("/api/v1/connectors").json()["connectors"]
        metrics: dict[str, float] = defaultdict(float)
        metrics |= self._writer_metrics() | self.setup
        t0 = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(STOP_TIMEOUT_S)
        metrics["stop_s"] = time.perf_counter() - t0
        if code != 0:
            errors.append(f"plantos serve exited {code}: {self._log_tail()}")
        troubles = [x for x in self._log_tail(None).splitlines() if "ERROR" in x or "Trace" in x]
        errors += [f"serve log: {x.strip()}" for x in troubles[:3]]
        for c in connectors:
            for key in ("errors", "reconnects", "dropped_notifications", "keepalive_failures"):
                metrics[key] += c.get(key, 0)
            if c.get("last_error"):
                errors.append(f"{c['connector']}: {c['last_error']}")
        (t0_wall, cpu0), (t1_wall, cpu1) = self.marks[:2]
        return Report(
            counts=stored_per_tick(self.config, self.data_dir),
            arrival=self.probe.arrival() if self.probe is not None else {},
            cpu_s=cpu1 - cpu0,
            cpu_span_s=t1_wall - t0_wall,
            errors=errors,
            metrics=dict(metrics),
            stage_lag=self.probe.stage_lag() if self.probe is not None else {},
        )

    def close(self) -> None:
        """Never leave a server behind, whatever happened."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if self.probe is not None and self.probe.is_alive():
            self.probe.stop()
        if self.client is not None:
            self.client.close()
        self._tmp.cleanup()

    # -- helpers --

    def _wait(self, deadline: float, what: str, ready: Callable[[], bool]) -> None:
        assert self.process is not None
        while not ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"plantos serve exited while waiting for {what}: "
                                   f"{self._log_tail()}")  # fmt: skip
            if time.monotonic() > deadline:
                raise TimeoutError(f"plantos serve: no {what} in {UP_TIMEOUT_S} s")
            time.sleep(0.25)

    def _listening(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _subscribed(self) -> bool:
        assert self.client is not None
        connectors = self.client.get("/api/v1/connectors").json()["connectors"]
        monitored = sum(c.get("monitored_items", 0) for c in connectors)
        wanted = sum(len(s.items) for s in self.sessions)
        return all(c["connected"] for c in connectors) and monitored == wanted

    def _issue_token(self) -> str:
        issued = subprocess.run(
            [
                sys.executable, "-m", "plantos.cli.main", "token", "issue",
                "--role", "integration", "--name", "opcua-items bench",
                "--data-dir", str(self.data_dir),
            ],
            capture_output=True, text=True, timeout=120, env=_environment(), cwd=common.REPO,
        )  # fmt: skip
        if issued.returncode != 0:
            raise RuntimeError(f"plantos token issue: {issued.stderr.strip()}")
        return issued.stdout.strip()

    def _writer_metrics(self) -> dict[str, float]:
        """The historian writer's counters, from ``/metrics`` (Prometheus text)."""
        assert self.client is not None
        text = self.client.get("/metrics").text
        wanted = ("plantos_historian_acked_rows", "plantos_historian_commits")
        out = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            for key in wanted:
                if name in (key, f"{key}_total"):
                    out[key.removeprefix("plantos_historian_")] = float(value)
        return out

    def _log_tail(self, chars: int | None = 2000) -> str:
        """The end of the serve log (all of it with ``chars=None``)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text if chars is None else text[-chars:]


def stored_per_tick(config: Path, data_dir: Path) -> dict[int, int]:
    """Samples in the historian per value (= tick), every tag, read as ``plantos query``
    reads a stopped server's historian."""
    from plantos.cli.common import open_plant_historian
    from plantos.model import load_plant

    plant = load_plant(config)
    historian = open_plant_historian(plant, data_dir)
    counts: Counter[int] = Counter()
    try:
        for tag_id in historian.tag_ids().values():
            raw = historian.query_raw(tag_id, 0, 2**62, limit=100_000_000)
            values = raw.value[np.isfinite(raw.value)].astype(np.int64)
            counts.update(dict(zip(*np.unique(values, return_counts=True), strict=True)))
    finally:
        historian.close()
    return {int(k): int(v) for k, v in counts.items()}


def _environment() -> dict[str, str]:
    """Run this checkout's PlantOS, with output wide enough to read."""
    return {**os.environ, "PYTHONPATH": str(common.REPO / "src"), "COLUMNS": "200"}
