"""Sources: read and validate the user's data (aggregated results, unit-level tables, event logs).

:func:`read_results` is the one entry of every command that reads a results file.
"""

from .aggregated import read_aggregated
from .detect import read_results

__all__ = ["read_aggregated", "read_results"]
