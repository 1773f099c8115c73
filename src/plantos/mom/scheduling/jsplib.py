"""Reading job-shop instances in the standard JSPLIB (OR-Library) text format.

``#`` starts a comment line; the first other line is ``jobs machines``; then one
line per job of ``machine duration`` pairs in technological order, machines from 0.
Every problem is reported with ``file:line`` so a broken instance is found at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from plantos.mom.scheduling.problem import SchedulingError


class InstanceFormatError(SchedulingError):
    """A job-shop file that does not follow the format; the message starts ``file:line``."""


@dataclass(frozen=True)
class JobShop:
    """Jobs as tuples of ``(machine, duration)`` in the order they must run."""

    machines: int
    jobs: tuple[tuple[tuple[int, int], ...], ...]

    @property
    def operations(self) -> int:
        return sum(len(job) for job in self.jobs)


def read_jsplib(path: Path) -> JobShop:
    """Parse ``path``; raises :class:`InstanceFormatError` naming the file and line."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceFormatError(f"{path}: cannot read: {exc}") from None
    return parse_jsplib(text, name=str(path))


def parse_jsplib(text: str, *, name: str = "<text>") -> JobShop:
    lines = [
        (number, line.split())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise InstanceFormatError(f"{name}:1: no 'jobs machines' line")
    number, header = lines[0]
    counts = _integers(header, f"{name}:{number}")
    if len(counts) != 2 or counts[0] < 1 or counts[1] < 1:
        raise InstanceFormatError(
            f"{name}:{number}: expected 'jobs machines', got {' '.join(header)!r}"
        )
    n_jobs, n_machines = counts
    rows = lines[1:]
    if len(rows) != n_jobs:
        where = (
            rows[min(len(rows), n_jobs)][0]
            if len(rows) > n_jobs
            else (rows[-1][0] if rows else number)
        )
        raise InstanceFormatError(
            f"{name}:{where}: {n_jobs} job lines announced, {len(rows)} found"
        )
    return JobShop(n_machines, tuple(_job(row, f"{name}:{n}", n_machines) for n, row in rows))


def _job(fields: list[str], where: str, machines: int) -> tuple[tuple[int, int], ...]:
    values = _integers(fields, where)
    if len(values) % 2:
        raise InstanceFormatError(
            f"{where}: an odd number of values; expected 'machine duration' pairs"
        )
    pairs = tuple(zip(values[::2], values[1::2], strict=True))
    for machine, duration in pairs:
        if not 0 <= machine < machines:
            raise InstanceFormatError(f"{where}: machine {machine} outside 0..{machines - 1}")
        if duration < 0:
            raise InstanceFormatError(f"{where}: negative duration {duration}")
    return pairs


def _integers(fields: list[str], where: str) -> list[int]:
    try:
        return [int(f) for f in fields]
    except ValueError:
        bad = next(f for f in fields if not f.lstrip("-").isdigit())
        raise InstanceFormatError(f"{where}: {bad!r} is not an integer") from None
