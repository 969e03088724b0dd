"""Configuration: every threshold and default in one place.

Values can be overridden by a YAML file (``workbench.yaml`` in the working directory, or the file
named by ``WORKBENCH_CONFIG``) with the same nested keys, and the main paths by environment
variables (``WORKBENCH_HOME``, ``WORKBENCH_DB``, ``WORKBENCH_REPORTS``). Views never hard-code a
threshold: they read it from :func:`get_settings` or from the experiment's brief.

>>> s = Settings()
>>> s.srm.warning_p, s.srm.blocked_p, s.alpha
(0.001, 1e-05, 0.05)
>>> s.with_overrides({"srm": {"warning_p": 0.01}}).srm.warning_p
0.01
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, is_dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Problem

__all__ = ["Settings", "SRMSettings", "BotSettings", "GuardrailSettings", "BanditSettings", "HierarchicalSettings", "Paths",
           "get_settings", "project_root"]


@dataclass(frozen=True)
class SRMSettings:
    """Sample-ratio-mismatch thresholds (chi-square goodness-of-fit p-values)."""

    warning_p: float = 0.001
    blocked_p: float = 0.00001


@dataclass(frozen=True)
class BotSettings:
    """Rules that mark a unit as a bot; its events are excluded before aggregation."""

    headless_ua_pattern: str = r"(?i)(headless|phantomjs|selenium|puppeteer|playwright|bot|crawler|spider|curl|python-requests)"
    min_mean_dwell_ms: float = 1000.0     # mean dwell on detail pages below this is not human
    min_impressions_for_dwell: int = 3     # ...when judged over at least this many page views
    ip_burst_events_per_minute: int = 120  # events from one IP hash in one minute
    max_events_per_unit_hour: int = 300    # abnormal event rate for a single unit


@dataclass(frozen=True)
class GuardrailSettings:
    """Decision-layer guardrail rule: worsened = delta > 0 and (delta > worsened_abs or p < alpha)."""

    worsened_abs: float = 0.001   # 0.1 percentage points
    severe_abs: float = 0.003     # 0.3 percentage points


@dataclass(frozen=True)
class BanditSettings:
    """Allocation policies: every arm keeps ``min_exploration_share`` of traffic; weights move only
    once every arm has ``min_units_per_arm`` units. ``prob_best_draws`` Monte Carlo draws estimate
    Thompson's probability that each arm is best; ``decision_prob`` is the probability of being best
    that counts as a decision in simulations."""

    min_exploration_share: float = 0.05
    min_units_per_arm: int = 100
    prob_best_draws: int = 20000
    decision_prob: float = 0.95


@dataclass(frozen=True)
class HierarchicalSettings:
    """Hierarchical (SKUs within categories) model: sampler, parameterisation and diagnostic limits.

    Defaults were chosen by measurement (``benchmarks/hierarchical.py``): nutpie's NUTS on the
    model's compiled (disk-cached) log density, the "mixed" parameterisation (baseline rates
    centred, lifts non-centred), 4 chains on 2 cores. Results carry a warning when the largest
    r_hat exceeds ``max_rhat``, the smallest bulk ESS of a SKU lift is below ``min_ess_bulk`` or
    any transition diverged.
    """

    sampler: str = "nutpie"
    parameterisation: str = "mixed"
    chains: int = 4
    draws: int = 1500
    tune: int = 500
    cores: int = 2
    target_accept: float = 0.8
    max_rhat: float = 1.01
    min_ess_bulk: float = 400.0
    eb_draws: int = 1000


@dataclass(frozen=True)
class Paths:
    """Where things live. Relative paths are resolved against ``home``."""

    home: Path
    db: Path
    reports: Path
    data: Path

    @classmethod
    def default(cls) -> "Paths":
        home = Path(os.environ.get("WORKBENCH_HOME", project_root())).resolve()
        data = home / "data"
        db = Path(os.environ.get("WORKBENCH_DB", data / "workbench.duckdb"))
        reports = Path(os.environ.get("WORKBENCH_REPORTS", home / "reports"))
        return cls(home=home, db=db if db.is_absolute() else home / db,
                   reports=reports if reports.is_absolute() else home / reports, data=data)


@dataclass(frozen=True)
class Settings:
    """All defaults. Statistical conventions are documented where they are implemented."""

    alpha: float = 0.05
    power: float = 0.8
    ci_level: float = 0.95
    credible_level: float = 0.94
    small_sample_units: int = 100          # fewer units in an arm -> Warning
    small_count: int = 5                   # fewer successes/failures -> exact test
    srm: SRMSettings = field(default_factory=SRMSettings)
    bots: BotSettings = field(default_factory=BotSettings)
    guardrails: GuardrailSettings = field(default_factory=GuardrailSettings)
    bandit: BanditSettings = field(default_factory=BanditSettings)
    hierarchical: HierarchicalSettings = field(default_factory=HierarchicalSettings)
    seed: int = 20261121

    def with_overrides(self, overrides: dict[str, Any], *, source: str = "settings") -> "Settings":
        """Return a copy with nested ``overrides`` applied; unknown keys are an error."""
        return _merge(self, overrides, source, prefix="")


def _merge(obj: Any, overrides: dict[str, Any], source: str, prefix: str) -> Any:
    known = {f.name: f for f in fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in known:
            raise InputError([Problem("blocked", "unknown_setting",
                                      f"unknown setting {prefix + key!r}; known: {', '.join(sorted(known))}",
                                      file=source, column=f"{prefix}{key}")])
        current = getattr(obj, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise InputError([Problem("blocked", "bad_setting", f"{prefix}{key} must be a mapping",
                                          file=source, column=f"{prefix}{key}", value=value)])
            changes[key] = _merge(current, value, source, prefix=f"{prefix}{key}.")
        else:
            try:
                changes[key] = type(current)(value)
            except (TypeError, ValueError):
                raise InputError([Problem("blocked", "bad_setting",
                                          f"{prefix}{key} must be a {type(current).__name__}",
                                          file=source, column=f"{prefix}{key}", value=value)]) from None
    return replace(obj, **changes)


def project_root() -> Path:
    """The checkout the package runs from (or the working directory for a plain install)."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").exists() else Path.cwd()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings with the user's YAML overrides applied (cached; call ``get_settings.cache_clear()``)."""
    path = os.environ.get("WORKBENCH_CONFIG")
    candidate = Path(path) if path else Path.cwd() / "workbench.yaml"
    settings = Settings()
    if candidate.exists():
        try:
            loaded = yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise InputError([Problem("blocked", "bad_yaml", f"not valid YAML: {exc}", file=str(candidate))]) from None
        if not isinstance(loaded, dict):
            raise InputError([Problem("blocked", "bad_yaml", "expected a mapping at the top level", file=str(candidate))])
        settings = settings.with_overrides(loaded, source=str(candidate))
    elif path:
        raise InputError([Problem("blocked", "missing_file", "WORKBENCH_CONFIG names a file that does not exist",
                                  file=str(candidate))])
    return settings
