"""One error root for PlantOS, with the specific kinds the API and CLI map to answers."""

from __future__ import annotations


class PlantOSError(Exception):
    """Root of every error PlantOS raises on purpose."""


class ConfigError(PlantOSError):
    """A configuration file is wrong; carries every problem found, each with file and line."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigProblem:
    """One problem in a configuration file: where it is and a plain sentence saying what."""

    __slots__ = ("file", "line", "message")

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"ConfigProblem({self.file!r}, {self.line!r}, {self.message!r})"


class QueryError(PlantOSError):
    """A query is malformed (for example ``from`` after ``to`` or a zero bucket)."""


class UnknownTagError(PlantOSError):
    """A tag path or id that the plant model does not define."""


class HistorianBusyError(PlantOSError):
    """The historian file is held by another running PlantOS process."""


class AuthError(PlantOSError):
    """A credential is missing, unknown or expired."""
