"""Variant policy checks: banned words, exaggerated claims, missing alt text, colour contrast (WCAG AA).

The lists live in the ``variant-policy`` YAML preset (English and Korean) and can be replaced by a
file of the same name in the user's policy directory. English words match as whole words and
Korean ones as substrings (Korean attaches particles to words); exaggerated claims are regular
expressions. Contrast is the WCAG 2.x contrast ratio of the relative luminances,
``(L_light + 0.05) / (L_dark + 0.05)``, with AA requiring 4.5:1 for normal text and 3:1 for large
text.

>>> round(contrast_ratio("#000", "#ffffff"), 2), round(contrast_ratio("#767676", "#fff"), 2)
(21.0, 4.54)
>>> from workbench.lifecycle.brief import Variant
>>> v = Variant(id="b", text="부작용 없음! 100% guaranteed results", images=[{"src": "hero.png"}],
...             colors=[{"foreground": "#999999", "background": "#ffffff"}])
>>> [p.code for p in check_variant(v)]
['banned_word', 'exaggerated_claim', 'missing_alt_text', 'low_contrast']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from ..display import ResultMixin, fmt_fixed
from ..errors import InputError, Problem
from ..yamlio import load_yaml
from .brief import ExperimentBrief, Variant

__all__ = ["VariantRules", "VariantCheckReport", "relative_luminance", "contrast_ratio", "parse_color",
           "load_variant_rules", "check_variant", "check_brief_variants"]

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RGB = re.compile(r"^rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)$", re.I)
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")


def parse_color(text: str) -> tuple[int, int, int]:
    """``#rgb``, ``#rrggbb`` or ``rgb(r, g, b)`` -> (r, g, b) in 0–255."""
    s = str(text).strip()
    m = _HEX.match(s)
    if m:
        h = m.group(1)
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    m = _RGB.match(s)
    if m and all(0 <= int(x) <= 255 for x in m.groups()):
        return int(m.group(1)), int(m.group(2)), int(m.group(3))
    raise ValueError(f"not a colour: {text!r} (use #rrggbb, #rgb or rgb(r, g, b))")


def relative_luminance(color: str) -> float:
    """WCAG relative luminance of an sRGB colour (0 for black, 1 for white)."""
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in parse_color(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio between two colours, from 1 (same) to 21 (black on white)."""
    a, b = relative_luminance(foreground), relative_luminance(background)
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


@dataclass(frozen=True)
class VariantRules:
    """Compiled lists and levels from the ``variant-policy`` YAML."""

    banned: tuple[tuple[str, re.Pattern[str]], ...]
    claims: tuple[tuple[str, re.Pattern[str]], ...]
    levels: dict[str, str]
    normal_text: float
    large_text: float
    source: str


def _word_pattern(word: str) -> re.Pattern[str]:
    escaped = re.escape(word.strip())
    if _HANGUL.search(word):
        return re.compile(escaped, re.I)
    return re.compile(rf"(?<![\w-]){escaped}(?![\w-])", re.I)


def load_variant_rules(name: str = "variant-policy") -> VariantRules:
    """Read the lists (user directory first, then the preset) and compile them."""
    from .policies import find_preset
    source, text = find_preset(name)
    return _compile(text, source)


@lru_cache(maxsize=8)
def _compile(text: str, source: str) -> VariantRules:
    try:
        data = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise InputError([Problem("blocked", "bad_yaml", f"not valid YAML: {exc}", file=source)]) from None
    if not isinstance(data, dict):
        raise InputError([Problem("blocked", "bad_rules", "the rules must be a YAML mapping", file=source)])
    problems: list[Problem] = []

    def mapping(key: str) -> dict[Any, Any]:
        value = data.get(key) or {}
        if isinstance(value, dict):
            return value
        problems.append(Problem("blocked", "bad_rules", "must be a mapping", file=source, column=key, value=str(value)))
        return {}

    def listed(key: str, lang: Any, value: Any) -> list[Any]:
        if value is None or isinstance(value, list):
            return value or []
        problems.append(Problem("blocked", "bad_rules", "must be a list", file=source, column=f"{key}.{lang}",
                                value=str(value)))
        return []

    banned, claims = [], []
    for lang, words in mapping("banned_words").items():
        for w in listed("banned_words", lang, words):
            banned.append((str(w), _word_pattern(str(w))))
    for lang, patterns in mapping("exaggerated_claims").items():
        for i, pat in enumerate(listed("exaggerated_claims", lang, patterns)):
            try:
                claims.append((str(pat), re.compile(str(pat), re.I)))
            except re.error as exc:
                problems.append(Problem("blocked", "bad_pattern", f"not a valid regular expression: {exc}",
                                        file=source, column=f"exaggerated_claims.{lang}[{i}]", value=str(pat)))
    levels = {"banned_words": "blocked", "exaggerated_claims": "blocked", "missing_alt_text": "warning",
              "low_contrast": "blocked", **mapping("levels")}
    for key, level in levels.items():
        if level not in ("blocked", "warning", "info"):
            problems.append(Problem("blocked", "bad_level", "level must be blocked, warning or info", file=source,
                                    column=f"levels.{key}", value=str(level)))
    contrast = mapping("contrast")
    ratios = {}
    for key, default in (("normal_text", 4.5), ("large_text", 3.0)):
        value = contrast.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 21:
            problems.append(Problem("blocked", "bad_rules", "a contrast ratio is a number from 1 to 21", file=source,
                                    column=f"contrast.{key}", value=str(value)))
            value = default
        ratios[key] = float(value)
    if problems:
        raise InputError(problems)
    return VariantRules(tuple(banned), tuple(claims), levels, ratios["normal_text"], ratios["large_text"], source)


def _texts(v: Variant) -> list[tuple[str, str]]:
    out = [("name", v.name), ("description", v.description), ("text", v.text)]
    out += [(f"meta.{k}", val) for k, val in v.meta.items()]
    out += [(f"images[{i}].alt", img.alt or "") for i, img in enumerate(v.images)]
    return [(where, t) for where, t in out if t]


def check_variant(variant: Variant, rules: VariantRules | None = None, *, prefix: str = "",
                  file: str | None = None) -> list[Problem]:
    """Every policy problem in one variant's copy, meta tags, images and colours."""
    rules = rules or load_variant_rules()
    lv = rules.levels
    out: list[Problem] = []
    for where, text in _texts(variant):
        for word, pat in rules.banned:
            m = pat.search(text)
            if m:
                out.append(Problem(lv["banned_words"], "banned_word", f"banned word {word!r} in variant {variant.id}",  # type: ignore[arg-type]
                                   file=file, column=f"{prefix}{where}", value=m.group(0)))
        spans: list[tuple[int, int]] = []
        for pattern, pat in rules.claims:
            m = pat.search(text)
            if m and not any(m.start() < e and s < m.end() for s, e in spans):   # one report per phrase
                spans.append((m.start(), m.end()))
                out.append(Problem(lv["exaggerated_claims"], "exaggerated_claim",  # type: ignore[arg-type]
                                   f"exaggerated claim in variant {variant.id} (rule {pattern!r})",
                                   file=file, column=f"{prefix}{where}", value=m.group(0)))
    for i, img in enumerate(variant.images):
        if not (img.alt or "").strip():
            out.append(Problem(lv["missing_alt_text"], "missing_alt_text",  # type: ignore[arg-type]
                               f"image in variant {variant.id} has no alt text (screen readers cannot describe it)",
                               file=file, column=f"{prefix}images[{i}].alt", value=img.src))
    for i, pair in enumerate(variant.colors):
        where = f"{prefix}colors[{i}]"
        try:
            ratio = contrast_ratio(pair.foreground, pair.background)
        except ValueError as exc:
            out.append(Problem("blocked", "bad_color", str(exc), file=file, column=where,
                               value=f"{pair.foreground} on {pair.background}"))
            continue
        need = rules.large_text if pair.large_text else rules.normal_text
        if ratio < need:
            what = "large text" if pair.large_text else "normal text"
            out.append(Problem(lv["low_contrast"], "low_contrast",  # type: ignore[arg-type]
                               f"contrast {fmt_fixed(ratio, 2)}:1 is below WCAG AA {need:g}:1 for {what} in variant "
                               f"{variant.id}{' (' + pair.where + ')' if pair.where else ''}",
                               file=file, column=where, value=f"{pair.foreground} on {pair.background}"))
    return out


@dataclass(frozen=True)
class VariantCheckReport(ResultMixin):
    """All variant problems of a brief and the overall status (blocked if any problem is blocked)."""

    experiment_id: str
    status: str
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return self.status != "blocked"

    def to_frame(self):  # type: ignore[override]
        import pandas as pd
        return pd.DataFrame([p.to_dict() for p in self.problems],
                            columns=["level", "code", "message", "file", "column", "row", "value"])


def check_brief_variants(brief: ExperimentBrief, rules: VariantRules | None = None, *,
                         file: str | None = None) -> VariantCheckReport:
    """Check every variant of a brief."""
    rules = rules or load_variant_rules()
    problems: list[Problem] = []
    for i, v in enumerate(brief.variants):
        problems += check_variant(v, rules, prefix=f"variants[{i}].", file=file)
    status = ("blocked" if any(p.level == "blocked" for p in problems) else
              "warning" if any(p.level == "warning" for p in problems) else "healthy")
    return VariantCheckReport(brief.id, status, tuple(problems))
