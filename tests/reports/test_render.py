"""HTML export hides code and Jupyter-only outputs; PDF printing fails cleanly; atomic directory swaps."""

from __future__ import annotations

import os
import stat

import nbformat
import pytest

from workbench.reports.html import Html, embed, kv, page_head, table
from workbench.reports.render import PdfError, clean_outputs, external_resources, find_chromium, html_to_pdf
from workbench.reports.runner import BuildJob, _recover, build_one, replace_dir


def _nb() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("x")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"application/javascript": "load()", "text/plain": "x"}),
        nbformat.v4.new_output("display_data", data={"application/vnd.holoviews_load.v0+json": "", "text/html": "<b/>"}),
        nbformat.v4.new_output("stream", name="stderr", text="DeprecationWarning"),
        nbformat.v4.new_output("display_data", data={"text/html": "<p>kept</p>", "application/javascript": "x()"}),
    ]
    hidden = nbformat.v4.new_markdown_cell("# internal", metadata={"tags": ["remove_cell"]})
    nb.cells = [hidden, code]
    return nb


def test_clean_outputs_keeps_only_what_a_reader_needs():
    out = clean_outputs(_nb())
    assert len(out.cells) == 1
    (o,) = out.cells[0].outputs
    assert o["data"] == {"text/html": "<p>kept</p>"}


def test_external_resources_finds_network_loads_only():
    html = ('<script src="https://cdn.example/x.js"></script><link href="//fonts.example/f.css" rel="stylesheet">'
            '<script>var u = "https://in.a.string/";</script><a href="https://docs.example/">a link</a>')
    assert external_resources(html) == ["//fonts.example/f.css", "https://cdn.example/x.js"]
    assert external_resources(page_head().text) == []


def test_html_blocks_escape_user_text():
    import pandas as pd
    t = table(pd.DataFrame({"name": ["<script>x</script>"], "v": [1.5]}))
    assert "<script>x" not in str(t) and "&lt;script&gt;x&lt;/script&gt;" in str(t)
    assert "&lt;i&gt;" in str(kv([("<i>", "<i>")])) and "<i>" not in str(kv([("<i>", "<i>")]))
    assert str(Html("<b>") + "<i>") == "<b>&lt;i&gt;"


def test_embed_is_a_static_bokeh_component():
    from workbench.reports.plots import new_figure
    fig = new_figure("</script><script>alert(1)</script>")
    fig.line([0, 1], [1, 2])
    h = embed(fig)
    assert "<div" in str(h) and "Bokeh" in str(h) and "<script>alert(1)</script>" not in str(h)


def test_find_chromium_respects_the_environment(monkeypatch, tmp_path):
    fake = tmp_path / "my-chromium"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("WORKBENCH_CHROMIUM", str(fake))
    assert find_chromium() == str(fake)
    (tmp_path / "r.html").write_text("<p>x</p>")
    with pytest.raises(PdfError, match="could not print"):
        html_to_pdf(tmp_path / "r.html", tmp_path / "r.pdf", chromium=str(fake))
    assert not (tmp_path / "r.pdf").exists() and not list(tmp_path.glob(".report.*"))


def test_real_chromium_prints_a_pdf(tmp_path):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium on this machine")
    (tmp_path / "r.html").write_text("<!DOCTYPE html><html><body><h1>Report</h1></body></html>")
    pdf = html_to_pdf(tmp_path / "r.html", tmp_path / "r.pdf", chromium=chromium)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(pdf.stat().st_mode) & 0o044          # readable by others, like any published file


def test_replace_dir_swaps_a_complete_directory(tmp_path):
    final = tmp_path / "exp"
    final.mkdir()
    (final / "report.html").write_text("old")
    new = tmp_path / ".tmp-exp-1"
    new.mkdir()
    (new / "report.html").write_text("new")
    replace_dir(new, final)
    assert (final / "report.html").read_text() == "new" and not new.exists()
    other = tmp_path / ".tmp-exp-2"
    other.mkdir()
    replace_dir(other, tmp_path / "fresh")
    assert (tmp_path / "fresh").is_dir()


def test_recover_after_a_crash(tmp_path):
    (tmp_path / ".old-exp-abcd1234").mkdir()
    (tmp_path / ".old-exp-abcd1234" / "report.html").write_text("previous")
    (tmp_path / ".tmp-exp-99").mkdir()
    notes = _recover(tmp_path)
    assert (tmp_path / "exp" / "report.html").read_text() == "previous" and not (tmp_path / ".tmp-exp-99").exists()
    assert notes and "exp" in notes[0]


def test_a_notebook_that_writes_no_report_fails_that_experiment_only(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "workbench", "language": "python", "display_name": "x"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    out = tmp_path / "reports"
    out.mkdir()
    o = build_one(BuildJob("exp", "k", str(path), str(out), {"x": 2}, None))
    assert o.status == "failed" and o.error.startswith("the notebook did not write memo.md, memo.html, summary.json")
    assert os.listdir(out) in ([], [".failed"]) and not (out / "exp").exists()


def test_a_report_process_does_not_import_rfc3987_syntax_and_still_validates_notebooks():
    import subprocess
    import sys
    code = ("import sys, workbench.reports.render; import nbformat, jsonschema; "
            "nb = nbformat.v4.new_notebook(); nb.cells.append(nbformat.v4.new_code_cell('1')); nbformat.validate(nb); "
            "print(sys.modules.get('rfc3987_syntax', 'absent'))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "None"   # marked absent: jsonschema left out its `iri` check instead of compiling grammars
