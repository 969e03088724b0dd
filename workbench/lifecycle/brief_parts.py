"""The parts of an experiment brief (:mod:`workbench.lifecycle.brief`): guardrails and their limits
(``"lcp <= 3.5s"``), non-inferiority margins, variants with their meta tags, the allocation, targeting and
an SRM override. Each validates itself and names the field and the value it refuses.

>>> Guardrail.model_validate("error_rate <= 0.5%").limit
0.005
>>> Margin.model_validate("2%")
Margin(margin=0.02, relative=True)
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..ids import ID_RULE, is_safe_id
from ..metric_defs import catalog

META_TAGS = ("layout", "cta_tone", "palette", "key_benefit")
"""The meta tags every variant should carry; the learning store counts wins per tag value."""


def _check_id(value: str, what: str) -> str:
    if not is_safe_id(value):
        raise ValueError(f"not a valid {what}: {ID_RULE}")
    return value


def _known_metric(name: str) -> str:
    known = catalog()
    if name not in known:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(sorted(known))}")
    return name


_LIMIT = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(%|s|ms)?\s*$")


def _parse_limit(value: Any) -> float | None:
    """A number, or a string such as ``"0.5%"`` (-> 0.005), ``"3.5s"`` or ``"800ms"`` (-> 0.8)."""
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if value is None else float(value)
    if isinstance(value, str):
        m = _LIMIT.match(value)
        if m:
            x = float(m.group(1))
            return x / 100 if m.group(2) == "%" else x / 1000 if m.group(2) == "ms" else x
    raise ValueError(f"limit must be a number or a string like '0.5%' or '3.5s', got {value!r}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Guardrail(_Model):
    """A metric that must not get worse: the variant's value must stay ``direction`` ``limit``.

    ``worsened_abs`` / ``severe_abs`` override the policy's thresholds on the absolute change
    against control (for LCP in seconds, say, where 0.1 percentage point makes no sense).
    Shorthand in YAML: ``"lcp <= 3.5s"``, ``"error_rate <= 0.5%"``, or just ``"return_rate"``
    (direction and limit from the metric catalog).
    """

    metric: str
    direction: Literal["<=", ">="]
    limit: float | None = None
    worsened_abs: float | None = Field(default=None, ge=0)
    severe_abs: float | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            m = re.match(r"^\s*([A-Za-z0-9_]+)\s*(?:(<=|>=)\s*(.+?))?\s*$", data)
            if not m:
                raise ValueError(f"write a guardrail as 'metric <= limit' or 'metric >= limit', got {data!r}")
            data = {"metric": m.group(1)}
            if m.group(2):
                data.update(direction=m.group(2), limit=m.group(3))
        if isinstance(data, dict):
            data = dict(data)
            known = catalog().get(str(data.get("metric", "")))
            if known is not None:
                data.setdefault("direction", ">=" if known.higher_is_better else "<=")
                if "limit" not in data:
                    data["limit"] = known.limit
        return data

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        return _known_metric(v)

    @field_validator("limit", mode="before")
    @classmethod
    def _limit(cls, v: Any) -> float | None:
        return _parse_limit(v)

    @property
    def higher_is_better(self) -> bool:
        return self.direction == ">="

    def breached(self, value: float | None) -> bool:
        """True when ``value`` is on the wrong side of the limit (no limit: never)."""
        if self.limit is None or value is None or not math.isfinite(value):
            return False
        return value > self.limit if self.direction == "<=" else value < self.limit

    def describe(self) -> str:
        return self.metric if self.limit is None else f"{self.metric} {self.direction} {self.limit:g}"


_MARGIN = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(pp|%)?\s*$")


class Margin(_Model):
    """A non-inferiority margin: how much worse the metric may get before the variant counts as worse.

    ``margin`` is in the metric's own units (0.005 = half a percentage point of a rate, 0.2 = 0.2 s),
    or a share of the control's value when ``relative`` (0.02 = 2 %). YAML shorthand: a number
    (absolute), ``"0.5pp"`` (absolute, percentage points) or ``"2%"`` (relative).
    """

    margin: float = Field(gt=0)
    relative: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, bool):
            raise ValueError("a margin is a number, '0.5pp', '2%' or {margin: ..., relative: ...}")
        if isinstance(data, (int, float)):
            return {"margin": float(data)}
        if isinstance(data, str):
            m = _MARGIN.match(data)
            if not m:
                raise ValueError(f"write a margin as a number, '0.5pp' (absolute) or '2%' (relative), got {data!r}")
            x = float(m.group(1))
            return {"margin": x / 100, "relative": m.group(2) == "%"}
        return data


class ImageSpec(_Model):
    src: str
    alt: str | None = None


class ColorPair(_Model):
    """A text colour on a background colour, checked against WCAG AA by the variant checks."""

    foreground: str
    background: str
    large_text: bool = False
    where: str = ""


class Variant(_Model):
    """One arm. The first variant of a brief is the control."""

    id: str
    name: str = ""
    description: str = ""
    meta: dict[str, str] = Field(default_factory=dict)
    text: str = ""
    images: list[ImageSpec] = Field(default_factory=list)
    colors: list[ColorPair] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "variant id")

    @field_validator("meta", mode="before")
    @classmethod
    def _meta(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): "" if x is None else str(x) for k, x in v.items()}
        return v


class Allocation(_Model):
    """Fixed weights (one per variant, in order; default equal) or a bandit that moves them."""

    mode: Literal["fixed", "bandit"] = "fixed"
    weights: list[float] | None = None

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: list[float] | None) -> list[float] | None:
        if v is None:
            return v
        if any(not math.isfinite(w) or w <= 0 for w in v):
            raise ValueError("every weight must be a positive number")
        total = sum(v)
        if abs(total - 1) > 1e-3 and abs(total - 100) > 1e-1:   # rounding such as 3 x 0.333333 is fine
            raise ValueError(f"weights must add up to 1 (or 100 %), they add up to {total:g}")
        return [w / total for w in v]


class Targeting(_Model):
    categories: list[str] = Field(default_factory=list)
    product_ids: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    devices: list[str] = Field(default_factory=list)
    exclusions: list[str] = Field(default_factory=list)


class SRMOverride(_Model):
    """Per-experiment SRM thresholds (the product-page preset uses warning_p 0.01)."""

    warning_p: float | None = Field(default=None, gt=0, lt=1)
    blocked_p: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _order(self) -> "SRMOverride":
        if self.warning_p is not None and self.blocked_p is not None and self.blocked_p > self.warning_p:
            raise ValueError(f"blocked_p ({self.blocked_p:g}) must not exceed warning_p ({self.warning_p:g})")
        return self
