"""What the report engine shares: the executed notebook written once, cells numbered, what a failed run leaves.

Papermill's default engine rewrites the whole output notebook before and after every cell so a
reader can follow a long run. A report notebook holds its plots inline (about 1.5 MB once executed),
so those 2 × 17 writes — each serialising and validating the growing notebook — cost seconds per
report and nobody reads them: the run swaps in only a complete report directory. The report engine
(:mod:`workbench.reports.inprocess`) writes the notebook once, when the run ends — on success, on a
failing cell (papermill's error marker included) — with its code cells numbered 1..n, so the notebook
saved is the one the HTML is exported from, without reading it back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from papermill.engines import NotebookExecutionManager
from papermill.iorw import write_ipynb

__all__ = ["number_cells", "failure_location", "keep_failed", "error_text"]


def number_cells(nb: Any) -> Any:
    """Execution counts 1..n in ``nb`` (in place; papermill's injected cell comes first)."""
    n = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("execution_count") is not None:
            n += 1
            cell.execution_count = n
            for o in cell.get("outputs", []):
                if o.get("output_type") == "execute_result":
                    o["execution_count"] = n
    return nb


class _WriteOnceManager(NotebookExecutionManager):
    """Papermill's execution manager without the per-cell saves; the engine writes the notebook at the end."""

    def save(self, **kwargs: Any) -> None:
        self.last_save_time = self.now()

    def write(self) -> None:
        if self.output_path:
            write_ipynb(self.nb, self.output_path)


# --- what a failed run leaves ------------------------------------------------------------------------
def failure_location(nb_path: Path) -> tuple[int | None, str]:
    """(cell number in the report notebook, section heading above it) of the first cell with an error."""
    import nbformat
    try:
        nb = nbformat.read(str(nb_path), as_version=4)
    except Exception:  # noqa: BLE001 - a missing or broken output notebook just leaves the location unknown
        return None, ""
    section, number = "", 0
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "papermill-error-cell-tag" in tags or "injected-parameters" in tags:
            continue
        number += 1
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    section = line.lstrip("#").strip()
                    break
        elif any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return number, section
    return None, section


def keep_failed(nb_out: Path, out: Path, name: str) -> str:
    if not nb_out.exists():
        return ""
    dest = out / ".failed" / f"{name}.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(nb_out, dest)
    return str(dest)


def error_text(exc: BaseException) -> str:
    """The first line of what went wrong: the cell's exception for a failing cell, else the error itself."""
    import papermill as pm

    if isinstance(exc, pm.PapermillExecutionError):
        text = f"{exc.ename}: {exc.evalue}".strip()
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text = f"{type(exc).__name__}: {first}"
    return text[:500]
