"""``plantos browse URL``: discover what a device offers, to help write its connector.

``opcua://host:4840[/path]`` (or ``opc.tcp://``) lists the server's variables below
Objects; ``modbus://host:502`` reads a register range and shows each register raw and
as 32-bit pairs. ``--format yaml`` prints candidate ``tags:`` entries to paste into a
connector, with a placeholder asset path to replace. The protocol work lives in
:mod:`plantos.edge.opcua.browse` and :mod:`plantos.edge.modbus.browse`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table as RichTable

from plantos.cli.common import console, out, reported_errors

if TYPE_CHECKING:
    from plantos.edge.modbus import browse as mb
    from plantos.edge.opcua import browse as ob
    from plantos.edge.opcua.config import SecuritySpec

PLACEHOLDER = "site/area/line/asset"
_VALUE_WIDTH = 60
MAX_NODES = 10_000
"""The OPC UA walk's limit (:mod:`plantos.edge.opcua.browse`'s), written out here because
``--help`` shows it and that module imports the OPC UA stack; a unit test keeps the two
equal."""


class Format(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


class TableName(StrEnum):
    holding = "holding"
    input = "input"
    coil = "coil"
    discrete = "discrete"


def browse(
    url: str = typer.Argument(
        ..., help="opcua://HOST:4840/PATH, opc.tcp://..., or modbus://HOST:502"
    ),
    depth: int | None = typer.Option(
        None, "--depth", min=1, help="OPC UA: levels below Objects (default: all)"
    ),
    max_nodes: int = typer.Option(MAX_NODES, "--max-nodes", min=1, help="OPC UA: walk limit"),
    user: str | None = typer.Option(None, "--user", help="OPC UA: user name"),
    password_env: str | None = typer.Option(
        None, "--password-env", help="OPC UA: environment variable holding the password"
    ),
    include_standard: bool = typer.Option(
        False, "--include-standard", help="OPC UA: also walk Server, Aliases and the like"
    ),
    security_policy: str = typer.Option(
        "None", "--security-policy", help="OPC UA: None, Basic256Sha256, ..."
    ),
    security_mode: str = typer.Option(
        "SignAndEncrypt", "--security-mode", help="OPC UA: Sign or SignAndEncrypt"
    ),
    certificate: Path | None = typer.Option(
        None, "--certificate", help="OPC UA: this client's certificate (DER)"
    ),
    private_key: Path | None = typer.Option(
        None, "--private-key", help="OPC UA: this client's private key (PEM)"
    ),
    server_certificate: Path | None = typer.Option(
        None, "--server-certificate", help="OPC UA: the server's certificate (DER), pinned"
    ),
    unit: int = typer.Option(1, "--unit", min=0, max=255, help="Modbus: unit (slave) id"),
    registers: str = typer.Option("0-99", "--registers", help="Modbus: address range A-B"),
    table: TableName = typer.Option(TableName.holding, "--table", help="Modbus: table to read"),
    fmt: Format = typer.Option(Format.table, "--format", help="table, json or yaml"),
    timeout: float = typer.Option(4.0, "--timeout", min=0.1, help="seconds per request"),
) -> None:
    """List what an OPC UA server or Modbus device offers, and candidate tags for it."""
    from plantos.edge.modbus import browse as mb
    from plantos.edge.opcua import browse as ob

    logging.basicConfig(level=logging.ERROR)
    for noisy in ("asyncua", "pymodbus"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    with reported_errors():
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme in ("opcua", "opc.tcp"):
            password = _password(user, password_env)
            security = _security(
                security_policy, security_mode, certificate, private_key, server_certificate
            )
            result = asyncio.run(
                ob.browse_opcua(
                    url,
                    depth=depth,
                    max_nodes=max_nodes,
                    user=user,
                    password=password,
                    include_standard=include_standard,
                    timeout_s=timeout,
                    security=security,
                )
            )
            _print_opcua(result, fmt)
        elif scheme in ("modbus", "modbus+tcp"):
            host, port = mb.modbus_target(url)
            first, last = mb.parse_range(registers)
            modbus = asyncio.run(
                mb.browse_modbus(
                    host,
                    port,
                    unit=unit,
                    table=table.value,
                    first=first,
                    last=last,
                    timeout_s=timeout,
                )
            )
            _print_modbus(modbus, fmt)
        else:
            raise ValueError(f"unsupported URL {url!r}: use opcua://host:4840 or modbus://host:502")


def _security(
    policy: str,
    mode: str,
    certificate: Path | None,
    private_key: Path | None,
    server_certificate: Path | None,
) -> SecuritySpec:
    """The command line's security options, checked by the same rules as the YAML."""
    from pydantic import ValidationError

    from plantos.edge.opcua.config import SecuritySpec

    given: dict[str, Any] = {"policy": policy}
    if policy != "None":
        given["mode"] = mode
    for key, path in (
        ("certificate", certificate),
        ("private_key", private_key),
        ("server_certificate", server_certificate),
    ):
        if path is not None:
            given[key] = path
    try:
        return SecuritySpec.model_validate(given)
    except ValidationError as exc:
        reasons = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise ValueError(f"OPC UA security options: {reasons}") from None


def _password(user: str | None, password_env: str | None) -> str | None:
    if password_env is None:
        return None
    if user is None:
        raise ValueError("--password-env needs --user")
    password = os.environ.get(password_env)
    if password is None:
        raise ValueError(f"environment variable {password_env} (--password-env) is not set")
    return password


# --- OPC UA -----------------------------------------------------------------------------


def _print_opcua(result: ob.OpcUaBrowseResult, fmt: Format) -> None:
    if fmt is Format.json:
        doc = {
            "endpoint": result.endpoint,
            "depth": result.depth,
            "truncated": result.truncated,
            "unexpanded": result.unexpanded,
            "nodes_visited": result.nodes_visited,
            "variables": [
                {
                    "node_id": v.node_id,
                    "browse_path": v.browse_path,
                    "data_type": v.data_type,
                    "value": _jsonable(v.value),
                    "status": v.status,
                    "unit": v.unit,
                    "range": list(v.range) if v.range else None,
                }
                for v in result.variables
            ],
        }
        typer.echo(json.dumps(doc, indent=2))
    elif fmt is Format.yaml:
        typer.echo(opcua_yaml(result))
    else:
        below = "all levels" if result.depth is None else f"{result.depth} levels"
        grid = RichTable(title=f"{result.endpoint}: variables, {below} below Objects")
        for column in ("NodeId", "Browse path", "Type", "Value", "Unit", "Range", "Status"):
            grid.add_column(column, overflow="fold")
        for v in result.variables:
            grid.add_row(
                v.node_id,
                v.browse_path,
                v.data_type,
                _short(v.value),
                v.unit or "",
                _range_text(v.range),
                v.status,
            )
        out.print(grid)
        console.print(f"{len(result.variables)} variable(s)", highlight=False)
        for note in limits_hit(result):
            console.print(f"[yellow]{note}[/yellow]", highlight=False)


def limits_hit(result: ob.OpcUaBrowseResult) -> list[str]:
    """What the walk left out because a limit cut it short (empty when it saw everything)."""
    notes = []
    if result.truncated:
        notes.append(
            f"stopped after {result.nodes_visited} nodes (--max-nodes): there is more; "
            "raise --max-nodes"
        )
    if result.unexpanded:
        notes.append(
            f"depth limit {result.depth} reached: {result.unexpanded} node(s) at that depth "
            "were not browsed further; raise --depth or leave it out"
        )
    return notes


def opcua_yaml(result: ob.OpcUaBrowseResult) -> str:
    """Candidate ``tags:`` for a ``kind: opcua`` connector, one per variable; the comment
    shows what the plant model's tag needs (type, unit, range) as the server states it."""
    from plantos.edge.opcua import browse as ob

    lines = [
        f"# Candidate tags for a kind: opcua connector on {result.endpoint}",
        f"# Replace the placeholder prefix {PLACEHOLDER}/ of every tag with the real asset path.",
        *(f"# Incomplete: {note}" for note in limits_hit(result)),
        "tags:" if result.variables else "tags: []",
    ]
    used: set[str] = set()
    for v in result.variables:
        tag = _unique(f"{PLACEHOLDER}/{ob.signal_name(v.browse_name)}", used)
        described = ", ".join(
            [v.data_type]
            + ([f"unit {v.unit}"] if v.unit else [])
            + ([f"range {_range_text(v.range)}"] if v.range else [])
        )
        comment = f"{v.browse_path} ({described}) = {_short(v.value, 40)}"
        lines.append(
            f"- {{tag: {json.dumps(tag)}, node: {json.dumps(v.node_id)}}}  # {_one_line(comment)}"
        )
    return "\n".join(lines)


# --- Modbus -----------------------------------------------------------------------------


def _print_modbus(result: mb.ModbusBrowseResult, fmt: Format) -> None:
    from plantos.edge.modbus import browse as mb

    readings = mb.interpret(result)
    if fmt is Format.json:
        doc = {
            "host": result.host,
            "port": result.port,
            "unit": result.unit,
            "table": result.table,
            "registers": [
                {
                    "address": r.address,
                    "raw": r.raw,
                    "float32_abcd": _jsonable(r.float32_abcd),
                    "float32_cdab": _jsonable(r.float32_cdab),
                    "int32_abcd": r.int32_abcd,
                    "int32_cdab": r.int32_cdab,
                }
                for r in readings
            ],
            "errors": [
                {"start": e.start, "count": e.count, "message": e.message} for e in result.errors
            ],
        }
        typer.echo(json.dumps(doc, indent=2))
    elif fmt is Format.yaml:
        typer.echo(modbus_yaml(result))
    else:
        bits = result.table in mb.BIT_TABLES
        grid = RichTable(
            title=f"{result.host}:{result.port} unit {result.unit} {result.table} "
            f"{result.start}-{result.end}"
        )
        pairs = ["float32 ABCD", "float32 CDAB", "int32 ABCD", "int32 CDAB"]
        columns = ["Address", "Value"] if bits else ["Address", "Hex", "Dec", "int16", *pairs]
        for column in columns:
            grid.add_column(column, justify="right")
        for r in readings:
            if r.raw is None:
                grid.add_row(str(r.address), "[dim]unavailable[/dim]", *[""] * (len(columns) - 2))
            elif bits:
                grid.add_row(str(r.address), str(r.raw))
            else:
                grid.add_row(
                    str(r.address),
                    f"0x{r.raw:04X}",
                    str(r.raw),
                    str(r.raw - 0x10000 if r.raw >= 0x8000 else r.raw),
                    _number(r.float32_abcd),
                    _number(r.float32_cdab),
                    _number(r.int32_abcd),
                    _number(r.int32_cdab),
                )
        out.print(grid)
        for error in result.errors:
            console.print(
                f"[yellow]unavailable[/yellow] {error.start}-{error.start + error.count - 1}: "
                f"{error.message}",
                highlight=False,
            )


def modbus_yaml(result: mb.ModbusBrowseResult) -> str:
    """Candidate ``tags:`` for a modbus-tcp poll group, from the non-zero addresses. Only
    readings nothing else explains are entries; guesses follow as commented-out entries
    that name the other reading, to uncomment once the device documentation agrees."""
    from plantos.edge.modbus import browse as mb

    guesses = mb.guess_tags(result)
    kind = {"coil": "coil", "discrete": "input"}.get(result.table, "register")
    lines = [
        f"# Candidate tags for a kind: modbus-tcp connector on {result.host}:{result.port} "
        f"(unit {result.unit}), poll group table: {result.table}",
        f"# Replace the placeholder prefix {PLACEHOLDER}/ of every tag with the real asset path.",
        "# Registers carry no types: commented-out entries are guesses; check them against",
        "# the device documentation before you uncomment them.",
    ]
    for error in result.errors:
        lines.append(
            f"# unavailable {error.start}-{error.start + error.count - 1}: {error.message}"
        )
    certain = [g for g in guesses if not g.guess]
    lines.append("tags:" if certain else "tags: []")
    for g in sorted(guesses, key=lambda g: (g.guess, g.address)):
        entry = f"tag: {PLACEHOLDER}/{kind}_{g.address}, address: {g.address}"
        if result.table not in mb.BIT_TABLES:
            entry += f", type: {g.type}"
        if g.word_order == "little":
            entry += ", word_order: little"
        line = f"- {{{entry}}}" + (f"  # {g.note}" if g.note else "")
        lines.append(f"# {line}" if g.guess else line)
    return "\n".join(lines)


# --- helpers ----------------------------------------------------------------------------


def _unique(tag: str, used: set[str]) -> str:
    candidate, n = tag, 2
    while candidate in used:
        candidate, n = f"{tag}_{n}", n + 1
    used.add(candidate)
    return candidate


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _short(value: Any, width: int = _VALUE_WIDTH) -> str:
    text = _one_line(repr(value) if isinstance(value, str) else str(value))
    return text if len(text) <= width else text[: width - 1] + "…"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _range_text(value: tuple[float, float] | None) -> str:
    return "" if value is None else f"{value[0]:g}..{value[1]:g}"


def _number(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
