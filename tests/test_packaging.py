"""The package's metadata matches its code: every library workbench/ imports is declared, every runtime
dependency is imported, and the files the installed package needs (report notebook, panel app) ship in it.
(Building the wheel and using it from a fresh venv is scripts/check-wheel.sh, run by CI after the tests.)"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
OPTIONAL_IMPORTS = {"threadpoolctl"}      # imported in a try/except ImportError (installed with PyMC)


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imports() -> dict[str, set[str]]:
    """Top-level names of the third-party modules workbench/ imports, with the files that import them."""
    found: dict[str, set[str]] = {}
    for path in (REPO / "workbench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for n in names:
                top = n.split(".")[0]
                if top not in sys.stdlib_module_names and top != "workbench" and top not in OPTIONAL_IMPORTS:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_import_is_declared_and_every_dependency_used() -> None:
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = {_name(r) for reqs in PYPROJECT["project"]["optional-dependencies"].values() for r in reqs}
    dists = {k: {d.lower().replace("_", "-") for d in v} for k, v in packages_distributions().items()}
    imported = _imports()
    undeclared = {m: sorted(files)[:2] for m, files in imported.items() if not dists.get(m, {m}) & (runtime | extras)}
    assert undeclared == {}, f"imported by workbench/ but not declared in pyproject.toml: {undeclared}"
    provided = {d for m in imported for d in dists.get(m, {m})}
    unused = sorted(runtime - provided)
    assert unused == [], f"runtime dependencies that workbench/ never imports (move them to an extra): {unused}"


def test_the_installed_package_carries_its_notebook_and_panel_app() -> None:
    # what runner.default_notebook() and dashboard.server.PANEL_APP name (tests/notebooks and tests/dashboard check that)
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["workbench"]
    shipped = {p.relative_to(REPO).as_posix() for pattern in data for p in (REPO / "workbench").glob(pattern)}
    assert {"workbench/reports/report-notebook/experiment_report.ipynb", "workbench/dashboard/panel-app/app.py",
            "workbench/dashboard/panel-app/setup.py", "workbench/py.typed"} <= shipped
    assert PYPROJECT["project"]["license"] == "MIT"                                  # SPDX, no deprecation warning
    assert any(r.startswith("setuptools>=77") for r in PYPROJECT["build-system"]["requires"])
