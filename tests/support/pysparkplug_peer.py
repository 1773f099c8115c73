"""A Sparkplug B edge node of another stack (pysparkplug) in its own process and its own
virtual environment: pysparkplug needs paho-mqtt below 2, PlantOS 2 or later.

The environment is made once, under ``.venv-peers/`` in the repository, from the pinned
``tests/peers/pysparkplug/requirements.txt``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.once import exclusive

REPO = Path(__file__).resolve().parents[2]
PEER = REPO / "tests" / "peers" / "pysparkplug"
VENV = REPO / ".venv-peers" / "pysparkplug"

Value = bool | int | float | str
MetricSpec = tuple[str, str, Value, int]
"""(name, pysparkplug DataType name such as "INT64", value, timestamp in ms)."""


def peer_python() -> Path:
    """The peer environment's interpreter, made on first use by one process at a time
    (``venv --clear`` would wipe an environment a parallel worker is making or using)."""
    python = VENV / "bin" / "python"
    stamp = VENV / "requirements.txt"
    wanted = (PEER / "requirements.txt").read_text()
    with exclusive(VENV.parent):
        if python.is_file() and stamp.is_file() and stamp.read_text() == wanted:
            return python
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        requirements = str(PEER / "requirements.txt")
        subprocess.run([*pip, "--require-hashes", "-r", requirements], check=True, timeout=300)
        stamp.write_text(wanted)
    return python


class PeerNode:
    """The edge node process; each method waits for the node to confirm."""

    def __init__(
        self, host: str, port: int, group: str, node: str, metrics: list[MetricSpec]
    ) -> None:
        self.proc = subprocess.Popen(
            [str(peer_python()), str(PEER / "edge_node.py"), host, str(port), group, node],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            self._send({"op": "start", "metrics": metrics}, expect="ready")
        except BaseException:
            self.kill()
            raise

    def _send(self, cmd: dict[str, object], *, expect: str = "ok") -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        got = self.proc.stdout.readline().strip()
        if got != expect:
            raise RuntimeError(f"pysparkplug edge node answered {got!r} to {cmd['op']}")

    def update(self, metrics: list[MetricSpec]) -> None:
        self._send({"op": "update", "metrics": metrics})

    def rebirth(self) -> None:
        self._send({"op": "rebirth"})

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self._send({"op": "stop"})
                self.proc.wait(timeout=10)
            finally:
                self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
