"""Metric definition files: every bad definition is one located line (file, key, value), exit 2, nothing written."""

from __future__ import annotations

import pytest
import yaml

from tests.cli_runner import invoke
from workbench import metric_defs
from workbench.errors import InputError
from workbench.metric_defs import builtin_definitions, catalog, definitions_from_mapping, load_definitions
from workbench.metrics import CATALOG


@pytest.fixture(autouse=True)
def _no_leftover_definitions():
    yield
    metric_defs._ACTIVE.clear()


def _problem(mapping: dict) -> str:
    with pytest.raises(InputError) as exc:
        definitions_from_mapping(mapping, source="team.yaml")
    assert len(exc.value.problems) == 1, [str(p) for p in exc.value.problems]
    return str(exc.value.problems[0])


@pytest.mark.parametrize("mapping, key, words", [
    ({"metrics": {"x": {"kind": "mean", "value": {"event": "purchse", "agg": "count"}}}},
     "metrics.x.value.event", "unknown event type"),
    ({"metrics": {"x": {"kind": "mean", "value": {"agg": "sum", "expr": "prise * quantity"}}}},
     "metrics.x.value.expr", "unknown column 'prise'"),
    ({"metrics": {"x": {"kind": "ratio", "numerator": "revenue"}}}, "metrics.x.denominator", "needs a denominator"),
    ({"metrics": {"x": {"kind": "mean", "value": "revenue", "window": {"start": "7d", "end": "1d"}}}},
     "metrics.x.window.end", "ends before it starts"),
    ({"metrics": {"x": {"kind": "quantile", "quantile": 1.5, "value": {"event": "impression", "expr": "lcp_ms"}}}},
     "metrics.x.quantile", "strictly between 0 and 1"),
    ({"metrics": {"x": {"kind": "proportion", "value": "purchased", "cap": 1}}}, "metrics.x.cap", "cannot be capped"),
    ({"metrics": {"x": {"kind": "quantile", "quantile": 0.5, "value": "revenue"}}}, "metrics.x.value", "per event"),
    ({"metrics": {"cvr": {"kind": "proportion", "value": "purchased"}}}, "metrics.cvr", "used twice"),
    ({"metrics": {"x": {"kind": "mean", "value": "revenue", "cap": {"percentile": 99}}}}, "metrics.x.cap",
     "between 0 and 1"),
    ({"metrics": {"x": {"kind": "mean", "value": {"agg": "sum", "expr": "__import__('os')"}}}},
     "metrics.x.value.expr", "not allowed"),
])
def test_each_bad_definition_is_one_located_problem(mapping, key, words):
    text = _problem(mapping)
    assert text.startswith("team.yaml: ") and f"column {key}" in text and words in text, text


def test_a_name_written_twice_in_one_file_is_refused(tmp_path):
    path = tmp_path / "metrics.yaml"
    path.write_text("metrics:\n  a: {kind: mean, value: revenue}\n  a: {kind: mean, value: clicks}\n")
    with pytest.raises(InputError) as exc:
        load_definitions(path)
    assert str(path) in str(exc.value) and "'a' used twice" in str(exc.value)


def test_builtins_are_definitions_of_the_same_format():
    b = builtin_definitions()
    assert set(CATALOG) == set(b.metrics) and {"lcp_p90", "dwell_p50", "order_value_p95"} <= set(CATALOG)
    # the built-in file passes the same validation as a team's file, with the event log's columns checked
    from workbench.metric_defs.schema import parse_definitions
    from workbench.sources.events import EVENT_TYPES, OPTIONAL, REQUIRED
    from importlib import resources
    raw = yaml.safe_load((resources.files("workbench.metric_defs") / "catalogue.yaml").read_text())
    again = parse_definitions(raw, source="c", columns=set(REQUIRED) | set(OPTIONAL), events=EVENT_TYPES)
    assert again.metrics == b.metrics and again.values == b.values
    assert CATALOG["ctr"].numerator == "clicks" and CATALOG["ctr"].denominator == "impressions"
    assert CATALOG["lcp"].limit == 3.5 and not CATALOG["lcp"].higher_is_better


def test_cli_lists_and_shows_defined_metrics(tmp_path, capsys):
    path = tmp_path / "team.yaml"
    path.write_text("metrics:\n  revenue_capped:\n    kind: mean\n    value: revenue\n    cap: {percentile: 0.99}\n"
                    "    unit: currency\n")
    code, out, err = invoke(capsys, None, "metrics", "list", "--metrics", str(path), "--json")
    assert code == 0, err
    rows = {r["name"]: r for r in yaml.safe_load(out)}
    assert rows["revenue_capped"]["window / cap"] == "capped at the 99th percentile of the pooled arms"
    assert rows["revenue_capped"]["defined in"] == str(path) and rows["cvr"]["defined in"] == "the built-in catalogue"
    code, out, err = invoke(capsys, None, "metrics", "show", "lcp_p90", "--json")
    shown = yaml.safe_load(out)
    assert code == 0 and shown["quantile"] == 0.9 and shown["value"]["expr"] == "lcp_ms / 1000.0"


def test_cli_bad_file_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("metrics:\n  r: {kind: ratio, numerator: revenue}\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = invoke(capsys, None, "analyze", "--experiment", "e1", "--metrics", str(path))
    assert code == 2 and out == ""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(path) in lines[0] and "metrics.r.denominator" in lines[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_brief_defines_and_guards_with_its_own_metrics():
    from workbench.lifecycle.brief import ExperimentBrief
    b = ExperimentBrief.from_yaml("""
id: pdp-lcp-1
owner: kim
primary_metric: sku_buyers_7d
guardrails: ["lcp_p90 <= 3.5s"]
variants: [{id: control}, {id: lazy}]
min_sample_size: 1000
metrics:
  sku_buyers_7d:
    kind: proportion
    value: {event: purchase, where: product_id == experiment.product_id, agg: any}
    window: {start: 0d, end: 7d}
""", source="brief.yaml")
    assert b.guardrails[0].direction == "<=" and b.guardrails[0].limit == 3.5
    defs = b.metric_definitions(source="brief.yaml")
    assert "sku_buyers_7d" in defs.metrics and {"lcp_p90", "sku_buyers_7d"} <= defs.wanted
    assert "sku_buyers_7d" not in catalog()          # used only while the brief's experiment is analysed
    with pytest.raises(InputError) as exc:
        ExperimentBrief.from_yaml("id: x\nowner: k\nprimary_metric: nope\nvariants: [{id: a}, {id: b}]\n"
                                  "metrics: {nope: {kind: quantile, quantile: 0, value: {expr: lcp_ms}}}\n",
                                  source="brief.yaml")
    assert "brief.yaml (metrics:)" in str(exc.value) and "metrics.nope.quantile" in str(exc.value)
