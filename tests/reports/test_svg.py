"""The printed page's static drawing of each plot (``workbench.reports.svg``): the same figure as the
interactive plot, its ticks as BokehJS writes them (checked against BokehJS itself, in Chromium, on the
built reports), every mark of the data drawn, and the PDF printed from it without JavaScript."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pandas as pd
import pytest

from workbench.reports import plots
from workbench.reports.html import embed
from workbench.reports.svg import UnsupportedFigure, figure_svg
from workbench.display_ticks import (fmt_basic, fmt_datetime, fmt_numeral, ticks_datetime, ticks_linear,
                                     ticks_log)

NS = "{http://www.w3.org/2000/svg}"
DAYS = pd.to_datetime(["2026-11-06", "2026-11-07", "2026-11-08", "2026-11-09"])


def _svg(fig) -> ET.Element:
    return ET.fromstring(figure_svg(fig))             # well-formed XML, or this raises


def _texts(root: ET.Element, cls: str | None = None) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{NS}text") if cls is None or t.get("class") == cls]


def _marks(root: ET.Element, tag: str) -> int:
    """Marks inside the plot frame (clipped), not the legend's swatches."""
    clipped = [g for g in root.iter() if g.get("clip-path")]
    return sum(1 for g in clipped for el in g.iter(f"{NS}{tag}"))


def test_ticks_follow_bokehjs_rules():
    assert ticks_linear(0, 10) == [0, 2, 4, 6, 8, 10]
    assert ticks_linear(42.0, 280.7) == [50, 100, 150, 200, 250]                  # BokehJS, hourly units plot
    assert ticks_linear(-45.9, 70.6) == [-40, -20, 0, 20, 40, 60]
    assert ticks_log(1e-6, 1.5) == [1e-6, 1e-4, 1e-2, 1]            # seven powers of ten: every second
    assert ticks_log(1.0000000000000002e-06, 1.5) == [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]
    assert fmt_basic([0.04, 0.045, 0.05]) == ["0.04", "0.045", "0.05"]
    assert fmt_basic([-2.0, 0.0, 2.0]) == ["\u22122", "0", "2"]
    assert fmt_numeral([0.0, 100000.0], "0,0[.]00") == ["0", "100,000"]
    assert fmt_numeral([0.052], "0.0%") == ["5.2%"]
    day = lambda d: datetime(2026, 11, d, tzinfo=timezone.utc).timestamp() * 1000    # noqa: E731
    # 12 days: BokehJS's ticker of days 1, 4, 7, …; its default (non-plotting) formatter writes month/day
    assert [datetime.fromtimestamp(t / 1000, timezone.utc).day for t in ticks_datetime(day(5), day(19))] == \
        [7, 10, 13, 16, 19]
    assert fmt_datetime([day(7), day(10)]) == ["11/07", "11/10"]


def test_every_report_plot_draws_each_row_of_its_data():
    forest = plots.lift_forest(pd.DataFrame({"variant": ["b", "c", "d"], "lift_rel": [0.05, -0.02, 0.01],
                                             "lo": [0.01, -0.06, -0.03], "hi": [0.09, 0.02, 0.05]}), title="Lifts")
    root = _svg(forest)
    assert _marks(root, "circle") == 3 and "Lifts" in _texts(root) and "relative lift (%)" in _texts(root)
    assert _texts(root, "wb-xtick") == ["b", "c", "d"]
    funnel = plots.funnel_plot(pd.DataFrame({"step": ["seen", "seen", "bought", "bought"], "variant": ["a", "b"] * 2,
                                             "share_of_exposed": [1.0, 1.0, 0.1, 0.12], "units": [9, 9, 1, 1]}),
                               ["a", "b"])
    root = _svg(funnel)
    assert _marks(root, "rect") == 4 and {"seen", "bought", "a", "b"} <= set(_texts(root))
    trend = plots.trend_plot(pd.DataFrame({"ts": list(DAYS) * 2, "variant": ["a"] * 4 + ["b"] * 4,
                                           "y": [1.0, 2, 3, 4, 2, 3, 4, 5]}), "y", ["a", "b"], title="Trend")
    root = _svg(trend)
    paths = [p.get("d") for g in [root] for p in g.iter(f"{NS}path") if p.get("clip-path")]
    assert sum(d.count("L") == 3 for d in paths) == 2                # two lines of four points
    srm = plots.srm_history_plot(pd.DataFrame({"day": DAYS, "p_value": [0.5, 0.2, 1e-4, 1e-6], "units": [1, 2, 3, 4]}),
                                 warning_p=1e-3, blocked_p=1e-5)
    root = _svg(srm)
    assert _marks(root, "circle") == 4 and any(t.startswith("10\u2212") for t in _texts(root, "wb-ytick"))
    sequential = plots.sequential_plot({"b": pd.DataFrame({"look": DAYS, "lift": [0.1, 0.2, 0.1, 0.15],
                                                           "cs_lo": [-1.0, -0.5, -0.3, -0.1],
                                                           "cs_hi": [1.0, 0.8, 0.5, 0.4]})}, ["a", "b"])
    root = _svg(sequential)
    assert any(p.get("fill-opacity") for p in root.iter(f"{NS}path"))            # the band, translucent


def test_the_bandits_allocation_steps_are_drawn():
    from workbench.bandits.history import AllocationHistory
    ts = pd.to_datetime(["2026-11-06", "2026-11-06", "2026-11-08", "2026-11-08"])
    decisions = pd.DataFrame({"created_at": ts, "decision_id": ["d1", "d1", "d2", "d2"],
                              "variant": ["a", "b", "a", "b"], "weight": [0.5, 0.5, 0.7, 0.3]})
    history = AllocationHistory(experiment_id="x", as_of=datetime(2026, 11, 10), variants=("a", "b"),
                                current={"a": 0.7, "b": 0.3}, current_at=datetime(2026, 11, 8),
                                current_decision="d2", n_decisions=2, decisions=decisions)
    root = _svg(history.plot())
    steps = [p.get("d") for p in root.iter(f"{NS}path") if p.get("clip-path")]
    # each variant: held from the first decision, a step at the second, held to as_of
    assert len(steps) == 2 and all(d.count("L") == 4 for d in steps)
    assert {"a", "b"} <= set(_texts(root)) and "% of traffic" in _texts(root)


def _wedge():
    from bokeh.plotting import figure
    fig = figure(width=300, height=200, title="a wedge")
    fig.wedge(x=[0], y=[0], radius=1, start_angle=0, end_angle=1)
    return fig


def test_a_figure_the_drawing_does_not_know_prints_interactively(tmp_path):
    from workbench.reports.html import page_head
    from workbench.reports.pdf import SCRIPTED, PdfPrinter

    with pytest.raises(UnsupportedFigure):
        figure_svg(_wedge())
    h = str(embed(_wedge()))
    assert "wb-static" not in h and SCRIPTED in h
    chromium, images = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("pdfimages")
    if not (shutil.which(chromium) and images):
        if os.environ.get("WORKBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium or pdfimages is missing (.ci/run installs them)")
        pytest.skip("chromium or pdfimages is missing")
    forest = plots.lift_forest(pd.DataFrame({"variant": ["b"], "lift_rel": [0.05], "lo": [0.01], "hi": [0.09]}))
    pages = {"static": f"<html><body>{page_head()}{embed(forest)}</body></html>",
             "scripted": f"<html><body>{page_head()}{embed(forest)}{h}</body></html>"}
    printer = PdfPrinter(chromium)
    try:
        counts = {}
        for name in ("static", "scripted", "static"):          # the tab switches scripts off again
            (tmp_path / f"{name}.html").write_text(pages[name], encoding="utf-8")
            pdf = printer.print_pdf(tmp_path / f"{name}.html", tmp_path / f"{name}.pdf", timeout=60)
            listing = subprocess.run([images, "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
            counts.setdefault(name, []).append(len(listing.strip().splitlines()) - 2)     # minus the header
    finally:
        printer.close()
    # BokehJS drew the wedge (a canvas, printed as an image); the static page printed no image at all
    assert counts["scripted"][0] >= 1 and counts["static"] == [0, 0]


# the tick labels of each plot's Bokeh model, as BokehJS computes them on the loaded page, and the static
# drawing's, in the page's order of plots
_TICKS = """
() => {
  const models = new Map();
  for (const doc of Bokeh.documents) for (const m of doc.all_models) models.set(m.id, m);
  const out = [];
  for (const plot of document.querySelectorAll('.wb-plot')) {
    const root = plot.querySelector('[data-root-id]'), svg = plot.querySelector('svg.wb-svg');
    if (!root || !svg) continue;
    const m = models.get(root.getAttribute('data-root-id'));
    const bokeh = {};
    for (const [dim, side, rng] of [['x', m.below, m.x_range], ['y', m.left, m.y_range]]) {
      const axis = side.find(a => a.type && a.type.endsWith('Axis'));
      if (!axis || axis.type === 'CategoricalAxis') continue;
      const ticks = axis.ticker.get_ticks(rng.start, rng.end, rng, NaN).major;
      bokeh[dim] = axis.formatter.doFormat(ticks, axis).map(l => String(l).replace(/[\\n^]/g, ''));
    }
    const drawn = cls => Array.from(svg.querySelectorAll('text.' + cls)).map(t => t.textContent);
    out.push([m.title ? m.title.text : '', bokeh, {x: drawn('wb-xtick'), y: drawn('wb-ytick')}]);
  }
  return out;
}
"""


def test_printed_ticks_are_the_ones_bokehjs_draws(built, chromium_browser):
    compared = 0
    for eid in ("pdp-shoes-hero", "pdp-beauty-srm"):
        page = chromium_browser.new_page(viewport={"width": 1100, "height": 1000})
        try:
            page.goto((built.out / eid / "report.html").as_uri())
            page.wait_for_function("() => window.Bokeh !== undefined && Bokeh.documents.length > 0", timeout=20_000)
            page.wait_for_timeout(500)                  # the plot views set their data ranges
            found = page.evaluate(_TICKS)
        finally:
            page.close()
        assert found, f"{eid}: no plot with a static drawing"
        for title, bokeh, drawn in found:
            for dim, labels in bokeh.items():
                assert drawn[dim] == labels, f"{eid} / {title!r}, {dim} axis"
                compared += 1
    assert compared >= 15


def test_the_pdf_prints_the_static_drawings(built, tmp_path):
    """The PDF's plots are vector drawings: their titles and tick labels are text in the PDF."""
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext (poppler-utils) is missing")
    pdf = built.out / "pdp-shoes-hero" / "report.pdf"
    text = subprocess.run([exe, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    html = (built.out / "pdp-shoes-hero" / "report.html").read_text(encoding="utf-8")
    titles = re.findall(r'<svg [^>]*aria-label="([^"]+)"', html)
    assert len(titles) >= 8
    flat = " ".join(text.split())
    missing = [t for t in titles if " ".join(t.split()) not in flat]
    assert missing == [], "plot titles not printed as text"
    assert "hour of day (UTC)" in flat and "relative lift (%)" in flat


def test_hostile_names_stay_text_in_the_drawing():
    f = pd.DataFrame({"variant": ['<b>"x"</b>&amp'], "lift_rel": [0.05], "lo": [0.01], "hi": [0.09]})
    svg = figure_svg(plots.lift_forest(f, title='t "q" <script>alert(1)</script>'))
    root = ET.fromstring(svg)                       # still well-formed: every name is escaped
    assert "<script>" not in svg and "<b>" not in svg
    assert 't "q" <script>alert(1)</script>' in _texts(root) and _texts(root, "wb-xtick") == ['<b>"x"</b>&amp']
