"""Whatever a user types, parsers answer with PlantOS's own errors, never a crash."""

from __future__ import annotations

import contextlib
import string

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from plantos.core.errors import ConfigError, QueryError
from plantos.historian.request import HistoryRequest
from plantos.model import load_plant_text
from tests.unit.test_model_loader import BASE

NOW = 1_767_225_600 * 1_000_000_000

yaml_ish = st.text(alphabet=string.printable, max_size=400)


@settings(max_examples=300, deadline=None)
@given(yaml_ish)
def test_any_text_is_a_plant_or_a_config_error(text: str) -> None:
    try:
        load_plant_text(text, file="fuzz.yaml")
    except ConfigError as exc:
        assert exc.problems and all(p.file == "fuzz.yaml" for p in exc.problems)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(BASE)), st.text(alphabet=string.printable, max_size=30))
def test_a_damaged_valid_file_gives_problems_with_lines(cut: int, insert: str) -> None:
    text = BASE[:cut] + insert + BASE[cut:]
    try:
        load_plant_text(text, file="plant.yaml")
    except ConfigError as exc:
        lines = len(text.splitlines()) + 1  # YAML also breaks lines at a lone \r
        assert all(p.line is None or 1 <= p.line <= lines for p in exc.problems)


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "plantos",
                "enterprise",
                "sites",
                "assets",
                "calendars",
                "asset_types",
                "historian",
                "other",
            ]
        ),
        values,
    )
)
def test_any_yaml_structure_is_a_plant_or_a_config_error(doc: dict) -> None:
    with contextlib.suppress(ConfigError):
        load_plant_text(yaml.safe_dump(doc), file="fuzz.yaml")


words = st.one_of(
    st.none(),
    st.text(max_size=25),
    st.sampled_from(
        ["now", "-1h", "-0s", "2026-01-01T00:00:00Z", "1m", "0s", "avg,max", "twa", "1e9", "-", ","]
    ),
)


@settings(max_examples=400, deadline=None)
@given(words, words, words, words, st.integers(-5, 2_000_000))
def test_any_history_request_is_parsed_or_refused_with_a_query_error(
    start: str | None, end: str | None, bucket: str | None, agg: str | None, limit: int
) -> None:
    try:
        request = HistoryRequest.parse(
            now_ns=NOW, start=start, end=end, bucket=bucket, agg=agg, limit=limit
        )
    except QueryError as exc:
        assert str(exc)
    else:
        assert request.start_ns < request.end_ns
        assert request.bucket_ns is None or request.bucket_ns > 0
