"""State rule expressions: ``spindle_speed > 100 and program != 0``, compiled to numpy.

Rules come from YAML that plant engineers write, so they are parsed with
Python's :mod:`ast` and then only a tiny whitelist is accepted: comparisons
(chained too), ``and``, ``or``, ``not``, numbers, ``true``/``false`` and signal
names. Nothing is ever passed to ``eval``; the accepted tree is turned into a
closure that evaluates over whole arrays of signal values at once.

>>> rule = compile_rule("spindle_speed > 100 and program != 0")
>>> sorted(rule.signals)
['program', 'spindle_speed']
>>> import numpy as np
>>> rule.evaluate({"spindle_speed": np.array([0.0, 500.0]), "program": np.array([7.0, 7.0])})
array([False,  True])
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Env = Mapping[str, FloatArray]
_Value = Callable[[Env], FloatArray | float]
_Test = Callable[[Env], BoolArray]

_COMPARE: dict[type[ast.cmpop], np.ufunc] = {
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_CONSTANTS = {"true": 1.0, "false": 0.0}


class ExpressionError(ValueError):
    """A rule expression that is not in the grammar; the message shows where and why."""

    def __init__(self, text: str, message: str, col: int | None = None) -> None:
        where = f" at column {col + 1}" if col is not None else ""
        super().__init__(f"rule {text!r}{where}: {message}")


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled expression: the signals it reads and a vectorised test over them."""

    text: str
    signals: frozenset[str]
    _test: _Test

    def evaluate(self, env: Env) -> BoolArray:
        """Truth at every position of the (equally long) signal arrays in ``env``."""
        return self._test(env)


def compile_rule(text: str) -> Rule:
    """Parse ``text`` with the restricted grammar, or raise :class:`ExpressionError`."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(str(text), "is empty: write e.g. 'spindle_speed > 100'")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(
            text, f"is not valid syntax ({exc.msg})", (exc.offset or 1) - 1
        ) from None
    signals: set[str] = set()
    test = _Compiler(text, signals).test(tree.body)
    if not signals:
        raise ExpressionError(text, "reads no signal: name at least one, e.g. 'alarm == 1'")
    return Rule(text, frozenset(signals), test)


class _Compiler:
    def __init__(self, text: str, signals: set[str]) -> None:
        self.text = text
        self.signals = signals

    def fail(self, node: ast.AST, message: str) -> ExpressionError:
        return ExpressionError(self.text, message, getattr(node, "col_offset", None))

    def test(self, node: ast.expr) -> _Test:
        if isinstance(node, ast.BoolOp):
            parts = [self.test(v) for v in node.values]
            join = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return lambda env: _reduce(join, [p(env) for p in parts])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.test(node.operand)
            return lambda env: np.logical_not(inner(env))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        value = self.value(node)
        return lambda env: np.asarray(value(env), dtype=np.float64) != 0.0

    def compare(self, node: ast.Compare) -> _Test:
        ops = []
        for op in node.ops:
            fn = _COMPARE.get(type(op))
            if fn is None:
                raise self.fail(node, f"operator {type(op).__name__} is not allowed")
            ops.append(fn)
        operands = [self.value(node.left), *(self.value(c) for c in node.comparators)]

        def run(env: Env) -> BoolArray:
            values = [o(env) for o in operands]
            tests = [
                np.asarray(fn(a, b), dtype=np.bool_)
                for fn, a, b in zip(ops, values, values[1:], strict=False)
            ]
            return _reduce(np.logical_and, tests)

        return run

    def value(self, node: ast.expr) -> _Value:
        if isinstance(node, ast.Name):
            if node.id in _CONSTANTS:
                constant = _CONSTANTS[node.id]
                return lambda env: constant
            name = node.id
            self.signals.add(name)
            return lambda env: env[name]
        number = _number(node)
        if number is not None:
            return lambda env: number
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = _number(node.operand)
            if inner is not None:
                signed = -inner if isinstance(node.op, ast.USub) else inner
                return lambda env: signed
        what = type(node).__name__
        if isinstance(node, ast.Constant):
            what = f"constant {node.value!r}"
        raise self.fail(
            node,
            f"{what} is not allowed: use signal names, numbers, comparisons, and, or, not",
        )


def _number(node: ast.expr) -> float | None:
    """The value of a numeric literal (``True``/``False`` are not numbers here)."""
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _reduce(fn: Callable[[BoolArray, BoolArray], BoolArray], parts: list[BoolArray]) -> BoolArray:
    out = parts[0]
    for part in parts[1:]:
        out = fn(out, part)
    return np.asarray(out, dtype=np.bool_)
