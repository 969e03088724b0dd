"""Sources: read and validate the user's data (aggregated results, unit-level tables, event logs).

:func:`read_results` is the one entry of every command that reads a results file.
"""

from __future__ import annotations

from ..lazy import lazy_exports

# Names are imported from their modules on first use (PEP 562), so importing one module of this
# package does not import all of them (see the README's Layout: heavy imports are lazy).
_EXPORTS = {
    "read_aggregated": "aggregated", "read_results": "detect",
}

__all__ = ["read_aggregated", "read_results"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
