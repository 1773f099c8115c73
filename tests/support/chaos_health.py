"""What the core's health endpoints showed during the chaos run, fault by fault.

The run polls ``GET /healthz`` (no credentials) and ``GET /api/v1/health`` (an admin API
token issued through the token store) about twice a second; a core that is down answers
nothing. :func:`per_fault` then reads, for each fault, what an operator would have seen
from the fault's start until the next fault (the calm after it included, so the
recovery shows).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plantos.core.clock import WallClock
from plantos.security.tokens import TokenStore

DOWN = "down"
"""The readiness of a core that does not answer (killed, or not listening yet)."""


def issue_token(data_dir: Path) -> str:
    """An admin API token for the core's data directory (before the core first starts)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    store = TokenStore(data_dir / "security.sqlite", clock=WallClock())
    return store.issue_api_token("chaos-run", "admin")


@dataclass(frozen=True)
class Probe:
    """One look at the core: readiness (200, 503 or down) and, when it answered, the
    analytics and historian stages as ``/api/v1/health`` reported them. ``at_s`` is when
    the answer came (the run's clock, rounded like its events): an answer given before a
    fault is never counted in the fault's window."""

    at_s: float
    ready: int | str
    analytics: dict[str, Any] | None = None
    historian: dict[str, Any] | None = None


def probe(port: int, token: str, started: float) -> Probe:
    """Ask the core on ``port``; ``started`` is the run's start (``time.monotonic``)."""
    base = f"http://127.0.0.1:{port}"

    def now_s() -> float:
        return round(time.monotonic() - started, 1)

    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
            ready: int | str = r.status
    except urllib.error.HTTPError as exc:
        ready = exc.code
    except OSError:
        return Probe(now_s(), DOWN)
    request = urllib.request.Request(
        f"{base}/api/v1/health", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as r:
            body = json.loads(r.read())
    except OSError:
        return Probe(now_s(), ready)
    stages = {s["stage"]: s for s in body["stages"]}
    return Probe(now_s(), ready, stages.get("analytics"), stages.get("historian"))


@dataclass
class FaultHealth:
    """What the health endpoints showed from a fault's start until the next fault began."""

    fault: str
    probes: list[Probe] = field(default_factory=list)

    def readiness(self) -> list[int | str]:
        """The distinct readiness answers, in the order first seen."""
        seen: list[int | str] = []
        for p in self.probes:
            if p.ready not in seen:
                seen.append(p.ready)
        return seen

    def analytics_restarts(self) -> int:
        return max((p.analytics["restarts"] for p in self.probes if p.analytics), default=0)

    def analytics_errors(self) -> set[str]:
        return {p.analytics["last_error"] for p in self.probes if p.analytics} - {None}

    def historian_refusing(self) -> bool:
        return any(p.historian and p.historian["detail"]["refusing"] for p in self.probes)

    def most_in_hand(self) -> int:
        rows = (p.historian["detail"]["in_hand_rows"] for p in self.probes if p.historian)
        return max(rows, default=0)

    def most_queued(self) -> int:
        """The deepest the historian stage's bus queue got (messages waiting for it)."""
        depths = (p.historian["lag"]["depth"] for p in self.probes if p.historian)
        return max(depths, default=0)

    def recovered(self) -> bool:
        """The last answer before the next fault: ready, analytics and historian running,
        the historian not refusing."""
        last = next((p for p in reversed(self.probes) if p.analytics and p.historian), None)
        return (
            last is not None
            and last.ready == 200
            and last.analytics is not None
            and last.analytics["state"] == "running"
            and last.historian is not None
            and last.historian["state"] == "running"
            and not last.historian["detail"]["refusing"]
        )

    def summary(self) -> str:
        words = ["readiness " + " then ".join(str(r) for r in self.readiness())]
        if self.analytics_restarts():
            errors = sorted(e.split(" (")[0] for e in self.analytics_errors())
            shown = ", ".join(f'"{e}"' for e in errors)
            words.append(f"analytics restarts {self.analytics_restarts()}, last error {shown}")
        if self.historian_refusing():
            words.append(
                f"historian refusing, {self.most_in_hand()} samples in hand, "
                f"queue up to {self.most_queued()} messages"
            )
        words.append("all stages running again" if self.recovered() else "NOT recovered")
        return "; ".join(words)


STARTS = (
    "analytics consumer fault injected",
    "core killed (SIGKILL)",
    "historian refuses commits",
    "broker stopped",
)


def per_fault(events: list[tuple[float, str]], probes: list[Probe]) -> list[FaultHealth]:
    """Split the probes by fault: answers after its start until the next fault's (or the
    machines' stop, after the last fault)."""
    out = []
    for i, (at, what) in enumerate(events):
        if what not in STARTS:
            continue
        later = events[i + 1 :]
        end = next((t for t, w in later if w in STARTS or w == "machines stopped"), 1e18)
        out.append(FaultHealth(what, [p for p in probes if at < p.at_s < end]))
    return out
