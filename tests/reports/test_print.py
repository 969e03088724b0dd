"""How the built reports look on paper and offline: tables and plots fit the printed page, no toolbar
is printed, the first pages are not left white, nothing is loaded from the network, no broken images
or empty chart frames, and every plotted interval lies inside its plot's range.

The layout checks open the session's ``report.html`` in Debian's Chromium (Playwright) with print
media emulated at the content width of an A4 and a Letter page (``@page`` margins 12 mm), which is the
layout Chromium's ``--print-to-pdf`` uses; the PDF checks render the printed pages with poppler's
``pdftoppm``. Both skip when the tool is missing, except in CI (``WORKBENCH_REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from workbench.reports import plots
from workbench.reports.html import REPORT_CSS, embed, table
from workbench.reports.render import external_resources

CHROMIUM = Path("/usr/bin/chromium")
MM = 96 / 25.4                                   # CSS pixels per millimetre
PAGES = {"A4": round((210 - 24) * MM), "Letter": round((215.9 - 24) * MM)}   # content widths, 12 mm margins
REPORTS = ("pdp-shoes-hero", "pdp-beauty-srm", "hostile-names")


def _require(tool: str, path: str | None) -> str:
    if path and Path(path).exists():
        return path
    message = f"{tool} is missing (.ci/run installs it)"
    if os.environ.get("WORKBENCH_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture()
def browser(chromium_browser) -> Any:
    return chromium_browser


def _open(browser: Any, path: Path, *, width: int, media: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": width, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.emulate_media(media=media)
    page.goto(path.as_uri())
    page.wait_for_function("() => window.Bokeh !== undefined && Bokeh.documents.length > 0", timeout=20_000)
    page.wait_for_timeout(400)                   # BokehJS lays the plots out after the documents load
    return page, requests


# every element in the page and in Bokeh's (open) shadow roots
_WALK = """
(top) => { const all = []; const walk = root => { for (const el of root.querySelectorAll('*')) { all.push(el);
          if (el.shadowRoot) walk(el.shadowRoot); } }; walk(top.shadowRoot || top); return all; }
"""

_LAYOUT = """
(width) => {
  const walk = %s;
  const out = {tables: [], wide: [], toolbars: [], plots: []};
  for (const t of document.querySelectorAll('table')) {
    const r = t.getBoundingClientRect();
    if (r.width > 0) out.tables.push([t.className, t.innerText.slice(0, 60), Math.round(r.right)]);
  }
  for (const p of document.querySelectorAll('.wb-plot')) {
    // what shows of the plot: its static drawing (print) or BokehJS's canvases (screen)
    const shown = kind => walk(p).filter(el => el.tagName.toLowerCase() === kind)
                                 .map(el => el.getBoundingClientRect()).filter(r => r.width > 0);
    const svgs = shown('svg').filter(r => r.width > 50), rects = svgs.length ? svgs : shown('canvas');
    const right = Math.max(0, ...rects.map(r => r.right)), w = Math.max(0, ...rects.map(r => r.width));
    out.plots.push([Math.round(w), Math.round(Math.max(0, ...rects.map(r => r.height))), Math.round(right),
                    svgs.length ? 'svg' : 'canvas']);
  }
  for (const el of walk(document)) {
    const r = el.getBoundingClientRect();
    // what prints: text, canvases, images, tables (Bokeh's empty renderer placeholders do not)
    const ink = ['CANVAS', 'IMG', 'SVG', 'TABLE'].includes(el.tagName)
      || Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (ink && r.width > 0 && r.right > width + 1) out.wide.push([el.tagName, el.className.toString().slice(0, 40),
                                                                 Math.round(r.right)]);
    if (el.classList && el.classList.contains('bk-Toolbar')) {
      const s = getComputedStyle(el);
      out.toolbars.push(s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0);
    }
  }
  return out;
}
""" % _WALK


@pytest.mark.parametrize("paper", sorted(PAGES))
@pytest.mark.parametrize("eid", REPORTS)
def test_printed_layout_fits_the_page_and_hides_toolbars(built, browser, eid, paper):
    width = PAGES[paper]
    page, _ = _open(browser, built.out / eid / "report.html", width=width, media="print")
    try:
        got = page.evaluate(_LAYOUT, width)
    finally:
        page.close()
    assert got["tables"], "no table measured"
    assert [t for t in got["tables"] if t[2] > width + 1] == [], f"tables wider than the {paper} page"
    assert got["wide"] == [], f"elements reach past the {paper} page's right edge"
    assert got["plots"] and all(w > 100 and h > 50 and right <= width + 1 for w, h, right, _ in got["plots"])
    assert {kind for *_, kind in got["plots"]} == {"svg"}, "print shows the plots' static drawings, not canvases"
    assert got["toolbars"] and not any(got["toolbars"]), "a Bokeh toolbar would be printed"


def test_report_html_loads_nothing_but_itself(built, browser):
    for eid in REPORTS:
        path = built.out / eid / "report.html"
        html = path.read_text(encoding="utf-8")
        assert external_resources(html) == []
        # no src/href that the page would load at all (a relative one is missing next to the report)
        loads = re.findall(r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*[\"']?([^\"'\s>]+)", html, re.I)
        assert [u for u in loads if not u.startswith("data:")] == []
        page, requests = _open(browser, path, width=1100, media="screen")
        try:
            broken = page.evaluate("() => Array.from(document.images).filter(i => !i.complete || !i.naturalWidth)"
                                   ".map(i => i.src.slice(0, 80))")
        finally:
            page.close()
        assert requests[0] == path.as_uri()
        assert [u for u in requests if u != path.as_uri() and not u.startswith(("data:", "blob:"))] == []
        assert broken == []


def test_blocked_report_has_no_image_without_data_and_no_empty_chart(built):
    html = (built.out / "pdp-beauty-srm" / "report.html").read_text(encoding="utf-8")
    imgs = re.findall(r"<img\b[^>]*>", html, re.I)
    assert all(re.search(r"src\s*=\s*[\"']data:image/", i) for i in imgs)
    assert html.count('class="wb-plot"') >= 1                    # the SRM history is still drawn


def test_a_plot_with_nothing_to_draw_is_a_sentence_not_a_frame():
    for empty in (plots.lift_forest(pd.DataFrame()), plots.trend_plot(pd.DataFrame(), "y", ["a"]),
                  plots.funnel_plot(pd.DataFrame(), ["a"]), plots.roi_plot(pd.DataFrame(), variant="b", level=0.95)):
        h = str(embed(empty))
        assert "wb-plot" not in h and "Bokeh" not in h and "wb-empty" in h
        assert plots.empty_message(empty) in h
    assert "wb-plot" in str(embed(plots.lift_forest(pd.DataFrame({"variant": ["b"], "lift_rel": [0.05],
                                                                  "lo": [0.01], "hi": [0.09]}))))


def test_long_words_in_table_cells_may_break_when_printed():
    t = str(table(pd.DataFrame({"id": ["events (/a/very/long/path/to/workbench.duckdb)", "short"],
                                "n": [1, 2]})))
    assert t.count('class="t w"') == 1 and t.count('<td class="t">') == 1
    methods = str(table(pd.DataFrame({"method": ["cuped-z", "stratified + covariates"], "n": [1, 2]})))
    assert methods.count('<td class="t n">cuped-z</td>') == 1 and methods.count('class="t n"') == 1
    assert "td.n{white-space:nowrap}" in REPORT_CSS             # a short hyphenated word stays whole


_INTERVALS = """
() => {
  const out = [];
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      if (m.type !== 'Figure' && m.type !== 'Plot') continue;
      for (const a of [...m.center, ...m.renderers]) {
        if (a.type !== 'Whisker') continue;
        const d = a.source.data;
        const vals = [...d[a.lower.field], ...d[a.upper.field]].map(Number).filter(Number.isFinite);
        const dim = a.dimension === 'height' ? m.y_range : m.x_range;
        const lo = Math.min(...vals), hi = Math.max(...vals);
        out.push([m.title ? m.title.text : '', lo, hi, dim.start, dim.end]);
      }
    }
  }
  return out;
}
"""


def test_forest_plot_intervals_lie_inside_the_plot(built, browser):
    page, _ = _open(browser, built.out / "pdp-shoes-hero" / "report.html", width=1100, media="screen")
    try:
        page.wait_for_timeout(300)
        found = page.evaluate(_INTERVALS)
    finally:
        page.close()
    forests = [f for f in found if "Lift by" in f[0] or "Relative lift" in f[0]]
    assert forests, f"no forest plot with intervals found: {found}"
    for title, lo, hi, start, end in forests:
        span = end - start
        assert start < lo and hi < end, f"{title}: interval [{lo}, {hi}] outside [{start}, {end}]"
        assert hi + 0.02 * span <= end and lo - 0.02 * span >= start, f"{title}: no padding around the intervals"


def _pdf_pages(pdf: Path, out: Path, first: int, last: int) -> list[Path]:
    exe = _require("pdftoppm (poppler-utils)", shutil.which("pdftoppm"))
    subprocess.run([exe, "-r", "40", "-gray", "-png", "-f", str(first), "-l", str(last), str(pdf), str(out / "p")],
                   check=True, capture_output=True, timeout=120)
    return sorted(out.glob("p-*.png"))


def test_first_pdf_pages_are_not_mostly_white(built, tmp_path):
    pdf = built.out / "pdp-shoes-hero" / "report.pdf"
    if not pdf.exists():
        _require("Chromium (report.pdf was not printed)", None)
    from PIL import Image
    pages = _pdf_pages(pdf, tmp_path, 1, 2)
    assert len(pages) == 2
    for png in pages:
        img = Image.open(png).convert("L")
        w, h = img.size
        px = img.load()
        inked = [y for y in range(h) if any(px[x, y] < 200 for x in range(0, w, 2))]
        assert inked, f"{png.name} is blank"
        # the content runs to the bottom margin: no page ends after its first third (a forced break)
        assert inked[-1] > 0.8 * h, f"{png.name}: last content at {inked[-1] / h:.0%} of the page height"
        # nothing is printed in the right margin (content cut or pushed off the page would touch it)
        margin = int(w * 10 / 216)               # 10 of the 12 mm (Letter is 216 mm wide)
        assert all(px[x, y] >= 200 for y in range(0, h, 2) for x in range(w - margin, w)), png.name


def test_dashboard_forest_range_holds_every_interval_segments_too():
    from workbench.dashboard.plots import forest_range
    frame = pd.DataFrame({"group": ["metric", "segment: device", "segment: device"], "lift_rel": [0.05, 0.2, -0.1],
                          "lo": [0.01, -0.3, -0.6], "hi": [0.09, 0.9, 0.2]})
    lo, hi = forest_range(frame)
    assert lo < -0.6 and hi > 0.9                               # the segments' ends with room to spare
    assert forest_range(frame.assign(lo=float("nan"), hi=float("nan"), lift_rel=float("nan"))) == (None, None)


def test_a_plot_wider_than_the_page_is_narrowed_when_embedded():
    fig = plots.new_figure("wide", width=plots.WIDTH + 200)
    fig.line([0, 1], [1, 2])
    h = str(embed(fig))
    assert f'"width":{plots.WIDTH}' in h.replace(" ", "") and f'"width":{plots.WIDTH + 200}' not in h.replace(" ", "")


def test_overview_states_the_headers_as_of_and_running_since(built):
    html = (built.out / "pdp-shoes-hero" / "report.html").read_text(encoding="utf-8")
    header_as_of = re.search(r"data as of ([0-9: -]+?) ·", html).group(1).strip()
    row = re.search(r"<th class=.k.>As of</th><td class=.v.>(.*?)</td>", html).group(1)
    assert row.startswith(header_as_of) and "all data" in row
    assert re.search(r"<th class=.k.>Running since</th><td class=.v.>\d{4}-\d\d-\d\d", html)
    assert not re.search(r">Ended</th><td class=.v.>running<", html)          # "Ended" only once it has ended


def test_the_runs_browser_prints_the_same_pages_as_a_one_shot_print(tmp_path):
    """The run's browser lays its tab out for print from the start (print media emulated, so printing does
    not lay out and redraw the plots again); the pages are the ones ``chromium --print-to-pdf`` prints."""
    from PIL import Image, ImageChops

    from workbench.reports.html import page_head
    from workbench.reports.pdf import PdfPrinter
    from workbench.reports.render import html_to_pdf
    chromium = _require("Chromium", str(CHROMIUM))
    forest = plots.lift_forest(pd.DataFrame({"variant": ["b", "c"], "lift_rel": [0.05, -0.02], "lo": [0.01, -0.06],
                                             "hi": [0.09, 0.02]}))
    wide = pd.DataFrame({f"column {i}": [f"value-{i}-{j}" * 3 for j in range(3)] for i in range(9)})
    page = tmp_path / "page.html"
    page.write_text(f"<html><head>{page_head()}</head><body><h1>Report</h1>{table(wide)}{embed(forest)}"
                    "</body></html>", encoding="utf-8")
    printer = PdfPrinter(chromium)
    try:
        printer.print_pdf(page, tmp_path / "run" / "r.pdf", timeout=60)
    finally:
        printer.close()
    html_to_pdf(page, tmp_path / "one" / "r.pdf", chromium=chromium, timeout=60)
    ours = _pdf_pages(tmp_path / "run" / "r.pdf", tmp_path / "run", 1, 9)
    theirs = _pdf_pages(tmp_path / "one" / "r.pdf", tmp_path / "one", 1, 9)
    assert ours and len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert ImageChops.difference(Image.open(a), Image.open(b)).getbbox() is None, a.name
