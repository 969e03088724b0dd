"""The dashboard's charts in a real browser: the forest plot's x range holds every interval (segments too)
and the line charts' legends sit outside the plot frame, where they cover no data."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.ui

# BokehJS's own models, read after the server has filled the plots
_FIGURES = """
() => {
  const out = [];
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      if (m.type !== 'Figure' || !m.title) continue;
      const seg = m.renderers.find(r => r.glyph && r.glyph.type === 'Segment');
      const d = seg ? seg.data_source.data : null;
      out.push({title: m.title.text,
                x: [m.x_range.start, m.x_range.end],
                ends: d ? [...d.lo, ...d.hi].map(Number).filter(Number.isFinite) : [],
                legend_inside: m.center.some(c => c.type === 'Legend'),
                legend_outside: [...m.right, ...m.left, ...m.above, ...m.below].some(c => c.type === 'Legend')});
    }
  }
  return out;
}
"""


def test_forest_intervals_inside_and_legends_outside_the_frame(as_user):
    s = as_user("lee")
    s.goto("page=experiment&experiment=pdp-shoes-hero", "#wb-experiment-title")
    s.page.wait_for_function("() => window.Bokeh && Bokeh.documents.some(d => d.all_models.size > 0)",
                             timeout=30_000)
    deadline = 40
    figures: list[dict] = []
    while deadline:                                 # the server fills the plots after the page loads
        figures = s.page.evaluate(_FIGURES)
        forest = [f for f in figures if f["title"].startswith("Relative lift") and f["ends"]]
        if forest:
            break
        s.page.wait_for_timeout(500)
        deadline -= 1
    assert forest, f"no forest plot with intervals: {[f['title'] for f in figures]}"
    (f,) = forest
    start, end = f["x"]
    lo, hi = min(f["ends"]), max(f["ends"])
    assert start < lo and hi < end, f"intervals [{lo}, {hi}] run outside the x range [{start}, {end}]"
    lines = [f for f in figures if f["title"].startswith(("Conversion by", "Chance to beat", "Posterior"))]
    assert lines
    assert all(f["legend_outside"] and not f["legend_inside"] for f in lines), lines
    s.screenshot("detail-plots")
    assert s.outside_requests() == []
