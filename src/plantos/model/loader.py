"""Load ``plantos.yaml``: parse, validate, resolve, and report every problem with its line."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from plantos.core.errors import ConfigError, ConfigProblem
from plantos.model import yamlsource
from plantos.model.plant import Plant, build_plant
from plantos.model.schema import PlantSpec

MAX_CONFIG_BYTES = 16 * 1024 * 1024


def load_plant(path: str | Path) -> Plant:
    """Read and validate a plant file; raise :class:`ConfigError` listing every problem."""
    return load_plant_text(read_config_text(path), file=str(path))


def read_config_text(path: str | Path) -> str:
    """A configuration file's text; :class:`ConfigError` when it cannot be read, is larger
    than :data:`MAX_CONFIG_BYTES` or is not UTF-8."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigProblem(file, None, f"cannot read file: {exc.strerror}")]) from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            [ConfigProblem(file, None, f"file is larger than {MAX_CONFIG_BYTES} bytes")]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(file, None, f"not UTF-8 text: {exc.reason}")]) from exc


def load_plant_text(text: str, *, file: str = "<text>") -> Plant:
    data, problems = yamlsource.parse(text, file)
    if problems and data is None:
        raise ConfigError(problems)
    if not isinstance(data, dict):
        raise ConfigError(
            [
                *problems,
                ConfigProblem(file, 1, "the file must be a mapping with 'enterprise' and 'sites'"),
            ]
        )
    try:
        spec = PlantSpec.model_validate(data)
    except ValidationError as exc:
        locate = partial(yamlsource.line_of, data)
        raise ConfigError(problems + validation_problems(exc, locate, file)) from None
    try:
        plant = build_plant(spec, line_of=lambda loc: yamlsource.line_of(data, loc), file=file)
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems) from None
    if problems:  # a duplicate key: the plant built from the first, but the file is wrong
        raise ConfigError(problems)
    return plant


def validation_problems(
    exc: ValidationError,
    locate: Callable[[tuple[Any, ...]], int | None],
    file: str,
    prefix: tuple[Any, ...] = (),
) -> list[ConfigProblem]:
    """Pydantic's errors as problems with file, line and the dotted place in the file."""
    out = []
    for err in exc.errors(include_url=False):
        loc = (*prefix, *err["loc"])
        where = _dotted(loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}"
            where = _dotted(loc[:-1])
        elif err["type"] == "missing":
            msg = f"{loc[-1]!r} is required"
            where = _dotted(loc[:-1])
        out.append(ConfigProblem(file, locate(loc), f"{where}: {msg}" if where else msg))
    return out


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
