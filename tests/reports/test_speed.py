"""What makes reports fast keeps them the same: papermill's in-process engine writes the executed notebook once, one
browser prints every PDF of a run, and an unchanged re-run neither imports the heavy stack nor rewrites
the portfolio page."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import psutil
import pytest

from workbench.reports.inprocess import INPROCESS_ENGINE as ENGINE
from workbench.reports.render import find_chromium
from workbench.reports.runner import KERNEL

from .conftest import IDS


def _notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL, "language": "python", "display_name": "workbench"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))
    return path


def test_the_report_engine_writes_the_executed_notebook_once_with_parameters_and_errors(tmp_path, monkeypatch):
    import papermill.execute
    import workbench.reports.execute as ex
    writes: list[str] = []
    real = papermill.execute.write_ipynb

    def counting(nb, path):
        writes.append(str(path))
        return real(nb, path)

    monkeypatch.setattr(papermill.execute, "write_ipynb", counting)
    monkeypatch.setattr(ex, "write_ipynb", counting)
    src = _notebook(tmp_path / "in.ipynb", ["y = x * 10", "print(y)", "y + 1"])
    out = tmp_path / "out.ipynb"
    nb = pm.execute_notebook(str(src), str(out), parameters={"x": 4}, engine_name=ENGINE, kernel_name=KERNEL,
                             progress_bar=False)
    assert writes == [str(out)]                                    # once, at the end
    saved = nbformat.read(str(out), as_version=4)
    code = [c for c in saved.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert any("x = 4" in c.source for c in code)                  # papermill's injected parameters
    assert "40" in "".join(o.get("text", "") for c in code for o in c.outputs)
    assert all(c.metadata["papermill"]["status"] == "completed" for c in saved.cells)
    assert nb.cells[-1].outputs[0]["data"]["text/plain"] == "41"

    writes.clear()
    bad = _notebook(tmp_path / "bad.ipynb", ["y = 1", "raise ValueError('boom')", "z = 3"])
    with pytest.raises(pm.PapermillExecutionError, match="boom"):
        pm.execute_notebook(str(bad), str(tmp_path / "bad-out.ipynb"), engine_name=ENGINE, kernel_name=KERNEL,
                            progress_bar=False)
    assert writes == [str(tmp_path / "bad-out.ipynb")]               # with papermill's error marker
    failed = nbformat.read(str(tmp_path / "bad-out.ipynb"), as_version=4)
    assert any(o.get("ename") == "ValueError" for c in failed.cells if c.cell_type == "code" for o in c.outputs)


def test_one_browser_prints_several_pdfs_and_goes_away(tmp_path):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed")
    from workbench.reports.pdf import PdfPrinter
    pages = []
    for i in range(2):
        p = tmp_path / f"p{i}.html"
        p.write_text(f"<html><body><h1>page {i}</h1><script>setTimeout(() => document.body.append('late'), 500)"
                     f"</script></body></html>")
        pages.append(p)
    printer = PdfPrinter(chromium)
    try:
        pdfs, tabs = [], []
        for i, p in enumerate(pages):
            pdfs.append(printer.print_pdf(p, tmp_path / f"p{i}.pdf", timeout=60))
            tabs.append(printer._local.conn.tab)
        assert tabs[0] is not None and tabs[1] == tabs[0]              # one tab, reused for the next print
        browser = psutil.Process(printer.proc.pid)
        assert browser.is_running()
    finally:
        printer.close()
    assert all(p.read_bytes().startswith(b"%PDF") and p.stat().st_size > 500 for p in pdfs)
    assert not browser.is_running() and not Path(printer.profile).exists()
    assert not list(tmp_path.glob(".report.*.pdf"))                # no temporary file left


def test_a_browser_never_launched_leaves_no_profile_and_one_that_could_not_start_says_so(tmp_path):
    """A run that ends before its first batch is gathered never launches its browser: closing the printer
    still removes the profile folder. A browser that cannot be started fails each print with the reason."""
    from workbench.reports.pdf import PdfError, PdfPrinter
    idle = PdfPrinter("chromium", launch=False)            # never started: no browser needed
    assert idle.proc is None and Path(idle.profile).is_dir()
    idle.close()
    assert not Path(idle.profile).exists()
    missing = PdfPrinter(str(tmp_path / "no-such-chromium"), launch=False)
    try:
        missing.launch()
        assert missing.proc is None
        with pytest.raises(PdfError, match="could not be started"):
            PdfPrinter.attach(**missing.spec()).print_pdf(tmp_path / "a.html", tmp_path / "a.pdf", timeout=5)
    finally:
        missing.close()
    assert not Path(missing.profile).exists()


FRESH_RUN = """
import sys
from workbench.reports import run_reports
run = run_reports(sys.argv[3:], db=sys.argv[1], out=sys.argv[2], record=False)
assert [o.status for o in run.outcomes] == ["skipped"] * (len(sys.argv) - 3), run.outcomes
print(",".join(m for m in ("pandas", "ibis", "jupyter_client", "holoviews", "bokeh", "papermill") if m in sys.modules))
"""


def test_an_unchanged_rerun_stays_light_and_keeps_the_portfolio_page(copy_of):
    index = copy_of.out / "index.html"
    before = index.read_text(encoding="utf-8")
    r = subprocess.run([sys.executable, "-c", FRESH_RUN, str(copy_of.db), str(copy_of.out), *IDS],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == ""                                  # none of the heavy modules was imported
    assert index.read_text(encoding="utf-8") == before             # nothing it shows changed: not rewritten
    from workbench.reports.portfolio import index_key
    assert f"content='{index_key(copy_of.out, db=str(copy_of.db))}'" in before
    # a registry change the page shows (an experiment's state) rewrites it
    import duckdb
    with duckdb.connect(str(copy_of.db)) as con:
        (state,) = con.execute("SELECT state FROM experiments WHERE experiment_id = ?", [IDS[0]]).fetchone()
        new = "hold" if state != "hold" else "running"
        con.execute("UPDATE experiments SET state = ? WHERE experiment_id = ?", [new, IDS[0]])
    from workbench.reports.portfolio import refresh_portfolio
    from workbench.reports.runner import ReportOutcome, ReportRun
    run = ReportRun((ReportOutcome(IDS[0], "skipped"),), str(copy_of.out), "", 0.0, 1, None, "cache")
    refresh_portfolio(copy_of.out, run, db=str(copy_of.db))
    after = index.read_text(encoding="utf-8")
    assert after != before and after.count(f">{new}<") == before.count(f">{new}<") + 1


GATHER_AA = """
import sys, json
from workbench.reports.inputs import gather_inputs
inputs = gather_inputs(["aa-pipeline-check"], db=sys.argv[1])
aa = inputs["aa-pipeline-check"].outcome.result.aa
print(json.dumps({"scipy.stats": "scipy.stats" in sys.modules, "findings": list(aa.findings),
                  "share_p": aa.share_p}))
"""


def test_gathering_an_aa_check_does_not_import_scipy_stats(small_world):
    """The A/A verdict's binomial and KS tests come from scipy.special (``workbench.stats.uniformity``):
    a report run's gathering no longer pays scipy.stats' half-second import."""
    r = subprocess.run([sys.executable, "-c", GATHER_AA, str(small_world["db"])], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["scipy.stats"] is False
    assert out["share_p"] is not None and any("binomial p" in f for f in out["findings"])
