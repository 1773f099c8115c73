"""A node-opcua server (server.js) as a subprocess: an OPC UA stack PlantOS is not built
with. Its npm packages are installed once with ``npm ci`` from the committed lock into
``node_modules`` here, and reinstalled only when the lock changes."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.once import exclusive

HERE = Path(__file__).parent
_STAMP = HERE / "node_modules" / ".plantos-lock-sha256"


def missing_tools() -> str | None:
    """Why the server cannot run here, or None when node and npm are installed."""
    absent = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(absent)} not installed" if absent else None


def install() -> None:
    """``npm ci`` unless node_modules already holds what the lock names; one process at a
    time (``npm ci`` first removes node_modules, which a parallel worker may be using)."""
    digest = hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()
    with exclusive(HERE):
        if _STAMP.is_file() and _STAMP.read_text() == digest:
            return
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=HERE,
            check=True,
            capture_output=True,
            timeout=600,
        )
        _STAMP.write_text(digest)


@dataclass
class NodeOpcUaServer:
    """One running server.js; ``generation`` is carried in every value it serves."""

    port: int
    generation: int
    process: asyncio.subprocess.Process
    _drain: asyncio.Task[bytes] | None = None

    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}/plantos"

    @classmethod
    async def start(
        cls, port: int, generation: int, pki: Path, *, timeout_s: float = 60
    ) -> NodeOpcUaServer:
        """Start server.js; its certificates live in ``pki`` (``server/own/certs``, and
        ``server/trusted/certs`` for the client certificates it trusts)."""
        process = await asyncio.create_subprocess_exec(
            "node",
            str(HERE / "server.js"),
            str(port),
            str(generation),
            str(pki),
            cwd=HERE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert process.stdout is not None
        try:
            await asyncio.wait_for(_ready(process.stdout), timeout_s)
        except (TimeoutError, RuntimeError):
            process.kill()
            await process.wait()
            raise
        server = cls(port, generation, process)
        server._drain = asyncio.create_task(process.stdout.read())  # a full pipe would block it
        return server

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._drain is not None:
            await self._drain


async def _ready(stdout: asyncio.StreamReader) -> None:
    """Wait for server.js's ``ready`` line (node-opcua logs warnings before it)."""
    while line := await stdout.readline():
        if line.startswith(b"ready"):
            return
    raise RuntimeError("node-opcua server exited before it was ready")
