"""The errors of the operations layer: each one names what was refused and why."""

from __future__ import annotations

from plantos.core.errors import PlantOSError


class MomError(PlantOSError):
    """Root of the operations layer's refusals."""


class IllegalTransitionError(MomError):
    """An order was asked to move to a state its current state does not allow."""


class UnknownProductError(MomError):
    """An order or routing names a product that the master data does not define."""


class UnknownOrderError(MomError):
    """No production order with this id."""


class DuplicateOrderError(MomError):
    """A production order with this id exists already."""


class InvalidOrderError(MomError):
    """An order's fields are wrong (quantity, dates, counting source)."""


class MasterDataError(MomError):
    """Products or routings contradict themselves or the plant model."""


class CountRejectedError(MomError):
    """A count cannot be booked (wrong source for the order, more scrap than parts)."""


class ImportRejectedError(MomError):
    """A CSV import was refused as a whole; the message names every bad row."""
