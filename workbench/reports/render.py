"""Executed notebook → self-contained HTML (code hidden, no CDN) → PDF through headless Chromium.

The HTML export uses nbconvert's ``lab`` template with the blocks that load require.js, MathJax,
Mermaid and the widget manager from CDNs removed, and drops the notebook outputs that only make
sense inside Jupyter (HoloViews' or BokehJS's notebook loaders, should a notebook use them; stderr warnings). Plots are static Bokeh
embeds whose library the report inlines once (:func:`workbench.reports.html.page_head`), so the
page opens and prints without a network. :func:`external_resources` lists any ``src``/``href``
that still points at the network (the tests assert it is empty).

The template's print CSS (with :data:`workbench.reports.html.REPORT_CSS`) lays the report out for A4
and Letter: 12 mm margins, cell outputs that break across pages (no page left white because a long
section did not fit below the title), section headings kept with what follows, tables in smaller type
that wrap within the page width, plots never split and never wider than the page.

The PDF is printed by headless Chromium (``--print-to-pdf``) from the HTML file, with its own
throw-away profile so parallel workers do not fight over one. :func:`find_chromium` says which
browser is used, or ``None`` — then no PDF is written and the run says so.
"""

from __future__ import annotations

import copy
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..config import Settings, get_settings
from ..errors import WorkbenchError
from ..files import file_mode, write_text_atomic
from ..processes import PROFILE_PREFIX, child_env, die_with_parent, remove_profile
from ._imports import skip_slow_optional_imports

__all__ = ["notebook_to_html", "clean_outputs", "external_resources", "find_chromium", "html_to_pdf", "PdfError"]

skip_slow_optional_imports()   # nbformat's jsonschema would compile rfc3987_syntax's grammars (seconds)

_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_css -%}
<style>
body.jp-Notebook{max-width:1000px;margin:0 auto;padding:18px 24px}
.jp-Cell{padding:0 !important}.jp-OutputArea-output{overflow-x:auto}
.jp-RenderedHTMLCommon h2{border-bottom:1px solid #d8dee4;padding-bottom:4px;margin-top:28px}
@page{margin:12mm}
@media print{
 body.jp-Notebook{max-width:none;margin:0;padding:0}
 .jp-Cell,.jp-Cell-outputWrapper,.jp-OutputArea,.jp-OutputArea-child{break-inside:auto}
 .jp-OutputArea-output{overflow:visible}
 .jp-MarkdownCell{break-after:avoid-page}
 .jp-RenderedHTMLCommon h2{margin-top:16px}
}
</style>
{%- endblock html_head_css -%}
"""
_DROP_MIME = ("application/vnd.holoviews_load.v0+json", "application/vnd.holoviews_exec.v0+json",
              "application/vnd.bokehjs_load.v0+json", "application/vnd.bokehjs_exec.v0+json",
              "application/javascript")
_EXTERNAL = re.compile(r"""<(?:script|link|img|iframe|source|video|audio)\b[^>]*?\b(?:src|href)\s*=\s*["']?((?:https?:)?//[^"'\s>]+)""",
                       re.IGNORECASE)


_exporters: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
"""Idle HTML exporters: a thread takes one for a report and puts it back (the template is compiled once
per exporter; an exporter is used by one thread at a time)."""


class PdfError(WorkbenchError):
    """Chromium could not print the report."""


# the one set of Chromium settings of every PDF: the one-shot print here and the run's shared browser (pdf.py)
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions",
                  "--disable-background-networking", "--no-first-run", "--hide-scrollbars",
                  "--run-all-compositor-stages-before-draw")
VIRTUAL_TIME_BUDGET_MS = 15000


def clean_outputs(nb: Any) -> Any:
    """A copy of ``nb`` without Jupyter-only outputs (extension loaders, JS, stderr) and ``remove_cell`` cells."""
    out = copy.deepcopy(nb)
    out.cells = [c for c in out.cells if "remove_cell" not in c.get("metadata", {}).get("tags", [])]
    for cell in out.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                continue
            data = o.get("data")
            if data is not None:
                if any(k in data for k in _DROP_MIME[:4]) or (set(data) <= {"application/javascript", "text/plain"}
                                                             and "application/javascript" in data):
                    continue
                for k in list(data):
                    if k in _DROP_MIME:
                        del data[k]
                if not data:
                    continue
            kept.append(o)
        cell["outputs"] = kept
    return out


def notebook_to_html(notebook: Any, out: str | Path, *, title: str = "") -> Path:
    """Export an executed notebook (a path or a notebook node) as self-contained HTML with the code cells hidden."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(str(notebook), as_version=4)
    try:
        exporter = _exporters.get_nowait()
    except queue.Empty:
        exporter = HTMLExporter(
            extra_loaders=[DictLoader({"workbench_report.html.j2": _TEMPLATE})], template_file="workbench_report.html.j2",
            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True)
    try:
        body, _ = exporter.from_notebook_node(clean_outputs(nb), resources={"metadata": {"name": title or "Report"}})
    finally:
        _exporters.put(exporter)
    return write_text_atomic(Path(out), body)


def warm_up_html() -> None:
    """Compile an HTML exporter's template and run it once on a small notebook (a report run does this while
    it gathers its inputs: the first report's export then takes a fraction of the time)."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## warm-up"), nbformat.v4.new_code_cell(
        "x", execution_count=1, outputs=[nbformat.v4.new_output("execute_result", {"text/html": "<b>x</b>",
                                                                                  "text/plain": "x"},
                                                                execution_count=1)])])
    with tempfile.TemporaryDirectory(prefix="workbench-warm-up-") as d:
        notebook_to_html(nb, Path(d) / "warm-up.html", title="warm-up")


def external_resources(html: str) -> list[str]:
    """URLs the page would fetch from the network (scripts, styles, images, frames)."""
    return sorted(set(_EXTERNAL.findall(html)))


def find_chromium(settings: Settings | None = None) -> str | None:
    """The Chromium to print with: ``WORKBENCH_CHROMIUM``, ``reports.chromium``, else one on PATH."""
    s = settings or get_settings()
    for candidate in (os.environ.get("WORKBENCH_CHROMIUM", ""), s.reports.chromium):
        if candidate:
            found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
            return found
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: str | Path, pdf: str | Path, *, chromium: str, timeout: float | None = None,
                settings: Settings | None = None) -> Path:
    """Print ``html`` to ``pdf`` with headless Chromium (atomically: a temporary file, then rename)."""
    s = settings or get_settings()
    src, dst = Path(html).resolve(), Path(pdf)
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".report.", suffix=".pdf", dir=dst.parent)
    os.close(fd)
    profile = tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-")
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
           f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}", f"--print-to-pdf={tmp}", src.as_uri()]
    try:
        # Chromium dies with this thread (and is marked as ours for the next run's reaper, with its helpers)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout or s.reports.pdf_timeout_s,
                              check=False, env=child_env(), preexec_fn=die_with_parent)
        ok = proc.returncode == 0 and Path(tmp).stat().st_size > 0
        if not ok:
            tail = " ".join((proc.stderr or "").strip().splitlines()[-2:])[:300]
            raise PdfError(f"{src.name}: Chromium could not print the PDF (exit {proc.returncode}): {tail}")
        os.chmod(tmp, file_mode())
        os.replace(tmp, dst)
        return dst
    except subprocess.TimeoutExpired:
        raise PdfError(f"{src.name}: Chromium did not finish printing within "
                       f"{timeout or s.reports.pdf_timeout_s:g} s") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
        remove_profile(profile)


