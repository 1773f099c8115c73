"""Status codes are shown by name: every code OPC UA defines, not only the few PlantOS
sets itself, and a readable fallback for the rest."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest

from plantos.core import quality


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (0x8034_0000, "BadNodeIdUnknown"),
        (0x8074_0000, "BadTypeMismatch"),
        (0x801A_0000, "BadCertificateUntrusted"),
        (0x8026_0000, "BadSessionClosed"),
        (0x0030_0000, "GoodClamped"),
        (0x408F_0000, "UncertainNoCommunicationLastUsableValue"),
        (quality.BAD_COMMUNICATION_ERROR, "BadCommunicationError"),
        (quality.GOOD, "Good"),
    ],
)
def test_every_opcua_status_code_has_its_name(code: int, text: str) -> None:
    assert quality.name(code) == text


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (0x8123_4567, "Bad(0x81234567)"),
        (0x4ABC_0000, "Uncertain(0x4ABC0000)"),
        (7, "Good(0x00000007)"),
    ],
)
def test_unknown_code_falls_back_to_severity_and_hex(code: int, text: str) -> None:
    assert quality.name(code) == text


def test_the_table_is_not_loaded_when_quality_is_imported() -> None:
    probe = "import sys, plantos.core.quality; print('asyncua' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_doctests() -> None:
    assert doctest.testmod(quality).failed == 0
