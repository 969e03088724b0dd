"""Reports: the parameterized report notebook, executed by papermill into HTML/PDF, scheduled and incremental.

* :func:`run_reports` — what ``workbench report`` runs: incremental (keyed by data, parameters and
  code), atomic per experiment, parallel workers, a lock, a portfolio ``index.html``;
* :func:`load_report` / :class:`ExperimentReport` — one experiment's report sections (what the
  notebook ``workbench/reports/report-notebook/experiment_report.ipynb`` calls);
* :func:`gather_inputs` — the report's data, loaded once for many experiments;
* :func:`roi_projection` — incremental revenue per day and over a horizon, with its interval;
* :mod:`workbench.reports.views` and :mod:`workbench.reports.plots` — tidy frames and Bokeh
  figures of workbench results (the report's plots; ``bokeh.io.show`` draws them in a notebook).

Names are imported on first use, so ``workbench report`` on an up-to-date portfolio does not pay
for the plotting stack.
"""

from __future__ import annotations

from ..lazy import lazy_exports


_EXPORTS = {
    "run_reports": "runner", "ReportRun": "runner", "ReportOutcome": "runner", "default_notebook": "runner",
    "load_report": "report", "ExperimentReport": "report", "SECTIONS": "report",
    "gather_inputs": "inputs", "ReportInputs": "inputs", "ReportParams": "inputs", "save_inputs": "inputs",
    "load_inputs": "inputs", "roi_projection": "roi", "roi_for_result": "roi", "RoiProjection": "roi",
}
__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
