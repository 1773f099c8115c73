"""``plantos serve`` and ``plantos demo`` stop cleanly on Ctrl-C (SIGINT) and on a service
manager's SIGTERM: the process exits 0 (not *by* the signal), logs no error or traceback,
and leaves no write-ahead log behind (the historian and the MOM database were closed), also
while a browser holds a live event stream open. Real processes, real signals.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import DEMO_PLANT, REPO
from tests.support.server import free_port, wait_until

STOPPED_WITHIN_S = 60
"""A bound for the test only: a clean stop takes a few seconds."""
LEFT_BY_AN_UNCLEAN_STOP = ("history.duckdb.wal", "mom.sqlite-wal")
SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    log: Path

    def up(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        try:
            return httpx.get(f"{self.url}/signin", timeout=1).status_code == 401
        except httpx.HTTPError:
            time.sleep(0.2)
            return False

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        return self.process.wait(STOPPED_WITHIN_S)


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "COLUMNS": "200"}


def start(tmp_path: Path, *args: str) -> Iterator[Running]:
    """``plantos ARGS`` in its own session (a Ctrl-C at the test runner does not reach it),
    its output in a file; killed if the test leaves it running."""
    port, data_dir, log = free_port(), tmp_path / "data", tmp_path / "plantos.log"
    command = [sys.executable, "-m", "plantos.cli.main", *args]
    command += ["--port", str(port), "--data-dir", str(data_dir)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            env=environment(), start_new_session=True,
        )  # fmt: skip
    running = Running(process, f"http://127.0.0.1:{port}", data_dir, log)
    try:
        wait_until(running.up, f"plantos {args[0]}", timeout_s=120)
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def assert_clean(running: Running, returncode: int) -> None:
    text = running.log.read_text()
    assert returncode == 0, text[-3000:]
    for trouble in ("Traceback", "ERROR", "BadNoSubscription", "forced stop"):
        assert trouble not in text, text[-3000:]
    left = [name for name in LEFT_BY_AN_UNCLEAN_STOP if (running.data_dir / name).exists()]
    assert not left, left


def api_token(running: Running) -> str:
    issued = subprocess.run(
        [sys.executable, "-m", "plantos.cli.main", "token", "issue", "--role", "viewer",
         "--data-dir", str(running.data_dir)],
        capture_output=True, text=True, timeout=60, env=environment(),
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Running]:
    yield from start(tmp_path, "serve", "--config", str(DEMO_PLANT))


@pytest.mark.parametrize("signum", SIGNALS)
def test_serve_stops_cleanly_and_exits_0(server: Running, signum: int) -> None:
    assert_clean(server, server.stop(signum))


@pytest.mark.parametrize("signum", SIGNALS)
def test_serve_stops_cleanly_while_a_live_stream_is_open(server: Running, signum: int) -> None:
    token = api_token(server)
    opened = threading.Event()
    ended: list[str] = []

    def follow() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{server.url}/api/v1/live/stream"
        with httpx.stream("GET", url, headers=headers, timeout=STOPPED_WITHIN_S) as stream:
            assert stream.status_code == 200
            opened.set()
            try:
                for line in stream.iter_lines():
                    ended.append(line)
            except httpx.HTTPError as exc:
                ended.append(f"ended by {exc!r}")

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    assert opened.wait(30), server.log.read_text()
    assert_clean(server, server.stop(signum))
    reader.join(10)
    assert not reader.is_alive()
    assert any(re.match(r"event: live", line) for line in ended), ended[:5]


RUNNING_S = 15.0
"""How long the demo runs before the stop: its connectors subscribed, orders released and
planned, samples written."""


@pytest.mark.parametrize(
    "signum",
    # Ctrl-C (SIGINT) of the demo is the browser acceptance's last step
    # (tests/e2e/test_ui_demo.py), over the same 15 s of planning: not run twice.
    [pytest.param(signal.SIGTERM, id="SIGTERM")],
)
def test_the_demo_stops_cleanly_and_exits_0(tmp_path: Path, signum: int) -> None:
    for demo in start(tmp_path, "demo", "--opcua-port", "0", "--modbus-port", "0"):
        time.sleep(RUNNING_S)
        assert_clean(demo, demo.stop(signum))
