"""Variant policy checks: WCAG contrast against published values, banned words and claims (Korean, English), alt text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from workbench.errors import InputError
from workbench.lifecycle.brief import Variant
from workbench.lifecycle.variant_checks import (check_brief_variants, check_variant, contrast_ratio, load_variant_rules,
                                                parse_color, relative_luminance)

from .builders import make_brief


# Published values (WebAIM contrast checker / WCAG 2.x understanding documents).
@pytest.mark.parametrize("fg, bg, ratio", [
    ("#000000", "#FFFFFF", 21.0),
    ("#FFFFFF", "#FFFFFF", 1.0),
    ("#767676", "#FFFFFF", 4.54),   # the lightest grey that passes AA on white
    ("#777777", "#FFFFFF", 4.48),   # ... and the first that fails
    ("#FF0000", "#FFFFFF", 4.0),
    ("#0000FF", "#FFFFFF", 8.59),
    ("#00FF00", "#000000", 15.3),
    ("#595959", "#FFFFFF", 7.0),
])
def test_contrast_ratio_matches_published_values(fg, bg, ratio):
    assert contrast_ratio(fg, bg) == pytest.approx(ratio, abs=0.01)


def test_colour_formats_and_luminance_ends():
    assert parse_color("#abc") == parse_color("#aabbcc") == parse_color("rgb(170, 187, 204)")
    assert relative_luminance("#000") == 0.0 and relative_luminance("#fff") == pytest.approx(1.0)
    with pytest.raises(ValueError):
        parse_color("blue-ish")


_hex = st.from_regex(r"#[0-9a-f]{6}", fullmatch=True)


@given(_hex, _hex)
@settings(max_examples=80, deadline=None)
def test_contrast_is_symmetric_and_bounded(a, b):
    r = contrast_ratio(a, b)
    assert r == pytest.approx(contrast_ratio(b, a))
    assert 1.0 - 1e-12 <= r <= 21.0 + 1e-9
    assert contrast_ratio(a, a) == pytest.approx(1.0)


def codes(v: Variant) -> list[str]:
    return [p.code for p in check_variant(v)]


def test_banned_words_in_english_and_korean():
    en = check_variant(Variant(id="b", text="A miracle serum, risk-free!"))
    assert [p.value for p in en] == ["miracle", "risk-free"] and all(p.level == "blocked" for p in en)
    ko = check_variant(Variant(id="b", text="피부 트러블 완치! 부작용 없음"))
    assert sorted(p.value for p in ko) == ["부작용 없음", "완치"]
    assert ko[0].column == "text"


def test_english_words_match_whole_words_only():
    assert codes(Variant(id="b", text="Miracles of engineering")) == []     # not the banned word "miracle"
    assert codes(Variant(id="b", text="MIRACLE deal")) == ["banned_word"]   # case-insensitive


def test_exaggerated_claims():
    assert codes(Variant(id="b", text="100% guaranteed to fit")) == ["exaggerated_claim"]
    assert codes(Variant(id="b", text="The best in the world")) == ["exaggerated_claim"]
    assert codes(Variant(id="b", text="업계 최고 품질")) == ["exaggerated_claim"]
    assert codes(Variant(id="b", text="최고급 가죽")) == []                   # "premium" is not a superlative claim
    assert codes(Variant(id="b", text="세계 최초 기술, 100% 효과")) == ["exaggerated_claim", "exaggerated_claim"]


def test_meta_tags_and_names_are_checked_too():
    probs = check_variant(Variant(id="b", name="Miracle layout", meta={"key_benefit": "no side effects"}))
    assert sorted(p.column for p in probs) == ["meta.key_benefit", "name"]


def test_missing_alt_text_and_low_contrast():
    v = Variant(id="b", images=[{"src": "hero.jpg", "alt": "Runner in red shoes"}, {"src": "badge.png"},
                                {"src": "x.png", "alt": "   "}],
                colors=[{"foreground": "#777777", "background": "#ffffff", "where": "price"},
                        {"foreground": "#777777", "background": "#ffffff", "large_text": True},
                        {"foreground": "#767676", "background": "#ffffff"}])
    probs = check_variant(v)
    assert [(p.code, p.column) for p in probs] == [("missing_alt_text", "images[1].alt"),
                                                   ("missing_alt_text", "images[2].alt"),
                                                   ("low_contrast", "colors[0]")]
    assert probs[0].level == "warning" and probs[2].level == "blocked"
    assert "4.48:1 is below WCAG AA 4.5:1" in probs[2].message and "(price)" in probs[2].message
    bad_colour = check_variant(Variant(id="b", colors=[{"foreground": "red", "background": "#fff"}]))
    assert bad_colour[0].code == "bad_color"


def test_brief_report_status():
    clean = check_brief_variants(make_brief())
    assert (clean.status, clean.ok, clean.problems) == ("healthy", True, ())
    brief = make_brief(variants=[{"id": "control"}, {"id": "b", "text": "miracle", "images": [{"src": "a.png"}]}])
    rep = check_brief_variants(brief, file="brief.yaml")
    assert rep.status == "blocked" and not rep.ok
    assert {p.column for p in rep.problems} == {"variants[1].text", "variants[1].images[0].alt"}
    assert all(p.file == "brief.yaml" for p in rep.problems)
    assert len(rep.to_frame()) == 2


def test_user_lists_replace_the_preset(tmp_path, monkeypatch):
    (tmp_path / "variant-policy.yaml").write_text("""
name: variant-policy
kind: variant-policy
banned_words: {en: [cheap]}
exaggerated_claims: {en: ['\\bunbeatable\\b']}
levels: {banned_words: warning}
contrast: {normal_text: 7.0}
""", encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_POLICIES", str(tmp_path))
    rules = load_variant_rules()
    assert rules.source.endswith("variant-policy.yaml")
    probs = check_variant(Variant(id="b", text="cheap and unbeatable miracle",
                                  colors=[{"foreground": "#767676", "background": "#fff"}]), rules)
    assert [(p.code, p.level) for p in probs] == [("banned_word", "warning"), ("exaggerated_claim", "blocked"),
                                                  ("low_contrast", "blocked")]


def test_bad_user_lists_are_reported(tmp_path, monkeypatch):
    (tmp_path / "variant-policy.yaml").write_text("exaggerated_claims: {en: ['(unclosed']}\nlevels: {low_contrast: "
                                                  "loud}\n", encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_POLICIES", str(tmp_path))
    with pytest.raises(InputError) as exc:
        load_variant_rules()
    assert {p.column for p in exc.value.problems} == {"exaggerated_claims.en[0]", "levels.low_contrast"}
