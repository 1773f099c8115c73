"""The live demo as a newcomer starts it (``plantos demo``, only ports, the data
directory and a short history chosen) brings its own example ERP: the banner names the
receiver, the plant's messages reach it signed and are booked once each (without a log
line per delivery), the integrations API shows the demo's connector delivering, and the
receiver stops with the demo."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_ui_demo import REPO, running_demo

pytestmark = pytest.mark.timeout(300)


def wait_for(check: Callable[[], Any], what: str, log: list[str], timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}: " + "".join(log)
        time.sleep(0.5)
    return found


def test_the_live_demo_delivers_its_erp_messages_to_its_own_receiver(tmp_path: Path) -> None:
    with running_demo(tmp_path / "demo", "--backfill", "30m") as demo:
        log = demo.log
        named = [re.search(r"ERP receiver .*: (http://127\.0\.0\.1:\d+/erp)", line) for line in log]
        receiver = next(m.group(1) for m in named if m)

        issued = subprocess.run(
            [sys.executable, "-m", "plantos.cli.main", "token", "issue", "--role", "admin",
             "--data-dir", str(demo.data_dir)],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert issued.returncode == 0, issued.stderr
        headers = {"Authorization": f"Bearer {issued.stdout.strip()}"}

        def demo_connector() -> dict[str, Any] | None:
            answer = httpx.get(f"{demo.url}/api/v1/erp/connectors", headers=headers)
            assert answer.status_code == 200, answer.text
            rows = [c for c in answer.json()["connectors"] if c["connector"] == "demo-erp"]
            return rows[0] if rows and rows[0]["delivered"] > 0 else None

        state = wait_for(demo_connector, "deliveries to the demo's ERP", log, 120)
        assert state["dead"] == 0 and state["last_error"] is None
        booked = httpx.get(receiver).json()
        assert booked["booked"] >= state["delivered"] > 0  # each checked and booked once
        assert booked["refused"] == 0 and sum(booked["by_kind"].values()) == booked["booked"]
        assert not [line for line in log if "HTTP Request" in line]  # no line per delivery
    assert demo.process.returncode == 0, "".join(log)
    with pytest.raises(httpx.ConnectError):
        httpx.get(receiver)
