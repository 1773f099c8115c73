"""The refusals of the maintenance domain: each names what was refused and why."""

from __future__ import annotations

from plantos.mom.errors import MomError


class MaintenanceError(MomError):
    """Root of the maintenance domain's refusals."""


class IllegalWorkOrderTransitionError(MaintenanceError):
    """A work order was asked to move to a state its current state does not allow."""


class InvalidWorkOrderError(MaintenanceError):
    """A work order's fields are wrong (kind, priority, window, labour, parts)."""


class UnknownWorkOrderError(MaintenanceError):
    """No work order with this id."""


class UnknownFailureCodeError(MaintenanceError):
    """A failure mode, mechanism or cause that the catalogue does not define."""


class InvalidPlanError(MaintenanceError):
    """A preventive plan's fields are wrong (interval, lead, meter, asset)."""


class UnknownPlanError(MaintenanceError):
    """No preventive plan with this id."""


class PlanOwnedByFileError(MaintenanceError):
    """A plan the plant file defines: it is changed there, not over the API."""


class PlanInUseError(MaintenanceError):
    """A plan whose work order is still open: it cannot be deleted until that is closed."""
