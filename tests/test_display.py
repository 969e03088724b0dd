"""One display layer: the CLI, ``--json`` and a notebook's HTML tell the same story, in one notation.

The CLI tables are parsed back and compared with the formatting table applied to the full-precision
JSON numbers; the same strings must appear in ``_repr_html_``. Result objects have a short ``repr``,
HTML with the status / action / reason, and ``.plot()`` returns HoloViews objects.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_runner import invoke

from workbench.display import (fmt_change_ci, fmt_count, fmt_lift, fmt_p, fmt_p_eq, fmt_pp, fmt_prob, fmt_rate,
                               fmt_value)
from workbench.metrics import fmt_metric_delta, fmt_metric_delta_ci, fmt_metric_value

EXPERIMENT = "pdp-shoes-hero"


def _rows(text: str, width: int) -> list[list[str]]:
    """Body rows of every Rich table in ``text`` with ``width`` cells (wrapped cells are not expected)."""
    out = []
    for line in text.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            if len(cells) == width:
                out.append(cells)
    return out


@pytest.fixture(scope="module")
def analysed(small_world):
    """CLI text and JSON of one analysis of the small world, and the result object of the same data."""
    from workbench.analysis import AnalysisOptions, analyze
    from workbench.sources.experiments import load_experiment
    result = analyze(load_experiment(EXPERIMENT, db=str(small_world["db"])), AnalysisOptions(segments=("device",)))
    return result


def _cli(capsys, *args):
    code, out, err = invoke(capsys, None, *args)
    assert code == 0, err
    return out


def test_cli_json_and_html_agree_to_printed_precision(capsys, small_world, analysed):
    db = str(small_world["db"])
    text = _cli(capsys, "analyze", "-e", EXPERIMENT, "--db", db)
    data = json.loads(_cli(capsys, "analyze", "-e", EXPERIMENT, "--db", db, "--json"))
    html = analysed._repr_html_()
    printed = _rows(text.split("Adjusted estimates")[0], 7)     # the metric tables, not the adjusted estimates
    expected = []
    for m in data["metrics"]:
        for c in m["comparisons"]:
            u = m["unit"]
            expected.append([c["variant"], fmt_metric_value(m["name"], m["kind"], c["variant_value"], u),
                             fmt_metric_delta(m["name"], m["kind"], c["lift_abs"], u),
                             fmt_metric_delta_ci(m["name"], m["kind"], *c["lift_abs_ci"], u), fmt_lift(c["lift_rel"]),
                             fmt_p(c["p_value_adjusted"]), fmt_prob(c["prob_beat_control"])])
    assert len(expected) >= 5 and printed == expected
    # every metric says how its numbers are written: its unit, not a guess from its name
    units = {m["name"]: m["unit"] for m in data["metrics"]}
    assert units["pages_per_user"] == "count" and units["cvr"] == "rate" and units["lcp"] == "seconds"
    for row in expected:
        for cell in row[1:]:
            assert f"<td>{cell}</td>" in html, cell
    cvr = next(m for m in data["metrics"] if m["name"] == "cvr")["comparisons"][0]
    # the JSON keeps full precision: the printed value is a rounding of it, not the value itself
    assert len(repr(cvr["lift_abs"])) > 8 and fmt_pp(cvr["lift_abs"]).endswith(" pp")
    assert f"SRM: chi-square {fmt_p_eq(data['health']['srm']['p_value'])}" in text
    assert "(control control)" not in text and "control (control)" in text


def test_rates_are_percent_and_differences_of_rates_pp(capsys, small_world):
    text = _cli(capsys, "analyze", "-e", EXPERIMENT, "--db", str(small_world["db"]))
    row = next(r for r in _rows(text, 7) if r[1].endswith("%") and "5xx" not in r[0])
    assert row[2].endswith(" pp") and row[3].endswith("] pp") and row[4].endswith("%")
    assert not re.search(r"\d\.\d+e[-+]\d", text), "no scientific notation in the CLI"


def test_segment_table_is_printed(capsys, small_world, analysed):
    db = str(small_world["db"])
    text = _cli(capsys, "analyze", "-e", EXPERIMENT, "--db", db, "--segment", "device")
    data = json.loads(_cli(capsys, "analyze", "-e", EXPERIMENT, "--db", db, "--segment", "device", "--json"))
    seg = data["segments"][0]
    assert "Segments by device (exploratory" in text
    rows = _rows(text, 9)
    expected = [[str(c["segment"]), c["variant"], fmt_metric_value(m["metric"], m["kind"], c["control_value"], m["unit"]),
                 fmt_metric_value(m["metric"], m["kind"], c["variant_value"], m["unit"]),
                 fmt_metric_delta(m["metric"], m["kind"], c["lift_abs"], m["unit"]),
                 fmt_metric_delta_ci(m["metric"], m["kind"], *c["lift_abs_ci"], m["unit"]), fmt_lift(c["lift_rel"]),
                 fmt_p(c["p_value"]), fmt_p(c["p_value_adjusted"])] for m in seg["metrics"] for c in m["rows"]]
    assert len(expected) >= 6 and rows == expected
    # Cochran's Q once per metric (one variant), not per row and not again in the notes
    flat = " ".join(text.split())
    assert flat.count("Cochran's Q") == len(seg["metrics"])
    assert flat.count("exploratory") == 1


def test_summarize_formats_come_from_the_unit(capsys, small_world):
    db = str(small_world["db"])
    text = _cli(capsys, "summarize", "-e", EXPERIMENT, "--db", db)
    data = json.loads(_cli(capsys, "summarize", "-e", EXPERIMENT, "--db", db, "--json"))
    units = dict(data["metric_units"])
    assert units["pages_per_user"] == "count" and units["cvr"] == "rate"
    control = data["rows"][0]
    flat = " ".join(text.split())
    assert fmt_value(control["pages_per_user"], "count") in flat
    assert not fmt_value(control["pages_per_user"], "count").endswith("%")
    assert fmt_rate(control["cvr"]) in flat and fmt_value(control["lcp"], "seconds") in flat
    assert fmt_count(control["units"]) in flat
    from workbench.sources.experiments import load_experiment
    from workbench.summary import summarize
    html = summarize(load_experiment(EXPERIMENT, db=db))._repr_html_()
    for cell in (fmt_value(control["pages_per_user"], "count"), fmt_rate(control["cvr"]), fmt_count(control["units"])):
        assert f"<td>{cell}</td>" in html and cell in flat


def test_help_shows_default_values(capsys):
    code, out, _ = invoke(capsys, None, "allocate", "--help")
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0 and "Settings." not in out
    assert "(default 5%)" in flat and "(default 100)" in flat and "(default 20261121)" in flat


def test_learning_says_why_it_is_empty(capsys, tmp_path):
    code, out, _ = invoke(capsys, None, "learning", "--db", str(tmp_path / "empty.duckdb"))
    assert code == 0 and "learning store is empty" in " ".join(out.split())
    assert "┏" not in out


def test_short_repr_and_readable_html(analysed):
    r = analysed
    text = repr(r)
    assert 60 <= len(text) <= 300 and "\n" not in text
    best = r.primary.best()
    assert fmt_lift(best.lift_rel) in text and r.health.status in text
    for obj in (r.health, r.primary, best):
        assert len(repr(obj)) <= 200 and "\n" not in repr(obj)
    html = r._repr_html_()
    assert r.health.status.upper() in html and "2.412e+04" not in html and "e+0" not in html
    assert f"<td>{fmt_lift(best.lift_rel)}</td>" in html


def test_healthy_health_report_shows_status_and_srm():
    from workbench.results import HealthReport, SRMResult
    srm = SRMResult(variants=("a", "b"), observed=(24120.0, 24005.0), expected=(24062.5, 24062.5),
                    weights=(0.5, 0.5), statistic=0.27, p_value=0.6, status="healthy")
    h = HealthReport(status="healthy", srm=srm)
    html = h._repr_html_()
    assert "HEALTHY" in html and fmt_p_eq(0.6) in html and "No issues" in html
    assert repr(h) == "HealthReport(healthy, SRM chi-square p = 0.600, no issues)"


def test_decision_html_has_action_and_reason():
    from workbench.lifecycle.policies import Decision, RuleCheck
    d = Decision(experiment_id="e", policy="default", action="launch", reason="Launch b: cvr +8.18% (p = 0.008)",
                 reasons=("Launch b: cvr +8.18% (p = 0.008)", "guardrails hold"), rule="win",
                 checks=(RuleCheck(rule="win", action="launch", held=True),))
    html = d._repr_html_()
    assert "LAUNCH" in html and "Launch b: cvr +8.18% (p = 0.008)" in html and "guardrails hold" in html
    assert repr(d) == "Decision(launch: Launch b: cvr +8.18% (p = 0.008))"


def test_plots_are_holoviews_with_one_row_per_comparison(analysed):
    import holoviews as hv
    overlay = analysed.plot()
    assert isinstance(overlay, hv.Overlay)
    scatter = next(e for e in overlay if isinstance(e, hv.Scatter))
    n = sum(len(m.comparisons) for m in analysed.metrics)
    assert len(scatter) == n and len(next(e for e in overlay if isinstance(e, hv.Segments))) == n
    hv.render(overlay, backend="bokeh")          # it draws


def test_bayesian_results_plot_posteriors():
    import holoviews as hv
    from workbench.stats.bayes import beta_binomial, normal_lift
    b = beta_binomial([1000, 1000, 1000], [50, 60, 55], arms=["a", "b", "c"])
    plot = b.plot()
    assert isinstance(plot, hv.Overlay) and len(plot) == 3
    assert isinstance(normal_lift(0.5, 0.25).plot(), hv.Overlay)


def test_change_intervals_write_the_unit_once():
    assert fmt_change_ci(-0.0034, 0.0032, "rate") == "[-0.34, +0.32] pp"
    assert fmt_p(4e-73) == "<0.001" and fmt_p_eq(0.0) == "p < 0.001"


PRESENTERS = ("workbench/dashboard", "workbench/reports", "workbench/lifecycle", "workbench/cli", "workbench/bandits")
_FORMAT = re.compile(r"\{[^}{]*:[,+]?\.[0-9]+[%fe]\}")


def test_presenters_hold_no_number_formats():
    """Presenters call the display layer instead of writing f"{x:.2f}" themselves."""
    root = Path(__file__).resolve().parents[1]
    hits = [f"{p.relative_to(root)}:{i}" for d in PRESENTERS for p in sorted((root / d).rglob("*.py"))
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if _FORMAT.search(line)]
    assert hits == []


def test_a_binary_metric_is_a_rate_whatever_its_kind():
    """A 0/1 column analysed as a mean (it has a covariate) is still written as a rate: the unit decides."""
    from workbench.metrics import Metric
    assert Metric("bought", "mean", "bought", unit="rate").unit == "rate"
    assert Metric("spend", "mean", "spend").unit == "value" and Metric("cr", "proportion", "c").unit == "rate"
    assert fmt_metric_value("bought", "mean", 0.0512, "rate") == "5.12%"
    assert fmt_metric_delta("bought", "mean", 0.0042, "rate") == "+0.42 pp"


def test_three_arm_memo_and_cli_show_the_same_adjusted_guardrail_p(capsys, small_world):
    """A 3-arm test: the memo's guardrail table, the CLI and the JSON use the adjusted p, labelled."""
    from workbench.lifecycle.inputs import result_from_dict
    from workbench.lifecycle.memo import build_memo
    db = str(small_world["db"])
    eid = "pdp-electronics-cta"
    text = _cli(capsys, "analyze", "-e", eid, "--db", db)
    data = json.loads(_cli(capsys, "analyze", "-e", eid, "--db", db, "--json"))
    md = build_memo(result_from_dict(data)).to_markdown()
    assert len(data["variants"]) == 3 and "| p (adjusted) |" in md
    cells = {tuple(r[:1]) + (r[5],) for r in _rows(text, 7)}
    checked = 0
    for g in (m for m in data["metrics"] if m["role"] == "guardrail"):
        for c in g["comparisons"]:
            shown = fmt_p(c["p_value_adjusted"])
            assert (c["variant"], shown) in cells
            row = next(line for line in md.splitlines() if line.startswith("| ") and f"| {c['variant']} |" in line
                       and (g["label"] or g["name"]) in line)
            assert f"| {shown} |" in row
            checked += 1
    assert checked >= 4


def test_roi_axis_has_thousands_separators():
    import pandas as pd
    from workbench.reports.plots import roi_plot
    path = pd.DataFrame({"day": [0, 10, 20], "cumulative": [0.0, 250_000.0, 500_000.0], "lo": [0.0, 1e5, 2e5],
                         "hi": [0.0, 4e5, 8e5]})
    fig = roi_plot(path, variant="b", level=0.9, currency="EUR")
    assert fig.yaxis[0].formatter.format == "0,0[.]00" and fig.yaxis[0].axis_label == "incremental revenue (EUR)"
    assert [i.label.value for i in fig.legend[0].items] == ["90% interval", "b (projected)"]
    assert sorted(type(r.glyph).__name__ for r in fig.renderers) == ["Line", "VArea"]


def test_segment_table_of_an_aggregated_csv(capsys):
    sample = Path(__file__).resolve().parents[1] / "data" / "samples" / "ab_results.csv"
    text = _cli(capsys, "analyze", str(sample), "--segment", "segment")
    data = json.loads(_cli(capsys, "analyze", str(sample), "--segment", "segment", "--json"))
    metrics = data["segments"][0]["metrics"]
    rows = _rows(text, 9)
    assert len(rows) == sum(len(m["rows"]) for m in metrics) >= 6
    assert {r[0] for r in rows} == {str(c["segment"]) for m in metrics for c in m["rows"]}
    assert " ".join(text.split()).count("Cochran's Q") == len(metrics)
