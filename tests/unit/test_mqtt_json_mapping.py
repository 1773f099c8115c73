"""Topic patterns with captures, tag templates, the JSON path subset and the readers of
values, timestamps and qualities used by the MQTT JSON connector."""

from __future__ import annotations

import doctest
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plantos.core import quality
from plantos.edge.mqtt import json_config, json_mapping
from plantos.edge.mqtt.json_mapping import (
    JsonPath,
    MappingError,
    TagTemplate,
    TopicPattern,
    to_quality,
    to_timestamp_ns,
    to_value,
)


def test_docstring_examples_run() -> None:
    assert doctest.testmod(json_mapping, raise_on_error=True).failed == 0
    assert doctest.testmod(json_config, raise_on_error=True).failed == 0


# ----------------------------------------------------------------------------- topics


@pytest.mark.parametrize(
    ("pattern", "topic", "captures"),
    [
        ("acme/{site}/+/{signal}", "acme/a/b/speed", {"site": "a", "signal": "speed"}),
        ("acme/{site}/+/{signal}", "acme/a/b", None),
        ("acme/{site}/+/{signal}", "acme/a/b/c/d", None),
        ("acme/{site}/#", "acme/a/b/c/d", {"site": "a"}),
        ("acme/{site}/#", "acme/a", {"site": "a"}),  # '#' also matches its parent level
        ("acme/plant/x", "acme/plant/x", {}),
        ("acme/plant/x", "acme/plant/y", None),
        ("acme/{a}", "acme/", {"a": ""}),  # an empty level is a level
        ("#", "anything/at/all", {}),
    ],
)
def test_topic_patterns_match_like_mqtt_filters_and_keep_captures(
    pattern: str, topic: str, captures: dict[str, str] | None
) -> None:
    assert TopicPattern.parse(pattern).match(topic) == captures


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("", "non-empty"),
        ("a/#/b", "'#' may only be the last level"),
        ("a/b#", "mixes text with a wildcard"),
        ("a/st-{n}", "mixes text with a wildcard"),
        ("a/{x}/{x}", "captures {x} twice"),
        ("a/{1x}", "mixes text with a wildcard"),
    ],
)
def test_bad_topic_patterns_say_why(pattern: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("{", r"\{").replace("}", r"\}")):
        TopicPattern.parse(pattern)


@pytest.mark.parametrize(
    ("a", "b", "covers", "overlaps"),
    [
        ("a/+/c", "a/b/c", True, True),
        ("a/b/c", "a/+/c", False, True),
        ("a/#", "a", True, True),
        ("a/#", "a/b/c", True, True),
        ("a/+", "a/b/c", False, False),
        ("a/+/c", "a/b/#", False, True),
        ("a/b", "a/c", False, False),
        ("a/{x}", "a/+", True, True),
        ("a/b", "a/b/#", False, True),
        ("a", "a/b", False, False),
    ],
)
def test_covers_and_overlaps(a: str, b: str, covers: bool, overlaps: bool) -> None:
    pa, pb = TopicPattern.parse(a), TopicPattern.parse(b)
    assert pa.covers(pb) is covers
    assert pa.overlaps(pb) is overlaps and pb.overlaps(pa) is overlaps


_level = st.sampled_from(["a", "b", "+"])
_filters = st.builds(
    lambda levels, hash_: "/".join(levels + (["#"] if hash_ else [])),
    st.lists(_level, min_size=1, max_size=3),
    st.booleans(),
)
_topics = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4).map("/".join)


@given(_filters, _filters, st.lists(_topics, max_size=30))
def test_covers_and_overlaps_agree_with_matching(a: str, b: str, topics: list[str]) -> None:
    """Brute force over topics: what covers/overlaps claim is never contradicted."""
    pa, pb = TopicPattern.parse(a), TopicPattern.parse(b)
    for t in topics:
        ma, mb = pa.match(t) is not None, pb.match(t) is not None
        if pa.covers(pb) and mb:
            assert ma, (a, b, t)
        if ma and mb:
            assert pa.overlaps(pb), (a, b, t)


# ----------------------------------------------------------------------------- tags


def test_tag_templates_render_and_find_their_plant_tags() -> None:
    t = TagTemplate.parse("plant-a/{area}/{line}/{area}_x")
    assert t.names == ("area", "line", "area")
    assert t.render({"area": "p", "line": "l"}) == "plant-a/p/l/p_x"
    paths = ["plant-a/p/l/p_x", "plant-a/p/l/q_x", "plant-a/p/l/m/p_x", "plant-a.p/l/p_x"]
    assert t.candidates(paths) == ["plant-a/p/l/p_x"]
    explicit = TagTemplate.parse("plant-a/x")
    assert explicit.explicit and explicit.candidates(["plant-a/x", "plant-a/y"]) == ["plant-a/x"]


@pytest.mark.parametrize("text", ["", "a/{b", "a/b}", "a/{}", "a/{b-c}"])
def test_bad_tag_templates(text: str) -> None:
    with pytest.raises(ValueError, match="tag"):
        TagTemplate.parse(text)


# ----------------------------------------------------------------------------- JSON paths

DOC = {"value": 1.5, "a": {"b": [{"c": 7}, {"c": 8}]}, "x.y": {"sp ace": True}, "": 3}


@pytest.mark.parametrize(
    ("path", "steps", "found"),
    [
        ("$", (), DOC),
        ("$.value", ("value",), 1.5),
        ("$.a.b[0].c", ("a", "b", 0, "c"), 7),
        ("$.a.b[-1].c", ("a", "b", -1, "c"), 8),
        ("$['x.y'][\"sp ace\"]", ("x.y", "sp ace"), True),
        ("$['']", ("",), 3),
    ],
)
def test_json_paths(path: str, steps: tuple[str | int, ...], found: object) -> None:
    p = JsonPath.parse(path)
    assert p.steps == steps
    assert p.get(DOC) == found


@pytest.mark.parametrize("path", ["$.nope", "$.a.b[2]", "$.a.b[-3]", "$.value.x", "$.a[0]"])
def test_json_paths_that_find_nothing_raise_mapping_errors(path: str) -> None:
    with pytest.raises(MappingError, match="nothing at step"):
        JsonPath.parse(path).get(DOC)


def test_a_list_index_does_not_read_a_dict_key_or_the_reverse() -> None:
    with pytest.raises(MappingError):
        JsonPath.parse("$[0]").get({"0": 1})
    with pytest.raises(MappingError):
        JsonPath.parse("$['0']").get([1])


@pytest.mark.parametrize("path", ["value", "$value", "$.", "$.a..b", "$[x]", "$.a[0", "$.a b"])
def test_bad_json_paths_say_which_steps_exist(path: str) -> None:
    with pytest.raises(ValueError, match=r"starts with \$|supported steps"):
        JsonPath.parse(path)


# ----------------------------------------------------------------------------- readers


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (3, 3),
        (-2.5, -2.5),
        (True, True),
        (False, False),
        ("42", 42),
        (" 1e3 ", 1000.0),
        (2**53 + 1, 2**53 + 1),  # exact, never through a float
        (-(2**63), -(2**63)),
        (2**64 - 1, 2**64 - 1),
        ("18446744073709551615", 2**64 - 1),
        (10**300, 10**300),  # the gate says it fits no integer tag
        ("abc", "abc"),  # not a number: delivered, the gate marks a number tag Bad
        ("", ""),
        ("1" * 5000, "1" * 5000),  # more digits than Python converts: text
    ],
)
def test_values_keep_their_json_type(raw: object, value: object) -> None:
    got = to_value(raw)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("raw", ["42", "P-100", "", "Überdruck ✓", " 7 ", "x" * 100_000])
def test_strings_for_text_tags_are_their_text(raw: str) -> None:
    assert to_value(raw, text=True) == raw
    assert to_value(3, text=True) == 3  # a number for a text tag: the gate's call


@pytest.mark.parametrize(
    "raw", ["nan", "inf", "-Infinity", {"v": 1}, [1], None, 10**400, math.nan, math.inf]
)
def test_what_cannot_be_a_sample_is_refused(raw: object) -> None:
    with pytest.raises(MappingError):
        to_value(raw)
    with pytest.raises(MappingError):
        to_value(raw if not isinstance(raw, str) else {"s": raw}, text=True)


@pytest.mark.parametrize(
    ("raw", "fmt", "ns"),
    [
        (1_750_000_000_123, "epoch_ms", 1_750_000_000_123_000_000),
        ("1750000000123", "epoch_ms", 1_750_000_000_123_000_000),
        (1_750_000_000.5, "epoch_s", 1_750_000_000_500_000_000),
        ("2025-06-15T15:06:40.123Z", "iso8601", 1_750_000_000_123_000_000),
        ("2025-06-15T17:06:40.123+02:00", "iso8601", 1_750_000_000_123_000_000),
        ("2025-06-15T15:06:40.123", "iso8601", 1_750_000_000_123_000_000),  # naive is UTC
    ],
)
def test_timestamps(raw: object, fmt: json_mapping.TimestampFormat, ns: int) -> None:
    assert to_timestamp_ns(raw, fmt) == ns


@pytest.mark.parametrize(
    ("raw", "fmt"),
    [
        (True, "epoch_ms"),
        (-1, "epoch_s"),
        (1e300, "epoch_s"),
        ("yesterday", "epoch_ms"),
        (1_750_000_000_000, "iso8601"),
        ("15.06.2025", "iso8601"),
        ("1960-01-01T00:00:00Z", "iso8601"),
    ],
)
def test_bad_timestamps(raw: object, fmt: json_mapping.TimestampFormat) -> None:
    with pytest.raises(MappingError):
        to_timestamp_ns(raw, fmt)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (0, quality.GOOD),
        (0x80310000, quality.BAD_NO_COMMUNICATION),
        ("good", quality.GOOD),
        ("Bad", quality.BAD),
        ("UNCERTAIN", quality.UNCERTAIN),
        ("BadSensorFailure", quality.BAD_SENSOR_FAILURE),
    ],
)
def test_qualities(raw: object, code: int) -> None:
    assert to_quality(raw) == code


@pytest.mark.parametrize("raw", [-1, 2**32, True, 1.5, "fine", None])
def test_bad_qualities(raw: object) -> None:
    with pytest.raises(MappingError):
        to_quality(raw)


@pytest.mark.parametrize("raw", ["1e999999999999", "1" * 5000, "0x10", "1,5", "--1"])
def test_timestamps_beyond_any_clock_or_not_numbers_are_refused(raw: str) -> None:
    with pytest.raises(MappingError):
        to_timestamp_ns(raw, "epoch_s")
