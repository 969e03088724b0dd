"""Sources: read and validate the user's data (aggregated CSV, unit-level tables, event logs)."""

from .aggregated import read_aggregated

__all__ = ["read_aggregated"]
