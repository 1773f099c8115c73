"""YAML parsing that remembers where every value stood, so errors can name file and line.

PyYAML's safe loader is used as it is; mappings and sequences come back as
``dict``/``list`` subclasses that carry the 1-based line of each key and item.
Duplicate keys, which plain YAML silently overwrites, are reported.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode

from plantos.core.errors import ConfigProblem


class LineDict(dict[Any, Any]):
    """A mapping that knows the line of each key (``key_lines``) and its own (``line``)."""

    line: int = 0
    key_lines: dict[Any, int]


class LineList(list[Any]):
    """A sequence that knows the line of each item (``item_lines``) and its own (``line``)."""

    line: int = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    def __init__(self, stream: str, file: str) -> None:
        super().__init__(stream)
        self.file = file
        self.problems: list[ConfigProblem] = []

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        self.flatten_mapping(node)
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):  # ``{a: 1}: x`` or ``[a]: x``: YAML allows it
                kind = "mapping" if isinstance(key, dict) else "list"
                line = key_node.start_mark.line + 1
                self.problems.append(
                    ConfigProblem(self.file, line, f"a key must be a value, not a {kind}")
                )
                continue
            if key in out:
                self.problems.append(
                    ConfigProblem(
                        self.file,
                        key_node.start_mark.line + 1,
                        f"duplicate key {key!r} (first at line {out.key_lines[key]})",
                    )
                )
                continue
            out[key] = self.construct_object(value_node, deep=True)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out

    def construct_sequence(self, node: SequenceNode, deep: bool = False) -> list[Any]:
        out = LineList(self.construct_object(child, deep=True) for child in node.value)
        out.line = node.start_mark.line + 1
        out.item_lines = [child.start_mark.line + 1 for child in node.value]
        return out


_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: loader.construct_mapping(node),
)
_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
    lambda loader, node: loader.construct_sequence(node),
)


def parse(text: str, file: str) -> tuple[Any, list[ConfigProblem]]:
    """Parse YAML text; return the data and the problems found (syntax or duplicate keys)."""
    try:
        loader = _Loader(text, file)  # the reader rejects control characters right here
    except yaml.reader.ReaderError as exc:
        return None, [_unreadable(text, file, exc)]
    try:
        data = loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        return None, [_unreadable(text, file, exc)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        return None, [ConfigProblem(file, line, f"YAML syntax error: {what}")]
    except yaml.YAMLError as exc:
        return None, [ConfigProblem(file, None, f"YAML error: {exc}")]
    finally:
        loader.dispose()
    return data, loader.problems


def _unreadable(text: str, file: str, exc: yaml.reader.ReaderError) -> ConfigProblem:
    line = text.count("\n", 0, exc.position) + 1
    return ConfigProblem(
        file, line, f"YAML syntax error: {exc.reason} (character #x{exc.character:04x})"
    )


def line_of(data: Any, loc: Sequence[Any]) -> int | None:
    """The line of the deepest element of ``loc`` that exists in ``data``."""
    line = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
        inner = getattr(node, "line", None)
        if inner and not isinstance(node, LineDict | LineList):
            line = inner
    return line
