"""Scopes: the part of the plant a grant covers, as a plant-model path.

A grant's scope is the enterprise (empty) or a site, area or line path
(``plant-b``, ``plant-b/assembly/line-2``). It covers every path below it at a
``/`` boundary, so ``plant-b`` covers ``plant-b/assembly/...`` but not ``plant-bx``.
A resource of the whole enterprise (platform status, connectors, the user list) is
covered only by an enterprise grant.
"""

from __future__ import annotations

import re

ENTERPRISE = ""
"""The scope of a grant on the whole enterprise, and the path of enterprise-wide things."""

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def parse_scope(text: str | None) -> str:
    """A scope from user input: empty, ``*`` or ``/`` for the enterprise, else a path of
    plain segments; :class:`ValueError` otherwise."""
    path = (text or "").strip().strip("/")
    if path in ("", "*"):
        return ENTERPRISE
    for segment in path.split("/"):
        if not _SEGMENT.fullmatch(segment):
            raise ValueError(f"scope {text!r}: segment {segment!r} is not a plant-model id")
    return path


def covers(scope: str, path: str) -> bool:
    """Whether a grant on ``scope`` reaches ``path`` (:data:`ENTERPRISE` for enterprise-wide).

    >>> covers("plant-b", "plant-b/assembly/line-2/press-1/temp")
    True
    >>> covers("plant-b", "plant-bx/a")
    False
    >>> covers("plant-b", "")
    False
    """
    if scope == ENTERPRISE:
        return True
    path = path.strip("/")
    return path == scope or path.startswith(scope + "/")


def describe(scope: str) -> str:
    return "the whole enterprise" if scope == ENTERPRISE else scope
