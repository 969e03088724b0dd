"""The notebooks: stored clean and paired with their py:percent scripts; the exploration ones run top to bottom.

The exploration notebooks are executed by nbval in lax mode (every cell must run; outputs are not
compared) in a separate pytest process, against a copy of the session's small sample world.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
REPORT_NOTEBOOK = REPO / "workbench" / "reports" / "report-notebook" / "experiment_report.ipynb"   # package data
MINE = (REPORT_NOTEBOOK.with_suffix(""), *(NOTEBOOKS / n for n in ("quickstart", "planning_power", "cuped_and_segments",
                                                                    "hierarchical_cold_start", "ab_vs_bandit")))
EXPLORATION = ("quickstart", "planning_power", "cuped_and_segments")


@pytest.mark.parametrize("stem", MINE, ids=lambda p: p.name)
def test_stored_clean_and_paired(stem):
    path, name = stem.with_suffix(".ipynb"), stem.name
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: outputs stored"
    assert nb.metadata["kernelspec"]["name"] == "workbench"
    assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    script = jupytext.read(stem.with_suffix(".py"))
    assert [(c.cell_type, c.source) for c in script.cells] == [(c.cell_type, c.source) for c in nb.cells], \
        f"{name}.py and {name}.ipynb differ: run `.venv/bin/jupytext --sync {stem.with_suffix('.py')}`"


def test_report_notebook_has_every_section_and_its_parameters():
    from workbench.reports import SECTIONS
    from workbench.reports.runner import default_notebook
    assert default_notebook() == REPORT_NOTEBOOK
    nb = nbformat.read(str(REPORT_NOTEBOOK), as_version=4)
    headings = [c.source.lstrip("# ").strip() for c in nb.cells if c.cell_type == "markdown"
                and c.source.startswith("## ")]
    assert headings == list(SECTIONS)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for name in ("experiment_id", "db", "as_of", "policy", "inputs_cache", "out_dir"):
        assert f"\n{name} = " in "\n" + params.source


@pytest.mark.notebook
def test_exploration_notebooks_run_top_to_bottom(small_world, tmp_path):
    db = tmp_path / "world.duckdb"
    shutil.copy(small_world["db"], db)
    env = {**os.environ, "WORKBENCH_DB": str(db), "WORKBENCH_REPORTS": str(tmp_path / "reports")}
    procs = {}
    for name in EXPLORATION:          # one nbval process per notebook, run side by side
        cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-kernel-name", "workbench", "-p",
               "no:cacheprovider", "-q", "--rootdir", str(tmp_path), "-o", "addopts=", str(NOTEBOOKS / f"{name}.ipynb")]
        procs[name] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                       cwd=tmp_path)
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{name}:\n{out[-4000:]}"
        assert " passed" in out and "failed" not in out, name
    memo = tmp_path / "reports" / "quickstart" / "memo.html"
    assert memo.exists() and "Decision memo" in memo.read_text()     # written under WORKBENCH_REPORTS
