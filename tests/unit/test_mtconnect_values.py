"""MTConnect values: which text is a number, which is text, and what is wrong with it."""

from __future__ import annotations

import doctest
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantos.edge.mtconnect import documents, values
from plantos.edge.mtconnect.documents import Observation, parse_number
from plantos.edge.mtconnect.values import device_value


def obs(text: str, category: str = "EVENT", element: str = "Program") -> Observation:
    value = None if text == "UNAVAILABLE" else parse_number(text)
    return Observation("i", 1, 0, value, category, text, element)


@settings(max_examples=100, deadline=None)
@given(number=st.integers(-(2**70), 2**70))
def test_whole_numbers_parse_exact(number: int) -> None:
    parsed = parse_number(str(number))
    assert parsed == number and type(parsed) is int


@settings(max_examples=100, deadline=None)
@given(number=st.floats(allow_nan=False, allow_infinity=False))
def test_decimals_parse_to_the_same_float(number: float) -> None:
    assert parse_number(repr(number)) == number


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=30))
def test_any_text_is_a_number_or_itself(text: str) -> None:
    parsed = parse_number(text)
    assert parsed == text or isinstance(parsed, int | float)


@pytest.mark.parametrize("text", ["nan", "inf", "1_000", "0x10", "1e", "", " 5", "١٢"])
def test_what_python_would_stretch_into_a_number_stays_text(text: str) -> None:
    assert parse_number(text) == text


@pytest.mark.parametrize(
    ("observation", "kwargs", "expected"),
    [
        (obs("O1234"), {}, ("O1234", None)),
        (obs("1234"), {}, ("1234", None)),  # a program named 1234 is text
        (obs("ACTIVE", element="Execution"), {}, ("ACTIVE", None)),
        (obs(str(2**64 - 1), element="PartCount"), {}, (2**64 - 1, None)),
        (obs("12.5", "SAMPLE", "Position"), {}, (12.5, None)),
        (obs("1 2 3", "SAMPLE", "PathPosition"), {}, ("1 2 3", "non_numeric")),
        (obs("FAULT", "CONDITION", "Temperature"), {}, ("FAULT", None)),
        (obs("READY", element="Execution"), {"states": {"READY": 1}}, (1, None)),
        (
            obs("STOPPED", element="Execution"),
            {"states": {"READY": 1}},
            ("STOPPED", "unmapped_states"),
        ),
        (obs("42", element="x:Hours"), {"forced": "number"}, (42, None)),
        (obs("42", "SAMPLE", "Load"), {"forced": "text"}, ("42", None)),
        (obs("UNAVAILABLE", element="PartCount"), {}, (None, None)),
    ],
)
def test_device_value(observation: Observation, kwargs: dict, expected: tuple) -> None:
    assert device_value(observation, **kwargs) == expected


def test_a_huge_exponent_is_a_float_not_an_error() -> None:
    assert math.isinf(parse_number("1e999"))  # the gate marks it Bad, it is not lost


def test_docstring_examples_run() -> None:
    for module in (documents, values):
        assert doctest.testmod(module, raise_on_error=False).failed == 0
