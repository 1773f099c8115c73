"""PlantOS: the shared data layer between the plant floor (OT) and business systems (IT)."""

__version__ = "0.1.0"
