"""Experiment brief (charter): what an experiment tests, how it is judged, and when it stops.

A brief is written before the experiment starts and is the contract the decision engine reads:
one primary metric, secondary metrics, guardrails with a direction and a limit, targeting, 2 or more
variants with meta tags (layout, CTA tone, palette, key benefit), the allocation (fixed weights or a
bandit), the expected split for the SRM check, the minimum detectable effect (MDE), the minimum
sample size per arm (computed by the power calculator when not given), the maximum duration, the
decision policy and the owner.

Briefs are YAML in and YAML out, validated with pydantic. Every problem is reported at once, naming
the file, the field (``variants[1].id``) and the value, as a :class:`~workbench.errors.InputError`.
Experiment and variant ids are safe to use as file names (letters, digits, ``.``, ``_``, ``-``; no
``..``, no slashes), because reports are written to ``reports/<experiment id>/``.

>>> b = ExperimentBrief.from_yaml('''
... id: pdp-cta-2026-01
... name: Bolder CTA on the product page
... owner: kim
... primary_metric: cvr
... guardrails: ["lcp <= 3.5s", "error_rate <= 0.5%"]
... variants:
...   - {id: control, meta: {layout: classic, cta_tone: neutral}}
...   - {id: bold, meta: {layout: classic, cta_tone: urgent}}
... min_sample_size: 4000
... ''')
>>> b.guardrails[1].metric, b.guardrails[1].direction, b.guardrails[1].limit
('error_rate', '<=', 0.005)
>>> b.allocation.weights, b.expected_split
([0.5, 0.5], [0.5, 0.5])
>>> safe_id("../etc/passwd")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
workbench.errors.InputError: value '../etc/passwd': not a valid experiment id: ...
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from ..errors import InputError, Problem
from ..ids import SAFE_ID_PATTERN, is_safe_id, safe_id
from ..metric_defs import catalog
from ..yamlio import load_yaml
from .brief_parts import (META_TAGS, Allocation, ColorPair, Guardrail, ImageSpec, Margin, SRMOverride, Targeting, Variant,
                          _check_id, _known_metric, _Model)

__all__ = ["ExperimentBrief", "Variant", "Guardrail", "Margin", "Allocation", "Targeting", "SRMOverride", "ImageSpec",
           "ColorPair", "safe_id", "is_safe_id", "load_brief", "parse_brief", "SAFE_ID_PATTERN", "META_TAGS"]

class ExperimentBrief(_Model):
    """The experiment charter (see the module docstring)."""

    id: str
    name: str = ""
    hypothesis: str = ""
    objective: str = ""
    owner: str = Field(min_length=1)
    primary_metric: str = "cvr"
    secondary_metrics: list[str] = Field(default_factory=list)
    guardrails: list[Guardrail] = Field(default_factory=list)
    targeting: Targeting = Field(default_factory=Targeting)
    variants: list[Variant] = Field(min_length=2)
    allocation: Allocation = Field(default_factory=Allocation)
    expected_split: list[float] | None = None
    baseline_rate: float | None = Field(default=None, gt=0, lt=1)
    mde: float | None = Field(default=None, gt=0)
    mde_type: Literal["relative", "absolute"] = "relative"
    min_sample_size: int | None = Field(default=None, gt=0)
    min_sample_size_source: Literal["given", "power"] = "given"
    max_duration_days: int = Field(default=28, ge=1, le=365)
    policy: str = "decision-layer"
    srm: SRMOverride = Field(default_factory=SRMOverride)
    origin: Literal["manual", "autopilot"] = "manual"
    kind: Literal["ab", "aa", "canary", "bandit", "multi"] = "ab"
    #: decide on the always-valid confidence sequence (safe to look every day), not the fixed-horizon test
    sequential: bool = False
    #: per-metric non-inferiority margins ("return_rate must not worsen by more than 0.5 pp": {return_rate: 0.5pp})
    non_inferiority: dict[str, Margin] = Field(default_factory=dict)
    metrics: dict[str, Any] | None = None     # the brief's own metric definitions (metric_defs format)

    def metric_definitions(self, *, source: str = "<brief>") -> Any:
        """The brief's own definitions (validated) asking also for every metric it names, for
        :func:`workbench.metric_defs.use` while its experiment is loaded and analysed."""
        from ..metric_defs import wanting
        names = [self.primary_metric, *self.secondary_metrics, *(g.metric for g in self.guardrails)]
        return wanting(names, brief_definitions(self.metrics, source) if self.metrics else None)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "experiment id")

    @field_validator("policy")
    @classmethod
    def _policy(cls, v: str) -> str:
        return _check_id(v, "policy name")

    @field_validator("primary_metric")
    @classmethod
    def _primary(cls, v: str) -> str:
        return _known_metric(v)

    @field_validator("secondary_metrics")
    @classmethod
    def _secondary(cls, v: list[str]) -> list[str]:
        for name in v:
            _known_metric(name)
        return v

    @field_validator("non_inferiority")
    @classmethod
    def _margins(cls, v: dict[str, Margin]) -> dict[str, Margin]:
        for name in v:
            _known_metric(name)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "ExperimentBrief":
        ids = [v.id for v in self.variants]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"variant ids must be unique; repeated: {', '.join(dupes)}")
        k = len(self.variants)
        weights = self.allocation.weights
        if weights is not None and len(weights) != k:
            raise ValueError(f"allocation.weights has {len(weights)} entries for {k} variants")
        if weights is None:
            object.__setattr__(self, "allocation", self.allocation.model_copy(update={"weights": [1.0 / k] * k}))
        split = self.expected_split
        if split is not None:
            if len(split) != k:
                raise ValueError(f"expected_split has {len(split)} entries for {k} variants")
            if any(not math.isfinite(w) or w <= 0 for w in split):
                raise ValueError("expected_split entries must be positive")
            object.__setattr__(self, "expected_split", [w / sum(split) for w in split])
        elif self.allocation.mode == "fixed":
            object.__setattr__(self, "expected_split", list(self.allocation.weights or []))
        if self.primary_metric in self.secondary_metrics:
            raise ValueError(f"the primary metric {self.primary_metric!r} is also listed as secondary")
        if self.mde_type == "absolute" and self.mde is not None and self.mde >= 1 and \
                catalog()[self.primary_metric].kind == "proportion":
            raise ValueError(f"an absolute MDE on a proportion must be below 1, got {self.mde:g}")
        if self.min_sample_size is None:
            if self.mde is None or self.baseline_rate is None:
                raise ValueError("give min_sample_size, or baseline_rate and mde so the power calculator "
                                 "can compute it")
            from .sizing import min_sample_size
            n = min_sample_size(self.baseline_rate, self.mde, mde_type=self.mde_type, arms=k)
            object.__setattr__(self, "min_sample_size", n)
            object.__setattr__(self, "min_sample_size_source", "power")
        return self

    # --- convenience ---------------------------------------------------------------------------
    @property
    def control(self) -> str:
        return self.variants[0].id

    @property
    def variant_ids(self) -> list[str]:
        return [v.id for v in self.variants]

    def variant(self, variant_id: str) -> Variant:
        for v in self.variants:
            if v.id == variant_id:
                return v
        raise KeyError(variant_id)

    def guardrail(self, metric: str) -> Guardrail | None:
        for g in self.guardrails:
            if g.metric == metric:
                return g
        return None

    @property
    def category(self) -> str | None:
        return self.targeting.categories[0] if self.targeting.categories else None

    @property
    def product_id(self) -> str | None:
        return self.targeting.product_ids[0] if self.targeting.product_ids else None

    # --- YAML ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=False)

    def to_yaml(self) -> str:
        """YAML text that :meth:`from_yaml` reads back to an equal brief."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<brief>") -> "ExperimentBrief":
        try:
            data = load_yaml(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            row = mark.line + 1 if mark is not None else None
            raise InputError([Problem("blocked", "bad_yaml", f"not valid YAML: {getattr(exc, 'problem', exc)}",
                                      file=source, row=row)]) from None
        return parse_brief(data, source=source)

    def save(self, path: str | Path) -> Path:
        """Write the brief as YAML atomically (temporary file, then rename)."""
        from ..files import write_text_atomic
        return write_text_atomic(Path(path), self.to_yaml())


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith("function-") or part in ("str", "dict[any,any]"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(brief)"


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 80:
        return value[:40] + f"… ({len(value):,} characters)"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _limit_problems(data: Any, source: str) -> list[Problem]:
    """Sizes beyond ``Settings.limits``: too many variants, names or texts too long (checked before
    the fields themselves, so a 10,000-variant brief is one clear problem, not 10,000)."""
    from ..config import get_settings
    lim = get_settings().limits
    out: list[Problem] = []
    variants = data.get("variants")
    if isinstance(variants, list) and len(variants) > lim.max_variants:
        out.append(Problem("blocked", "too_many_variants", f"{len(variants):,} variants; an experiment has at most "
                           f"{lim.max_variants} (Settings.limits.max_variants)", file=source, column="variants",
                           value=len(variants)))
        data = {k: v for k, v in data.items() if k != "variants"}

    def walk(x: Any, loc: tuple[Any, ...]) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, (*loc, k))
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, (*loc, i))
        elif isinstance(x, str):
            is_name = bool(loc) and loc[-1] == "name"
            limit, what = ((lim.max_name_chars, "max_name_chars") if is_name else (lim.max_text_chars, "max_text_chars"))
            if len(x) > limit:
                out.append(Problem("blocked", "text_too_long", f"{len(x):,} characters; at most {limit:,} "
                                   f"(Settings.limits.{what})", file=source, column=_loc(loc), value=_short(x)))
    walk(data, ())
    return out


def brief_definitions(raw: Any, source: str) -> Any:
    """A brief's ``metrics:``: a definitions mapping (``values:``/``metrics:``) or just its metrics."""
    from ..metric_defs import definitions_from_mapping
    if isinstance(raw, dict) and raw and not set(raw) <= {"values", "metrics"}:
        raw = {"metrics": raw}
    return definitions_from_mapping(raw, source=f"{source} (metrics:)")


def parse_brief(data: Any, *, source: str = "<brief>") -> ExperimentBrief:
    """Validate a mapping into a brief; every problem becomes one located :class:`Problem`.

    Sizes are limited by ``Settings.limits`` (variants per experiment, name and text lengths).
    """
    if not isinstance(data, dict):
        raise InputError([Problem("blocked", "bad_brief", "a brief must be a YAML mapping of fields",
                                  file=source, value=_short(data))])
    too_big = _limit_problems(data, source)
    if too_big:
        raise InputError(too_big)
    from ..metric_defs import use
    defs = brief_definitions(data["metrics"], source) if data.get("metrics") else None
    try:
        with use(defs):                     # the brief may name the metrics it defines
            return ExperimentBrief.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            msg = str(e.get("msg", "invalid"))
            for prefix in ("Value error, ", "Assertion failed, "):
                msg = msg.removeprefix(prefix)
            if e.get("type") == "extra_forbidden":
                msg = "unknown field (check the spelling)"
            elif e.get("type") == "missing":
                msg = "required field is missing"
            value = None if e.get("type") in ("missing",) else _short(e.get("input"))
            if isinstance(value, (dict, list)):
                value = _short(value)
            problems.append(Problem("blocked", "bad_brief", msg, file=source, column=_loc(tuple(e.get("loc", ()))),
                                    value=value))
        raise InputError(problems) from None


def load_brief(path: str | Path) -> ExperimentBrief:
    """Read and validate a brief YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem("blocked", "missing_file", "brief file does not exist", file=str(p))]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem("blocked", "unreadable_file", f"cannot read the brief: {exc}", file=str(p))]) from None
    return ExperimentBrief.from_yaml(text, source=str(p))
