"""Sample quality as OPC UA status codes (OPC 10000-4, 7.39), kept whole as uint32.

Keeping the full status code instead of a good/bad flag means a value from an
OPC UA server keeps its exact reason (``BadCommunicationError``, ``UncertainLastUsableValue``)
all the way to the historian. The top two bits give the severity.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

GOOD = 0x0000_0000
UNCERTAIN = 0x4000_0000
BAD = 0x8000_0000
BAD_COMMUNICATION_ERROR = 0x8005_0000
BAD_NO_COMMUNICATION = 0x8031_0000
BAD_OUT_OF_RANGE = 0x803C_0000
BAD_SENSOR_FAILURE = 0x808C_0000
BAD_TYPE_MISMATCH = 0x8074_0000
UNCERTAIN_LAST_USABLE_VALUE = 0x4090_0000

_SEVERITY_MASK = 0xC000_0000
_INFO_TYPE_MASK = 0x0000_0C00
_INFO_TYPE_DATA_VALUE = 0x0000_0400
OVERFLOW = _INFO_TYPE_DATA_VALUE | 0x0000_0080
"""The Overflow info bit of a data value (OPC 10000-4, 7.39.1), with the info type that
gives the info bits their meaning: the server's queue for the item was full and values
before this one were discarded. A Good value may carry it."""

NAMES = {
    GOOD: "Good",
    UNCERTAIN: "Uncertain",
    BAD: "Bad",
    BAD_COMMUNICATION_ERROR: "BadCommunicationError",
    BAD_NO_COMMUNICATION: "BadNoCommunication",
    BAD_OUT_OF_RANGE: "BadOutOfRange",
    BAD_SENSOR_FAILURE: "BadSensorFailure",
    BAD_TYPE_MISMATCH: "BadTypeMismatch",
    UNCERTAIN_LAST_USABLE_VALUE: "UncertainLastUsableValue",
}


def severity(code: int) -> str:
    """Return ``good``, ``uncertain`` or ``bad`` for one status code."""
    top = code & _SEVERITY_MASK
    if top == 0:
        return "good"
    return "uncertain" if top == UNCERTAIN else "bad"


def is_bad(codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    """Vectorised: which samples carry a Bad status (severity bits ``10`` or ``11``)."""
    bad: npt.NDArray[np.bool_] = (codes & np.uint32(BAD)) != 0
    return bad


def has_overflow(code: int) -> bool:
    """Whether one status code carries the Overflow info bit (see :data:`OVERFLOW`)."""
    return code & (_INFO_TYPE_MASK | OVERFLOW) == OVERFLOW


def overflowed(codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    """Vectorised: which samples carry the Overflow info bit (values before them were lost).

    >>> overflowed(np.array([0x0000_0000, 0x0000_0480, 0x0000_0080], np.uint32)).tolist()
    [False, True, False]
    """
    info = codes & np.uint32(_INFO_TYPE_MASK | OVERFLOW)
    flagged: npt.NDArray[np.bool_] = info == np.uint32(OVERFLOW)
    return flagged


def name(code: int) -> str:
    """A readable name for a status code: every code OPC UA defines by its name, others by
    severity and hex value.

    >>> name(0x8034_0000), name(0x8123_4567)
    ('BadNodeIdUnknown', 'Bad(0x81234567)')
    """
    known = NAMES.get(code) or all_names().get(code)
    return known or f"{severity(code).capitalize()}(0x{code:08X})"


@functools.cache
def all_names() -> dict[int, str]:
    """Every status code OPC UA defines (OPC 10000-6, StatusCode.csv), by code.

    The table is asyncua's, imported on first use: importing asyncua costs about 0.3 s,
    which a process that never shows a quality name (``plantos check``) should not pay.
    """
    from asyncua.ua.status_codes import code_to_name_doc

    return {code: text for code, (text, _doc) in code_to_name_doc.items()} | NAMES
