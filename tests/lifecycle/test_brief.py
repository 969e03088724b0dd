"""Experiment briefs: YAML in and out, validation naming file/field/value, safe ids, power-computed sample size."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from workbench.errors import InputError
from workbench.lifecycle.brief import ExperimentBrief, is_safe_id, load_brief, parse_brief, safe_id

from .builders import brief_dict, make_brief


def problems(exc: pytest.ExceptionInfo[InputError]) -> list[tuple[str | None, object, str]]:
    return [(p.column, p.value, p.message) for p in exc.value.problems]


def test_round_trip_yaml_is_lossless(tmp_path):
    b = make_brief(allocation={"mode": "fixed", "weights": [60, 40]}, srm={"warning_p": 0.01})
    assert b.allocation.weights == pytest.approx([0.6, 0.4])
    assert b.expected_split == pytest.approx([0.6, 0.4])
    path = b.save(tmp_path / "sub" / "brief.yaml")
    again = load_brief(path)
    assert again == b
    assert again.to_yaml() == b.to_yaml()


def test_guardrail_shorthand_and_catalog_defaults():
    b = make_brief(guardrails=["lcp <= 3.5s", "error_rate <= 0.5%", "return_rate", "lcp <= 800ms",
                               {"metric": "error_rate", "limit": "1%", "worsened_abs": 0.002}])
    g = b.guardrails
    assert (g[0].metric, g[0].direction, g[0].limit) == ("lcp", "<=", 3.5)
    assert g[1].limit == pytest.approx(0.005)
    assert (g[2].direction, g[2].limit) == ("<=", 0.08)          # from the metric catalog
    assert g[3].limit == pytest.approx(0.8)
    assert g[4].limit == pytest.approx(0.01) and g[4].worsened_abs == 0.002
    assert g[0].breached(3.6) and not g[0].breached(3.5)
    higher = parse_brief(brief_dict(guardrails=["ctr >= 0.02"])).guardrails[0]
    assert higher.breached(0.019) and not higher.breached(0.02)


def test_min_sample_size_comes_from_the_power_calculator():
    b = make_brief(min_sample_size=None, baseline_rate=0.05, mde=0.10)
    # independent reference: the unpooled normal-approximation formula with scipy's normal quantiles
    p1, p2 = 0.05, 0.055
    z = stats.norm.ppf(1 - 0.05 / 2) + stats.norm.ppf(0.8)
    expected = math.ceil(z ** 2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p2 - p1) ** 2)
    assert b.min_sample_size_source == "power"
    assert abs(b.min_sample_size - expected) <= 1
    absolute = make_brief(min_sample_size=None, baseline_rate=0.05, mde=0.005, mde_type="absolute")
    assert absolute.min_sample_size == b.min_sample_size
    given_n = make_brief(min_sample_size=1234)
    assert (given_n.min_sample_size, given_n.min_sample_size_source) == (1234, "given")


def test_every_problem_is_reported_with_field_and_value():
    bad = brief_dict(id="../etc", primary_metric="cvrr", owner="",
                     variants=[{"id": "control"}, {"id": "a/b"}], unknown_field=1)
    with pytest.raises(InputError) as exc:
        parse_brief(bad, source="briefs/x.yaml")
    found = problems(exc)
    cols = {c for c, _, _ in found}
    assert {"id", "primary_metric", "owner", "variants[1].id", "unknown_field"} <= cols
    by_col = {c: (v, m) for c, v, m in found}
    assert by_col["id"][0] == "../etc" and "experiment id" in by_col["id"][1]
    assert by_col["primary_metric"][0] == "cvrr" and "known:" in by_col["primary_metric"][1]
    assert all(p.file == "briefs/x.yaml" for p in exc.value.problems)
    assert "briefs/x.yaml" in str(exc.value)


@pytest.mark.parametrize("change, column, words", [
    ({"variants": [{"id": "control"}]}, "variants", "at least 2"),
    ({"variants": [{"id": "a"}, {"id": "a"}]}, "(brief)", "unique"),
    ({"allocation": {"weights": [0.5, 0.3]}}, "allocation.weights", "add up to 1"),
    ({"allocation": {"weights": [0.2, 0.3, 0.5]}}, "(brief)", "3 entries for 2 variants"),
    ({"expected_split": [1, 0]}, "(brief)", "positive"),
    ({"min_sample_size": None}, "(brief)", "power calculator"),
    ({"guardrails": ["lcp < 3"]}, "guardrails[0]", "metric <= limit"),
    ({"guardrails": ["lcp <= fast"]}, "guardrails[0].limit", "limit must be"),
    ({"secondary_metrics": ["cvr"]}, "(brief)", "also listed as secondary"),
    ({"max_duration_days": 0}, "max_duration_days", "greater than or equal to 1"),
    ({"srm": {"warning_p": 0.001, "blocked_p": 0.01}}, "srm", "must not exceed"),
    ({"policy": "../x"}, "policy", "policy name"),
])
def test_invalid_briefs(change, column, words):
    with pytest.raises(InputError) as exc:
        parse_brief(brief_dict(**change), source="b.yaml")
    assert any(p.column == column and words in p.message for p in exc.value.problems), problems(exc)


def test_yaml_syntax_error_names_the_line(tmp_path):
    f = tmp_path / "b.yaml"
    f.write_text("id: x\nowner: [unclosed\nname: y\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_brief(f)
    p = exc.value.problems[0]
    assert p.code == "bad_yaml" and p.file == str(f) and p.row is not None


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_brief(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="mapping"):
        ExperimentBrief.from_yaml("- a\n- b\n", source="list.yaml")


@pytest.mark.parametrize("bad", ["", ".", "..", "../x", "a/b", "a\\b", ".hidden", "a..b", "<script>", "a b",
                                 "x" * 81, "é", "-lead", "id\n", None, 5])
def test_unsafe_ids_are_refused(bad):
    assert not is_safe_id(bad)
    with pytest.raises(InputError):
        safe_id(bad)


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,40}", fullmatch=True))
@settings(max_examples=60, deadline=None)
def test_safe_ids_stay_inside_a_directory(ident):
    import pathlib
    assert is_safe_id(ident)
    base = pathlib.Path("/reports")
    assert (base / ident).resolve().parent == base.resolve()


@given(weights=st.lists(st.floats(min_value=0.01, max_value=10), min_size=2, max_size=4))
@settings(max_examples=40, deadline=None)
def test_weights_normalised_or_refused(weights):
    variants = [{"id": f"v{i}"} for i in range(len(weights))]
    total = sum(weights)
    ok = abs(total - 1) <= 1e-3 or abs(total - 100) <= 1e-1
    if ok:
        b = parse_brief(brief_dict(variants=variants, allocation={"weights": weights}))
        assert sum(b.allocation.weights) == pytest.approx(1.0)
    else:
        with pytest.raises(InputError):
            parse_brief(brief_dict(variants=variants, allocation={"weights": weights}))


def test_bandit_has_no_fixed_expected_split():
    b = make_brief(allocation={"mode": "bandit"})
    assert b.expected_split is None
    assert b.allocation.weights == [0.5, 0.5]


def test_three_arm_power_uses_the_comparisons():
    two = make_brief(min_sample_size=None, baseline_rate=0.1, mde=0.1)
    three = make_brief(min_sample_size=None, baseline_rate=0.1, mde=0.1,
                       variants=[{"id": "control"}, {"id": "b"}, {"id": "c"}])
    assert three.min_sample_size > two.min_sample_size   # alpha split over two comparisons


@pytest.mark.parametrize("change, column, words", [
    ({"variants": [{"id": f"v{i}"} for i in range(10_000)]}, "variants", "10,000 variants; an experiment has at most 50"),
    ({"name": "x" * 200_000}, "name", "200,000 characters; at most 200"),
    ({"hypothesis": "h" * 30_000}, "hypothesis", "30,000 characters; at most 20,000"),
    ({"variants": [{"id": "control", "name": "n" * 201}, {"id": "b"}]}, "variants[0].name", "at most 200"),
])
def test_briefs_beyond_the_documented_limits_are_refused(change, column, words):
    with pytest.raises(InputError) as err:
        parse_brief(brief_dict(**change), source="big.yaml")
    (p,) = err.value.problems
    assert p.column == column and words in p.message and p.file == "big.yaml"
    assert len(str(err.value)) < 300          # the 200 KB value is not echoed back


def test_the_limits_follow_the_settings(tmp_path, monkeypatch):
    from workbench.config import get_settings
    cfg = tmp_path / "workbench.yaml"
    cfg.write_text("limits: {max_variants: 2}\n")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(cfg))
    get_settings.cache_clear()
    try:
        with pytest.raises(InputError, match="at most 2"):
            parse_brief(brief_dict(variants=[{"id": "control"}, {"id": "b"}, {"id": "c"}]))
        cfg.write_text("limits: {max_count: 10000000000000000000}\n")
        get_settings.cache_clear()
        with pytest.raises(InputError, match="2\\^53"):
            get_settings()
    finally:
        get_settings.cache_clear()
