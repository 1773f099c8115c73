"""The refusals of the quality domain: each names what was refused and why."""

from __future__ import annotations

from plantos.mom.errors import MomError


class QualityError(MomError):
    """Root of the quality domain's refusals."""


class IllegalDispositionError(QualityError):
    """A nonconformance was asked for a disposition its state does not allow."""


class InvalidNonconformanceError(QualityError):
    """A nonconformance's fields are wrong (trigger, quantity, disposition)."""


class UnknownNonconformanceError(QualityError):
    """No nonconformance with this id."""
