"""State rule expressions: a small safe grammar, clear errors, vectorised evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from plantos.analytics.oee.expr import ExpressionError, compile_rule


def env(**signals: list[float]) -> dict[str, np.ndarray]:
    return {k: np.array(v, dtype=np.float64) for k, v in signals.items()}


def test_comparison_and_boolean_operators_evaluate_elementwise() -> None:
    rule = compile_rule("spindle_speed > 100 and program != 0")
    got = rule.evaluate(env(spindle_speed=[0, 500, 500], program=[7, 7, 0]))
    assert got.tolist() == [False, True, False]
    assert rule.signals == {"spindle_speed", "program"}


def test_or_not_chained_comparisons_negative_numbers_and_true_false() -> None:
    rule = compile_rule("not (alarm == true) or -5 < temp <= 1e2")
    got = rule.evaluate(env(alarm=[1, 1, 0], temp=[50, 200, 500]))
    assert got.tolist() == [True, False, True]


def test_bare_signal_is_true_when_nonzero() -> None:
    assert compile_rule("alarm").evaluate(env(alarm=[0, 2])).tolist() == [False, True]


def test_nan_compares_false_so_missing_data_never_looks_like_running() -> None:
    rule = compile_rule("speed > 100")
    with np.errstate(invalid="ignore"):
        assert rule.evaluate(env(speed=[np.nan, np.inf])).tolist() == [False, True]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os').system('true')", "Call is not allowed"),
        ("speed.real > 1", "Attribute is not allowed"),
        ("speed + 1 > 100", "BinOp is not allowed"),
        ("speed > 'fast'", "constant 'fast' is not allowed"),
        ("speed in [1, 2]", "operator In is not allowed"),
        ("speed is None", "operator Is is not allowed"),
        ("speed >", "is not valid syntax"),
        ("lambda: 1", "Lambda is not allowed"),
        ("1 > 0", "reads no signal"),
        ("   ", "is empty"),
    ],
)
def test_anything_outside_the_grammar_is_refused_with_the_reason(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=fragment) as info:
        compile_rule(text)
    assert repr(text) in str(info.value)


def test_error_points_at_the_column() -> None:
    with pytest.raises(ExpressionError, match="at column 15"):
        compile_rule("speed > 1 and f(x)")


def test_expressions_are_never_evaluated_by_python() -> None:
    """A name that would be a builtin is just a signal; nothing is looked up or run."""
    rule = compile_rule("open > 1")
    assert rule.signals == {"open"}
    assert rule.evaluate(env(open=[2])).tolist() == [True]
