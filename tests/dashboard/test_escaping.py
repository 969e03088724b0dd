"""User text reaches the dashboard's HTML only through workbench.display.escape (the browser test is tests/ui)."""

from __future__ import annotations

import re
from pathlib import Path

from workbench.dashboard.data import PortfolioRow, portfolio_frame
from workbench.dashboard.portfolio import COLUMNS, display_frame

PKG = Path(__file__).resolve().parents[2] / "workbench"
PAYLOAD = '<img src=x onerror=alert(1)> <script>alert(1)</script> "><svg onload=alert(1)>'
LIVE = re.compile(r"<img|<script|<svg")


def test_every_portfolio_cell_holds_the_payloads_only_escaped():
    row = PortfolioRow(experiment_id="exp-1", name=PAYLOAD, state="running", kind="ab", category=PAYLOAD,
                       days_running=3.0, traffic_share=0.5, units=100.0, allocation="50/50", primary_metric=PAYLOAD,
                       best_variant="b", lift_rel=0.1, lift_rel_lo=0.0, lift_rel_hi=0.2, prob_beat_control=0.9,
                       decision="hold", decision_reason=PAYLOAD, health="healthy", arms=3)
    shown = display_frame(portfolio_frame([row]))
    assert list(shown.columns) == list(COLUMNS)
    cells = [str(v) for v in shown.iloc[0]]
    assert [c for c in cells if LIVE.search(c)] == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown.iloc[0]["category"]
    assert "&lt;svg onload=alert(1)&gt;" in shown.iloc[0]["experiment_id"]


def test_one_escaping_function_and_no_markdown_panes():
    """Only workbench/display.py escapes HTML itself; nothing renders Markdown (a Markdown pane passes raw HTML)."""
    others = re.compile(r"html\.escape|markupsafe|from html import escape|pn\.pane\.Markdown|pn\.pane\.Str\b")
    offenders = [str(p.relative_to(PKG)) for p in PKG.rglob("*.py")
                 if p.name != "display.py" and others.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
