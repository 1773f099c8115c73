"""The refusals of manual entry: each names what was refused and why."""

from __future__ import annotations

from plantos.mom.errors import MomError


class EntryError(MomError):
    """Root of manual entry's refusals: nothing of a refused entry is stored."""


class InvalidEntryError(EntryError):
    """A value of the wrong type, out of range or in a unit that cannot be converted; a
    checklist with missing or wrong answers; an unknown scrap reason."""


class UnknownEntryError(EntryError):
    """No manual tag, checklist or work order by that name where it was asked for."""


class DuplicateSubmissionError(EntryError):
    """This checklist was submitted already for this instance (shift, work order)."""
