"""The report's plots are plain Bokeh figures: what each draws (glyphs, axes, legend, colours), read from the figure."""

from __future__ import annotations

import pandas as pd
from bokeh.models import Legend, Span, Whisker

from workbench.reports import plots

DAYS = pd.to_datetime(["2026-11-06", "2026-11-07", "2026-11-08"])


def _glyphs(fig) -> list[str]:
    return [type(r.glyph).__name__ for r in fig.renderers]


def _legend(fig) -> list[str]:
    (legend,) = [m for m in fig.right if isinstance(m, Legend)]         # outside the frame, right of it
    return [i.label.value for i in legend.items]


def test_lift_forest_draws_a_point_and_an_interval_per_row_in_percent():
    f = pd.DataFrame({"variant": ["b", "c"], "lift_rel": [0.05, -0.02], "lo": [0.01, -0.06], "hi": [0.09, 0.02]})
    fig = plots.lift_forest(f, title="Relative lift")
    assert _glyphs(fig) == ["Scatter"] and fig.yaxis[0].axis_label == "relative lift (%)"
    assert list(fig.x_range.factors) == ["b", "c"] and fig.title.text == "Relative lift"
    (whisker,) = [m for m in fig.center if isinstance(m, Whisker)]
    assert whisker.source.data["_lo"].tolist() == [1.0, -6.0] and whisker.source.data["_hi"].tolist() == [9.0, 2.0]
    assert fig.y_range.start < -6.0 and fig.y_range.end > 9.0                     # every interval inside the frame
    assert [s.location for s in fig.center if isinstance(s, Span)] == [0]
    assert fig.width == plots.WIDTH and fig.xaxis[0].major_label_orientation == 0
    many = plots.lift_forest(pd.concat([f] * 4).assign(variant=[f"v{i}" for i in range(8)]))
    assert many.xaxis[0].major_label_orientation > 0 and many.height > fig.height      # labels turned, room for them


def test_lines_per_variant_in_the_variants_colours_with_the_legend_outside():
    f = pd.DataFrame({"ts": list(DAYS) * 2, "variant": ["control"] * 3 + ["treatment"] * 3,
                      "cvr": [0.1, 0.2, 0.3, 0.2, 0.3, 0.4]})
    fig = plots.trend_plot(f, "cvr", ["control", "treatment"], title="Conversion", ylabel="cvr %", pct=True)
    assert _glyphs(fig) == ["Line", "Line"] and _legend(fig) == ["control", "treatment"]
    assert [r.glyph.line_color for r in fig.renderers] == [plots.PALETTE[0], plots.PALETTE[1]]    # control grey
    assert fig.renderers[1].data_source.data["cvr"].tolist() == [20.0, 30.0, 40.0]
    assert fig.yaxis[0].axis_label == "cvr %" and type(fig.xaxis[0]).__name__ == "DatetimeAxis"
    hours = pd.DataFrame({"hour": [0, 1, 0, 1], "variant": ["a", "a", "b", "b"], "units": [3, 4, 5, 6]})
    h = plots.hour_plot(hours, ["a", "b"])
    assert _glyphs(h) == ["Line", "Line"] and h.xaxis[0].axis_label == "hour of day (UTC)"


def test_funnel_groups_bars_by_step_and_names_only_the_steps():
    f = pd.DataFrame({"step": ["viewed", "viewed", "bought", "bought"], "variant": ["a", "b", "a", "b"],
                      "share_of_exposed": [1.0, 1.0, 0.1, 0.12], "units": [100, 100, 10, 12]})
    fig = plots.funnel_plot(f, ["a", "b"])
    assert _glyphs(fig) == ["VBar", "VBar"] and _legend(fig) == ["a", "b"]
    assert list(fig.x_range.factors) == [("viewed", "a"), ("viewed", "b"), ("bought", "a"), ("bought", "b")]
    assert fig.xaxis[0].major_label_text_font_size == "0pt" and fig.yaxis[0].axis_label == "% of exposed units"


def test_srm_history_is_on_a_log_scale_with_both_thresholds():
    f = pd.DataFrame({"day": DAYS, "p_value": [0.5, 0.01, 0.0], "units": [10, 20, 30]})
    fig = plots.srm_history_plot(f, warning_p=0.01, blocked_p=0.001)
    assert _glyphs(fig) == ["Line", "Scatter"] and type(fig.y_scale).__name__ == "LogScale"
    assert sorted(s.location for s in fig.center if isinstance(s, Span)) == [0.001, 0.01]
    assert fig.y_range.start > 0 and fig.renderers[0].data_source.data["p"].min() > 0      # p = 0 drawn at 1e-300


def test_cohort_and_scatter_plots_draw_every_series():
    cohorts = pd.DataFrame({"day": list(DAYS) * 2, "variant": ["c"] * 3 + ["t"] * 3,
                            "lift_rel": [0.0] * 3 + [0.1, 0.2, -0.1], "lo": [0.0] * 3 + [-0.5, -0.1, -0.9],
                            "hi": [0.0] * 3 + [0.6, 0.5, 0.7]})
    fig = plots.cohort_plot(cohorts, ["c", "t"])
    assert _glyphs(fig) == ["Line"] and _legend(fig) == ["t"]
    assert fig.y_range.start < -90 and fig.y_range.end > 70                      # the whiskers fit in the frame
    skus = pd.DataFrame({"control_value": [0.1, 0.2, 0.3], "variant_value": [0.2, 0.2, 0.1], "n_control": [5, 5, 5],
                         "n_variant": [5, 6, 7], "category": ["shoes", "bags", "shoes"], "product_id": ["a", "b", "c"]})
    sku = plots.sku_plot(skus)
    assert _glyphs(sku) == ["Scatter", "Scatter", "Line"] and _legend(sku) == ["bags", "shoes"]
    assert sku.xaxis[0].axis_label == "control conversion %" and sku.height == 320


def test_a_plot_with_nothing_to_draw_is_an_empty_plot_with_its_sentence():
    assert plots.empty_message(plots.sequential_plot({}, ["a"])) == "no sequential looks"
    assert plots.empty_message(plots.cohort_plot(pd.DataFrame(), ["a"])) == "no daily cohorts"
    empty = plots.segment_plot(pd.DataFrame(), dim="device")
    assert empty == plots.EmptyPlot("no device segments") and "<i>no device segments</i>" in empty._repr_html_()
    nan = pd.DataFrame({"variant": ["b"], "lift_rel": [float("nan")], "lo": [0.0], "hi": [0.0]})
    assert plots.empty_message(plots.lift_forest(nan)) == "no finite estimates"


def test_every_plot_of_a_report_passes_bokehs_integrity_checks(built, monkeypatch):
    """Embedding skips Bokeh's document validation (it only logs, and cost a fifth of each plot's embedding):
    the plots of real reports are validated here instead, with none of its errors or warnings allowed."""
    from bokeh.core.validation.check import check_integrity

    from workbench.reports import html, load_report
    from workbench.reports.report import section_methods

    seen = []
    friendly = html._print_friendly
    monkeypatch.setattr(html, "_print_friendly", lambda model: (seen.append(model), friendly(model)))
    for eid in ("pdp-shoes-hero", "hostile-names"):
        report = load_report(eid, db=built.db)
        for method in section_methods().values():
            getattr(report, method)()
    assert len(seen) >= 15
    for fig in seen:
        issues = check_integrity(list(fig.references()))
        assert issues.error == [] and issues.warning == [], (fig.title.text, issues)
