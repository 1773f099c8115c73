"""Shared helpers for the PlantOS benchmarks: machine description, timing, report sections.

Every bench module defines ``main(argv)`` and writes one section of
``docs/benchmarks.md`` through :func:`write_section`; ``bench/run.py`` runs them.
"""

from __future__ import annotations

import datetime as _dt
import gc
import os
import platform
import re
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORK = BENCH_DIR / ".work"
DOC = REPO / "docs" / "benchmarks.md"

# Benchmarks run against the checkout, installed or not.
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

from plantos.testing.ports import free_port as free_port  # noqa: E402  (the checkout's, above)

TIMES = "\u00d7"  # the multiplication sign of ratios in tables
DASH = "\u2013"  # an empty table cell

DOC_HEADER = """# PlantOS benchmarks

Each section below compares PlantOS with peers measured in the same run, on the
same machine, with the same data. Read the **ratios**: absolute times on a shared
machine are noise from one run to the next, a ratio against a peer measured
minutes apart on the same box is not. Every section states the machine and the
date it was measured on.

Reproduce with `make bench` (which runs `python bench/run.py`), or one module with
`python bench/run.py bench/historian_write.py`; each module takes `--help`.
Temporary data goes to `bench/.work/` (git-ignored).
"""


# ---- machine ------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.machine()


def _ram_gib() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    match = re.search(r"^MemTotal:\s*(\d+)\s*kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024**2 if match else None


def _version(module: str) -> str:
    try:
        mod = __import__(module)
    except ImportError:
        return "not installed"
    return str(getattr(mod, "__version__", "?"))


def utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    ram = _ram_gib()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(ram, 1) if ram is not None else None,
        "python": platform.python_version(),
        "duckdb": _version("duckdb"),
        "numpy": _version("numpy"),
        "pyarrow": _version("pyarrow"),
        "date": utc_now(),
    }


def machine_line(extra: dict[str, str] | None = None) -> str:
    """One markdown line describing the machine, the library versions and the date."""
    m = machine()
    parts = [
        f"{m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM",
        f"Python {m['python']}",
        f"duckdb {m['duckdb']}",
        f"numpy {m['numpy']}",
        f"pyarrow {m['pyarrow']}",
    ]
    parts += [f"{k} {v}" for k, v in (extra or {}).items()]
    return f"*Machine:* {'; '.join(parts)}. *Measured:* {m['date']}."


# ---- timing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of N repeats."""

    runs: list[float]

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def __str__(self) -> str:
        return f"median {fmt_s(self.median)}, best {fmt_s(self.best)} (n={len(self.runs)})"


def timeit(
    fn: Callable[[], Any],
    *,
    repeat: int,
    warmup: int = 0,
    setup: Callable[[], Any] | None = None,
) -> Timing:
    """Time ``fn()`` ``repeat`` times after ``warmup`` untimed calls.

    ``setup`` (untimed) runs before every call; the garbage collector is paused
    while ``fn`` runs so a collection does not land in one repeat by chance.
    """
    for _ in range(warmup):
        if setup is not None:
            setup()
        fn()
    runs = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
        finally:
            gc.enable()
    return Timing(runs)


def timeit_interleaved(
    cases: dict[str, Callable[[], Any]], *, repeat: int | dict[str, int], warmup: int = 0
) -> dict[str, Timing]:
    """Time several functions round robin, so drift in the machine's load hits all alike.

    ``repeat`` is one count for all or a count per case; a case drops out of the
    rounds once it has its count. ``warmup`` untimed rounds come first.
    """
    counts = repeat if isinstance(repeat, dict) else dict.fromkeys(cases, repeat)
    for _ in range(warmup):
        for fn in cases.values():
            fn()
    runs: dict[str, list[float]] = {name: [] for name in cases}
    while any(len(runs[name]) < counts[name] for name in cases):
        for name, fn in cases.items():
            if len(runs[name]) >= counts[name]:
                continue
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                fn()
                runs[name].append(time.perf_counter() - t0)
            finally:
                gc.enable()
    return {name: Timing(r) for name, r in runs.items()}


def fmt_s(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_rate(per_s: float) -> str:
    if per_s >= 1e6:
        return f"{per_s / 1e6:.2f} M"
    if per_s >= 1e3:
        return f"{per_s / 1e3:.0f} k"
    return f"{per_s:.0f}"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def markdown_table(header: list[str], rows: Iterable[list[Any]], align: str | None = None) -> str:
    """A GitHub markdown table; ``align`` is one letter per column, ``l`` or ``r``."""
    rows = [[str(c) for c in r] for r in rows]
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def print_table(header: list[str], rows: Iterable[list[Any]]) -> None:
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


# ---- files --------------------------------------------------------------------------------


def work_dir(name: str) -> Path:
    """A scratch directory under bench/.work/, created on demand."""
    path = WORK / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_duckdb(path: Path) -> None:
    """Delete a DuckDB file and its write-ahead log."""
    for p in (path, path.with_name(path.name + ".wal"), path.with_name(path.name + ".tmp")):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def duckdb_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + ".wal")) if p.exists())


# ---- report -------------------------------------------------------------------------------


def write_section(name: str, markdown: str, doc: Path = DOC) -> Path:
    """Replace section ``name`` of docs/benchmarks.md, or append it; create the file if needed."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = doc.read_text() if doc.exists() else DOC_HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
    return doc


def publish(name: str, markdown: str, *, skip: bool) -> None:
    """Write section ``name`` of docs/benchmarks.md unless ``skip`` (a quick run)."""
    if skip:
        print("docs/benchmarks.md not updated (--quick / --no-doc)")
    else:
        print(f"section {name} written to {write_section(name, markdown)}")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    if not values:
        raise ValueError("no values to take a percentile of")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
