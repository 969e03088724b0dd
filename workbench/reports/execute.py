"""The papermill engine report runs use: papermill's parameters and executed notebook, written once.

Papermill's default engine rewrites the whole output notebook before and after every cell so a
reader can follow a long run. A report notebook holds its plots inline (about 1.5 MB once executed),
so those 2 × 17 writes — each serialising and validating the growing notebook — cost seconds per
report and nobody reads them: the run swaps in only a complete report directory.
:class:`ReportEngine` is papermill's ``nbclient`` engine with the notebook written once, when the
run ends — on success, on a failing cell (papermill's error marker included), and on a timeout
or a dead kernel (what ran so far, for ``reports/.failed/``). It also numbers the code cells
1..n before that write (a reused kernel keeps counting across reports), so the notebook saved is
the one the HTML is exported from, without reading it back.

Everything else is papermill: parameter injection, the ``papermill`` metadata (cell durations,
status), :class:`papermill.PapermillExecutionError` for a failing cell.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.iorw import write_ipynb

__all__ = ["ENGINE", "ReportEngine", "number_cells", "failure_location", "keep_failed", "error_text"]

ENGINE = "workbench-report"


def number_cells(nb: Any) -> Any:
    """Execution counts 1..n in ``nb`` (in place; a reused kernel keeps counting across reports)."""
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


class ReportEngine(NBClientEngine):
    """Papermill's ``nbclient`` engine writing the output notebook once (see the module doc)."""

    @classmethod
    def execute_notebook(cls, nb: Any, kernel_name: str, output_path: str | None = None, progress_bar: bool = False,
                         log_output: bool = False, autosave_cell_every: int = 30, **kwargs: Any) -> Any:
        nb_man = _WriteOnceManager(nb, output_path=output_path, progress_bar=False, log_output=log_output,
                                   autosave_cell_every=0)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        except BaseException:
            nb_man.notebook_complete()      # a timeout or a dead kernel: keep what ran, for reports/.failed/
            number_cells(nb_man.nb)
            nb_man.write()
            raise
        nb_man.notebook_complete()
        number_cells(nb_man.nb)             # papermill writes it next (with its error marker when a cell failed)
        return nb_man.nb


papermill_engines.register(ENGINE, ReportEngine)


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
