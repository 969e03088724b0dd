"""Sources: read and validate the user's data (aggregated results, unit-level tables, event logs).

:func:`read_results` is the one entry of every command that reads a results file.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names are imported from their modules on first use (PEP 562), so importing one module of this
# package does not import all of them (see the README's Layout: heavy imports are lazy).
_EXPORTS = {
    "read_aggregated": "aggregated", "read_results": "detect",
}

__all__ = ["read_aggregated", "read_results"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
