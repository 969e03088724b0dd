"""Reports: the parameterized report notebook, executed by papermill into HTML/PDF, scheduled and incremental.

* :func:`run_reports` — what ``workbench report`` runs: incremental (keyed by data, parameters and
  code), atomic per experiment, parallel workers, a lock, a portfolio ``index.html``;
* :func:`load_report` / :class:`ExperimentReport` — one experiment's report sections (what the
  notebook ``notebooks/experiment_report.ipynb`` calls);
* :func:`gather_inputs` — the report's data, loaded once for many experiments;
* :func:`roi_projection` — incremental revenue per day and over a horizon, with its interval;
* :mod:`workbench.reports.views` and :mod:`workbench.reports.plots` — tidy frames and HoloViews
  plots of workbench results, for notebooks.
"""

from .inputs import ReportInputs, ReportParams, gather_inputs, load_inputs, save_inputs
from .report import SECTIONS, ExperimentReport, load_report
from .roi import RoiProjection, roi_for_result, roi_projection
from .runner import ReportOutcome, ReportRun, default_notebook, run_reports

__all__ = ["run_reports", "ReportRun", "ReportOutcome", "default_notebook", "load_report", "ExperimentReport",
           "SECTIONS", "gather_inputs", "ReportInputs", "ReportParams", "save_inputs", "load_inputs",
           "roi_projection", "roi_for_result", "RoiProjection"]
