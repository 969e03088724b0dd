"""The Panel dashboard: portfolio, experiment detail, operator controls, autopilot and simulator pages.

Start it with ``workbench serve`` or :func:`serve`; see :mod:`workbench.dashboard.server` for the
options (login, OAuth, ports) and :mod:`workbench.dashboard.service` for how data is refreshed.
Importing this package does not import Panel; :func:`serve` does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["serve", "panel_command"]


def serve(**kwargs: Any) -> None:
    """Serve the dashboard (blocks); see :func:`workbench.dashboard.server.serve`."""
    from .server import serve as _serve
    _serve(**kwargs)


def panel_command(**kwargs: Any) -> Any:
    """The ``panel serve`` command and environment; see :func:`workbench.dashboard.server.panel_command`."""
    from .server import panel_command as _cmd
    return _cmd(**kwargs)
