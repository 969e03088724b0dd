"""Layout checks run inside a dashboard page: what a stakeholder would notice at a glance.

- ``empty_charts``: Bokeh plots shown on the page whose every data renderer has no rows (an empty
  frame where a sentence saying why there is nothing to show belongs);
- ``clipped``: visible text, badges and canvases cut by the viewport or by an ancestor that hides
  its overflow (a table column cut at the right margin, text cut by an ellipsis);
- ``repeated``: the same message (a sentence of 40+ characters outside tables and logs) shown twice.

Each returns a list of short descriptions; an empty list means the page passed. They walk open
shadow roots, since Panel renders its components inside them.
"""

from __future__ import annotations

from typing import Any

_WALK = """
const walk = (root, f) => {
  for (const el of root.querySelectorAll('*')) { f(el); if (el.shadowRoot) walk(el.shadowRoot, f); }
};
const parentOf = (el) => el.parentElement || (el.getRootNode && el.getRootNode().host) || null;
const shown = (el) => {
  const r = el.getBoundingClientRect();
  if (r.width < 1 || r.height < 1) return false;
  const s = getComputedStyle(el);
  return s.visibility !== 'hidden' && s.display !== 'none' && parseFloat(s.opacity || '1') > 0;
};
const ownText = (el) => Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
const describe = (el) => (el.id ? '#' + el.id : el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined
  ? '.' + String(el.className).trim().split(/\\s+/).slice(0, 2).join('.') : ''));
"""

EMPTY_CHARTS = """() => {
  const out = [];
  const roots = window.Bokeh && Bokeh.index ? Object.values(Bokeh.index) : [];
  const viewOf = (m) => { for (const r of roots) { const v = r.owner && r.owner.find_one && r.owner.find_one(m);
                                                    if (v) return v; } return null; };
  const onPage = (m) => { const v = viewOf(m); if (!v || !v.el) return m.visible;
                          const r = v.el.getBoundingClientRect(); return v.el.isConnected && r.width > 0 && r.height > 0; };
  for (const doc of (window.Bokeh ? Bokeh.documents : [])) {
    for (const m of doc.all_models) {
      const t = m.type || '';
      if (!(t.endsWith('Plot') || t.endsWith('Figure')) || !onPage(m)) continue;
      const rs = (m.renderers || []).filter(r => r.data_source && r.visible);
      if (rs.length && rs.every(r => r.data_source.get_length() === 0)) out.push(`empty chart: ${m.title ? m.title.text : t}`);
    }
  }
  return out;
}"""

CLIPPED = "() => {" + _WALK + """
  const vw = document.documentElement.clientWidth;
  const out = [];
  walk(document, (el) => {
    const text = ownText(el);
    const media = el.tagName === 'CANVAS' || el.tagName === 'IMG';
    if ((!text && !media) || !shown(el)) return;
    const r = el.getBoundingClientRect();
    let left = 0, right = vw;
    for (let a = parentOf(el); a; a = parentOf(a)) {
      if (!(a instanceof Element)) break;
      const s = getComputedStyle(a);
      if (s.overflowX !== 'visible') {
        const ar = a.getBoundingClientRect();
        left = Math.max(left, ar.left); right = Math.min(right, ar.right);
      }
    }
    const s = getComputedStyle(el);
    const label = `${describe(el)} ${JSON.stringify((text || el.tagName).slice(0, 40))}`;
    if (r.right > right + 2 || r.left < left - 2) out.push(`cut at the edge: ${label}`);
    else if (text && s.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) out.push(`text cut: ${label}`);
  });
  return out;
}"""

REPEATED = "() => {" + _WALK + """
  const seen = new Map();
  const inLog = (el) => { for (let a = el; a; a = parentOf(a)) { if (!(a instanceof Element)) break;
      if (a.tagName === 'TABLE' || a.classList.contains('tabulator')) return true; } return false; };
  walk(document, (el) => {
    const text = ownText(el).replace(/\\s+/g, ' ');
    if (text.length < 40 || !shown(el) || inLog(el)) return;
    seen.set(text, (seen.get(text) || 0) + 1);
  });
  return Array.from(seen.entries()).filter(([, n]) => n > 1).map(([t, n]) => `shown ${n} times: ${t.slice(0, 90)}`);
}"""


def layout_problems(page: Any) -> list[str]:
    """Every problem the three checks find on a loaded Playwright page."""
    return [*page.evaluate(EMPTY_CHARTS), *page.evaluate(CLIPPED), *page.evaluate(REPEATED)]


_SIGNATURE = """() => {
  let n = 0, area = 0;
  const walk = (root) => { for (const el of root.querySelectorAll('*')) { n++;
      if (el.tagName === 'CANVAS') area += el.width * el.height; if (el.shadowRoot) walk(el.shadowRoot); } };
  walk(document);
  return [n, area, document.body.scrollHeight, document.body.scrollWidth, !!document.querySelector('.pn-loading')].join('/');
}"""


def settle(page: Any, *, timeout: float = 30.0) -> None:
    """Wait until the page has stopped changing: no request in flight, no Panel loading spinner, and the same
    count of elements, canvas area and page size on three looks 150 ms apart (Bokeh draws after the
    websocket delivers the document, so a page that only *loaded* may not have its charts yet)."""
    import time
    page.wait_for_load_state("networkidle")
    deadline = time.monotonic() + timeout
    last, same = None, 0
    while same < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(150)
        sig = page.evaluate(_SIGNATURE)
        same = same + 1 if sig == last and not sig.endswith("true") else 0
        last = sig

