"""A value is late according to how its tag reports: never by age when reported by
exception, after a few polls when polled, after a few sampling periods when fed directly."""

from __future__ import annotations

from dataclasses import dataclass

from plantos.live import Reporting, tag_reporting
from plantos.model.plant import TagDef, Waveform

SECOND_NS = 1_000_000_000


def tag(path: str, *, waveform: Waveform | None = None) -> TagDef:
    return TagDef(
        path, "s/a/l/m", path.rsplit("/", 1)[-1], "float", None, None, SECOND_NS, waveform=waveform
    )


@dataclass
class Polled:
    tag_ids: list[int]
    interval_s: float


@dataclass
class Subscribed:
    tag_ids: list[int]
    interval_s: float
    reports_by_exception: bool = True


def test_each_tag_reports_like_the_connector_that_feeds_it() -> None:
    tags = {1: tag("s/a/l/m/temp"), 2: tag("s/a/l/m/state"), 3: tag("s/a/l/m/flow")}
    reporting = tag_reporting(tags, [Polled([1], 0.5), Subscribed([2], 0.25)])
    assert reporting[1] == Reporting("poll", 500.0)
    assert reporting[2] == Reporting("exception", None)
    assert reporting[3] == Reporting("sample", 1000.0)


def test_a_value_reported_by_exception_is_never_late_by_age() -> None:
    assert Reporting("exception", None).late_after_ms(rate=60.0) is None


def test_a_polled_value_is_late_after_three_polls_in_platform_time() -> None:
    assert Reporting("poll", 250.0).late_after_ms(rate=10.0) == 7500.0


def test_a_waveform_fed_directly_is_late_after_three_snapshot_periods() -> None:
    wave = Waveform(rate_hz=10_000.0, samples=4096, every_ns=300 * SECOND_NS)
    reporting = tag_reporting({1: tag("s/a/l/m/wave", waveform=wave)}, [])
    assert reporting[1].late_after_ms() == 900_000.0
