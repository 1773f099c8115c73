"""Acknowledged samples survive ``kill -9``: a writer process is killed mid-stream and every
batch it acknowledged is found afterwards, whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from plantos.historian.duckdb_store import DuckDBHistorian
from plantos.historian.protocol import Tier

NS = 1_000_000_000
ROWS = 20_000
T0 = 1_767_225_600 * NS

WRITER = textwrap.dedent(
    f"""
    import sys
    import numpy as np
    from pathlib import Path
    from plantos.core.batch import SampleBatch
    from plantos.historian.duckdb_store import DuckDBHistorian
    from plantos.historian.protocol import Tier

    store = DuckDBHistorian(Path(sys.argv[1]), tiers=[Tier(60 * {NS}, None)])
    i = 0
    while True:
        ts = {T0} + (i * {ROWS} + np.arange({ROWS})) * 1_000_000
        store.write(SampleBatch.of(np.arange({ROWS}) % 50, ts, np.full({ROWS}, float(i))))
        if i % 10 == 9:
            store.maintain(int(ts[-1]))
        print("acked", i, flush=True)
        i += 1
    """
)


def test_every_acknowledged_batch_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    acked = -1
    assert child.stdout is not None
    try:
        for line in child.stdout:
            acked = int(line.split()[1])
            if acked >= 40:
                break
        child.send_signal(signal.SIGKILL)  # no chance to close, flush or checkpoint
    finally:
        child.kill()
        child.wait(timeout=30)
        child.stdout.close()
    assert acked >= 40, "the writer never got going"
    store = DuckDBHistorian(path, tiers=[Tier(60 * NS, None)])
    try:
        raw = store.query_raw(0, T0, T0 + 10**6 * NS, limit=10**7)
        batches_seen = np.unique(raw.value).astype(int)
        # every acknowledged batch is there, and only whole batches are there
        assert set(range(acked + 1)) <= set(batches_seen.tolist())
        assert batches_seen.tolist() == list(range(len(batches_seen)))
        total = store.stats()["samples"]
        assert total % ROWS == 0 and total // ROWS == len(batches_seen)
    finally:
        store.close()
