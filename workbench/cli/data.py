"""CLI commands of the data layer: demo, simulate, summarize, version."""

from __future__ import annotations

import typer

from .. import __version__


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("version", help="Print the workbench version.")(version)


def version() -> None:
    typer.echo(__version__)
