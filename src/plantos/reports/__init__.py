"""Reports for people and business systems: the shift report and the daily production
report of a site, as JSON, CSV or XLSX (docs/erp-integration.md, "Reports")."""

from plantos.reports.periods import ReportRange, day_range, shift_range
from plantos.reports.production import ReportSources, build_report
from plantos.reports.render import ReportFormat, filename, render

__all__ = [
    "ReportFormat",
    "ReportRange",
    "ReportSources",
    "build_report",
    "day_range",
    "filename",
    "render",
    "shift_range",
]
