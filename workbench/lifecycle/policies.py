"""Decision policies as data, evaluated by one engine that returns an action and every reason.

A policy is a YAML file: an ordered list of **rules**, each a set of conditions on named **facts**
and the action to take when they all hold, plus a **default** for when none does. The engine
(:func:`evaluate`) turns an :class:`~workbench.results.AnalysisResult`, the experiment's brief and
what is known about its surroundings (:class:`DecisionContext`: how long it has run, stock and
price moves, the promotion-period switch) into facts (:func:`compute_facts`), checks every rule,
and returns a :class:`Decision`: the action of the first rule that holds, its one-line reason, the
reasons of every other rule that also holds, and the facts themselves, so the decision can be
explained and recorded.

Rule syntax::

    - id: significant-launch
      when: {primary_significant: true, guardrails_worsened: 0}      # fact: value means "equals"
      action: launch                                                    # launch|promote|hold|rollback|keep_testing|stop
      reason: "Launch {best_variant}: {primary} {primary_lift_rel:+pct} (p = {primary_p:p})"
    - id: enough-evidence
      when: {prob_beat_control: {ge: $prob_threshold}}                  # ops: eq ne lt le gt ge in; $name = a param
    - include: trust-checks                                             # splice another rule set here

Reasons are ``str.format`` templates over the facts and params, with extra format specs ``p``
(p-value), ``pct``/``+pct`` (percent, signed) and ``n`` (a count). A fact that is unknown
(``None``) makes every comparison on it false. Presets live in ``workbench/presets``; a YAML file
of the same name in the user's policy directory (``lifecycle.policy_dir`` under ``WORKBENCH_HOME``,
or ``WORKBENCH_POLICIES``) replaces a preset, and new names add policies.

>>> policy = get_policy("decision-layer")
>>> [r.id for r in policy.rules][:3]
['health-blocked', 'srm-warning', 'no-primary']
>>> sorted(list_policies())[:3]
['bayesian-promotion', 'decision-layer', 'model-promotion']
"""

from __future__ import annotations

import datetime as dt
import math
import os
import string
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..asof import days_between
from ..config import Paths, get_settings
from ..display import ResultMixin, fmt_ci, fmt_num, fmt_p, fmt_p_eq, fmt_pct, p_in_text
from ..errors import InputError, NotFoundError, Problem
from ..health import blocked_reason
from ..metrics import fmt_metric_delta, fmt_metric_value, metric_unit
from ..results import AnalysisResult, MetricResult
from .brief import ExperimentBrief, is_safe_id
from .reasons import CLAIMS, covered_findings, false_claims, finding_key

__all__ = ["DecisionAction", "ACTIONS", "ACTION_TONE", "Condition", "Rule", "DecisionPolicy", "DecisionContext", "Decision",
           "RuleCheck", "get_policy", "list_policies", "load_policy", "evaluate", "decide", "compute_facts",
           "policy_dirs", "find_preset", "FACTS", "CLAIMS", "false_claims"]

DecisionAction = Literal["launch", "promote", "hold", "rollback", "keep_testing", "stop"]
ACTIONS: tuple[str, ...] = ("launch", "promote", "hold", "rollback", "keep_testing", "stop")
#: how each action reads at a glance (the CSS class of memo and report banners)
ACTION_TONE: dict[str, str] = {"launch": "go", "promote": "go", "rollback": "stop", "hold": "hold", "stop": "hold",
                               "keep_testing": "wait"}
_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in")

FACTS: dict[str, str] = {
    "experiment_id": "the experiment",
    "control": "the control variant",
    "health": "health badge: healthy, warning or blocked",
    "health_reasons": "the health check's reasons, joined",
    "srm_p": "SRM chi-square p-value",
    "srm_warning_p": "SRM warning threshold in force (brief, policy, or settings)",
    "srm_warning": "true when SRM p < the warning threshold or the health check flagged SRM",
    "primary_present": "the result has a primary metric",
    "primary": "primary metric name",
    "best_variant": "the variant with the best primary result (lift in the metric's good direction)",
    "primary_p": "adjusted p-value of the best variant on the primary metric",
    "primary_p_raw": "unadjusted p-value of the best variant",
    "primary_significant": "adjusted p < alpha and the lift is in the good direction",
    "primary_harmful": "adjusted p < alpha and the lift is in the bad direction",
    "primary_lift_abs": "best variant - control on the primary metric",
    "primary_lift_rel": "best variant / control - 1",
    "primary_gain_rel": "relative lift signed so that positive is better",
    "primary_ci_rel": "confidence interval of the relative lift (text)",
    "primary_ci_abs": "confidence interval of the absolute lift (text)",
    "control_value": "control's primary value",
    "variant_value": "best variant's primary value",
    "prob_beat_control": "Bayesian chance the best variant beats control",
    "expected_loss": "Bayesian expected loss of choosing the best variant",
    "best_supported": "the arm the evidence favours (best variant if P(beat) >= 0.5, else control)",
    "best_supported_prob": "the evidence for best_supported (P(beat) or 1 - P(beat))",
    "guardrails_worsened": "guardrail comparisons that worsened: delta > 0 and (delta > threshold or p < alpha); the "
                           "threshold is worsened_abs (percentage points) for rates, worsened_rel x control for "
                           "other units, or the brief's per-guardrail worsened_abs",
    "guardrails_severe": "guardrail comparisons whose worsening exceeds severe_abs (rates) / severe_rel x control",
    "guardrails_breached": "guardrail comparisons whose variant value crosses the guardrail's limit",
    "worsened_list": "which guardrails worsened, by how much",
    "severe_list": "which guardrails worsened severely",
    "breached_list": "which limits were crossed",
    "variant_error_rate": "highest error rate among the variants (metric named by param error_metric)",
    "units_total": "units in all arms",
    "units_min_arm": "units in the smallest arm",
    "min_sample_size": "minimum units per arm from the brief",
    "min_sample_reached": "every arm has at least min_sample_size units (true when the brief sets none)",
    "units_needed": "more units (all arms) the power calculator asks for",
    "units_needed_basis": "what units_needed is computed for",
    "days_running": "days from the start to the data's as-of (or --as-of; to the end when it ended earlier)",
    "max_duration_days": "maximum duration from the brief",
    "max_duration_reached": "days_running >= max_duration_days",
    "stock_drop": "relative fall in stock since the start (0.6 = 60 % less)",
    "price_change": "largest relative price move since the start",
    "promotion_period": "the global promotion-period switch is on",
    "automatic": "the experiment was created by the autopilot",
    "data_version": "the analysed data's version",
    "aa": "an A/A experiment (both arms the same by design): decided on the pipeline's health, never launched",
    "aa_healthy": "A/A only: split as planned, false positives compatible with alpha, daily p-values uniform",
    "health_blocked_by": "what blocks the health check, in a few words (e.g. a sample ratio mismatch)",
    "health_findings": "short keys of the health check's warnings and blocks (srm, sticky, bots...), joined",
}
"""Every fact a rule may test, with what it means (shown by ``workbench policies show``)."""


# --- policy model ---------------------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Model):
    """``fact <op> value``; ``value`` may be ``$param``."""

    fact: str
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in"] = "eq"
    value: Any = None

    @field_validator("fact")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in FACTS:
            raise ValueError(f"unknown fact {v!r}; known: {', '.join(sorted(FACTS))}")
        return v

    def holds(self, facts: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
        target = self.value
        if isinstance(target, str) and target.startswith("$"):
            target = params[target[1:]]
        actual = facts.get(self.fact)
        if actual is None or target is None or isinstance(actual, float) and math.isnan(actual):
            return False
        try:
            if self.op == "eq":
                return bool(actual == target)
            if self.op == "ne":
                return bool(actual != target)
            if self.op == "in":
                return actual in target
            return bool({"lt": actual < target, "le": actual <= target, "gt": actual > target,
                         "ge": actual >= target}[self.op])
        except TypeError:
            return False

    def describe(self) -> str:
        sym = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "in": "in"}[self.op]
        return f"{self.fact} {sym} {self.value}"


class Rule(_Model):
    """Conditions (all must hold), the action, the reason template and which arm wins."""

    id: str
    when: list[Condition] = Field(default_factory=list)
    action: DecisionAction
    reason: str
    winner: Literal["best", "best_supported", "none"] | None = None
    #: the finding the reason is about (a stable key, e.g. "srm"); a lower rule about a finding that an
    #: earlier reason already states is not repeated. A reason that quotes {health_reasons} covers every
    #: finding of the health check.
    finding: str | None = None

    @property
    def winner_kind(self) -> str:
        if self.winner is not None:
            return self.winner
        return {"launch": "best", "promote": "best", "stop": "best_supported"}.get(self.action, "none")


class DecisionPolicy(_Model):
    """A named, ordered list of rules with parameters and a default."""

    name: str
    description: str = ""
    kind: Literal["policy", "ruleset"] = "policy"
    params: dict[str, Any] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    default: Rule | None = None
    source: str = ""

    def with_params(self, **params: Any) -> "DecisionPolicy":
        return self.model_copy(update={"params": {**self.params, **params}})


def _parse_when(when: Any, where: str) -> list[dict[str, Any]]:
    if when is None:
        return []
    if isinstance(when, list):
        return when
    if not isinstance(when, dict):
        raise ValueError(f"{where}.when must be a mapping of fact: value or fact: {{op: value}}")
    out = []
    for fact, spec in when.items():
        if isinstance(spec, dict):
            if len(spec) != 1 or next(iter(spec)) not in _OPS:
                raise ValueError(f"{where}.when.{fact} must be one of {', '.join(_OPS)} with a value, got {spec!r}")
            op, value = next(iter(spec.items()))
            out.append({"fact": fact, "op": op, "value": value})
        else:
            out.append({"fact": fact, "op": "eq", "value": spec})
    return out


# --- loading --------------------------------------------------------------------------------------
def policy_dirs() -> list[Path]:
    """Where user policies are looked for (first wins), before the presets."""
    env = os.environ.get("WORKBENCH_POLICIES")
    dirs = [Path(p) for p in env.split(os.pathsep) if p] if env else []
    user = Path(get_settings().lifecycle.policy_dir)
    dirs.append(user if user.is_absolute() else Paths.default().home / user)
    return dirs


def _preset_files() -> dict[str, Any]:
    root = resources.files("workbench") / "presets"
    return {p.name[:-5]: p for p in root.iterdir() if p.name.endswith(".yaml")}


def find_preset(name: str) -> tuple[str, str]:
    """(source label, YAML text) of the policy, rule set or other YAML preset called ``name``."""
    if not is_safe_id(name):
        raise InputError([Problem("blocked", "bad_policy", "not a valid policy name", column="policy", value=name)])
    for d in policy_dirs():
        f = d / f"{name}.yaml"
        if f.is_file():
            return str(f), f.read_text(encoding="utf-8")
    presets = _preset_files()
    if name in presets:
        return f"preset:{name}", presets[name].read_text(encoding="utf-8")
    raise NotFoundError(f"no decision policy called {name!r}; known: {', '.join(sorted(list_policies()))}")


def list_policies(*, include_rulesets: bool = False) -> dict[str, str]:
    """Policy names and where they come from (user directory entries override presets)."""
    found: dict[str, str] = {}
    for name in _preset_files():
        found[name] = f"preset:{name}"
    for d in reversed(policy_dirs()):
        if d.is_dir():
            for f in sorted(d.glob("*.yaml")):
                if is_safe_id(f.stem):
                    found[f.stem] = str(f)
    if include_rulesets:
        return found
    out = {}
    for name, src in found.items():
        try:
            kind = (yaml.safe_load(find_preset(name)[1]) or {}).get("kind", "policy")
        except (yaml.YAMLError, AttributeError, InputError, NotFoundError):
            kind = "policy"
        if kind == "policy":
            out[name] = src
    return out


def load_policy(text: str, *, source: str = "<policy>", _stack: tuple[str, ...] = ()) -> DecisionPolicy:
    """Parse policy YAML (resolving ``include`` entries); problems name the file and field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError([Problem("blocked", "bad_yaml", f"not valid YAML: {exc}", file=source)]) from None
    if not isinstance(data, dict):
        raise InputError([Problem("blocked", "bad_policy", "a policy must be a YAML mapping", file=source)])
    params: dict[str, Any] = {}
    rules: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for i, raw in enumerate(data.get("rules") or []):
        where = f"rules[{i}]"
        if isinstance(raw, dict) and set(raw) == {"include"}:
            inc = str(raw["include"])
            if inc in _stack:
                problems.append(Problem("blocked", "bad_policy", f"include cycle: {' -> '.join(_stack + (inc,))}",
                                        file=source, column=where, value=inc))
                continue
            try:
                src, inc_text = find_preset(inc)
                included = load_policy(inc_text, source=src, _stack=_stack + (inc,))
            except (InputError, NotFoundError) as exc:
                problems.append(Problem("blocked", "bad_policy", f"cannot include: {exc}", file=source, column=where,
                                        value=inc))
                continue
            params = {**included.params, **params}
            rules.extend(r.model_dump() for r in included.rules)
            continue
        if not isinstance(raw, dict):
            problems.append(Problem("blocked", "bad_policy", "a rule must be a mapping", file=source, column=where))
            continue
        try:
            rules.append({**raw, "when": _parse_when(raw.get("when"), where)})
        except ValueError as exc:
            problems.append(Problem("blocked", "bad_policy", str(exc), file=source, column=where))
    default = data.get("default")
    if isinstance(default, dict):
        try:
            default = {"id": "default", **default, "when": _parse_when(default.get("when"), "default")}
        except ValueError as exc:
            problems.append(Problem("blocked", "bad_policy", str(exc), file=source, column="default"))
    own_params = data.get("params") or {}
    if not isinstance(own_params, dict):
        problems.append(Problem("blocked", "bad_policy", "params must be a mapping", file=source, column="params"))
        own_params = {}
    if problems:
        raise InputError(problems)
    body = {k: v for k, v in data.items() if k not in ("rules", "default", "params")}
    try:
        policy = DecisionPolicy.model_validate({**body, "params": {**params, **own_params}, "rules": rules,
                                                "default": default, "source": source})
    except ValidationError as exc:
        raise InputError([Problem("blocked", "bad_policy", str(e["msg"]).removeprefix("Value error, "), file=source,
                                  column=".".join(str(x) for x in e["loc"]), value=_short(e.get("input")))
                          for e in exc.errors()]) from None
    _check_params(policy)
    return policy


def _short(v: Any) -> Any:
    return v if isinstance(v, (str, int, float, bool)) or v is None else repr(v)[:80]


def _check_params(policy: DecisionPolicy) -> None:
    problems = []
    for i, rule in enumerate(policy.rules + ([policy.default] if policy.default else [])):
        for c in rule.when:
            if isinstance(c.value, str) and c.value.startswith("$") and c.value[1:] not in policy.params:
                problems.append(Problem("blocked", "bad_policy", f"rule {rule.id!r} uses {c.value} but params has no "
                                        f"{c.value[1:]!r}", file=policy.source, column=f"rules[{i}].when",
                                        value=c.value))
    ids = [r.id for r in policy.rules]
    for dup in sorted({x for x in ids if ids.count(x) > 1}):
        problems.append(Problem("blocked", "bad_policy", "rule ids must be unique", file=policy.source,
                                column="rules", value=dup))
    if policy.kind == "policy" and policy.default is None:
        problems.append(Problem("blocked", "bad_policy", "a policy needs a default rule (what to do when no rule "
                                "holds)", file=policy.source, column="default"))
    if problems:
        raise InputError(problems)


def get_policy(name: str) -> DecisionPolicy:
    """The policy called ``name`` (user directory first, then presets)."""
    source, text = find_preset(name)
    policy = load_policy(text, source=source, _stack=(name,))
    if policy.kind != "policy":
        raise InputError([Problem("blocked", "bad_policy", f"{name!r} is a rule set to include, not a policy",
                                  file=source, value=name)])
    return policy


# --- facts ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecisionContext(ResultMixin):
    """What the engine knows beyond the analysis: timing, market signals and switches."""

    now: dt.datetime | None = None            # the evaluation time (workbench.asof.evaluation_time), not the wall clock
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    stock_drop: float | None = None
    price_change: float | None = None
    promotion_period: bool = False
    automatic: bool | None = None



def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def compute_facts(result: AnalysisResult, *, brief: ExperimentBrief | None = None,
                  context: DecisionContext | None = None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every fact of :data:`FACTS` for one analysis (unknown ones are ``None``)."""
    settings = get_settings()
    params = dict(params or {})
    ctx = context or DecisionContext()
    alpha = float(params.get("alpha", result.alpha or settings.alpha))
    f: dict[str, Any] = {k: None for k in FACTS}
    f.update(experiment_id=result.experiment_id, control=result.control, data_version=result.data_version or None)

    # health and SRM
    health = result.health
    f["health"] = health.status
    f["health_reasons"] = "; ".join(health.reasons) or "no issues"
    f["health_findings"] = ",".join(dict.fromkeys(finding_key(p.code) for p in health.issues if p.level != "info"))
    f["health_blocked_by"] = (blocked_reason(health) or "").removeprefix("the health check is blocked by ") or None
    f["aa"] = result.aa is not None
    f["aa_healthy"] = bool(result.aa.healthy) if result.aa is not None else None
    warn_p = (brief.srm.warning_p if brief and brief.srm.warning_p is not None else
              params.get("srm_warning_p", settings.srm.warning_p))
    f["srm_warning_p"] = float(warn_p)
    srm = health.srm
    flagged = any(p.code.startswith("srm") and p.level != "info" for p in health.issues)
    if srm is not None:
        f["srm_p"] = _num(srm.p_value)
        f["srm_warning"] = bool(srm.status != "healthy" or (f["srm_p"] is not None and f["srm_p"] < warn_p) or flagged)
    else:
        f["srm_warning"] = flagged

    # primary metric
    m = result.primary
    f["primary_present"] = m is not None
    if m is not None:
        f["primary"] = m.name
        best = m.best()
        if best is not None:
            gain = m.gain(best)
            sig = bool(best.p_value_adjusted < alpha)
            f.update(best_variant=best.variant, primary_p=_num(best.p_value_adjusted), primary_p_raw=_num(best.p_value),
                     primary_significant=sig and gain > 0, primary_harmful=sig and gain < 0,
                     primary_lift_abs=_num(best.lift_abs), primary_lift_rel=_num(best.lift_rel),
                     primary_gain_rel=_num(best.lift_rel if m.higher_is_better else -best.lift_rel),
                     primary_ci_rel=fmt_ci(*best.lift_rel_ci, pct=True), primary_ci_abs=fmt_ci(*best.lift_abs_ci),
                     control_value=_num(best.control_value), variant_value=_num(best.variant_value),
                     prob_beat_control=_num(best.prob_beat_control), expected_loss=_num(best.expected_loss))
            pb = f["prob_beat_control"]
            if pb is not None:
                f["best_supported"], f["best_supported_prob"] = ((best.variant, pb) if pb >= 0.5
                                                                 else (result.control, 1 - pb))
            elif f["primary_significant"]:
                f["best_supported"], f["best_supported_prob"] = best.variant, None
            else:
                f["best_supported"] = result.control

    # guardrails
    worsened, severe, breached = [], [], []
    default_w = float(params.get("worsened_abs", settings.guardrails.worsened_abs))
    default_s = float(params.get("severe_abs", settings.guardrails.severe_abs))
    rel_w = float(params.get("worsened_rel", 0.05))
    rel_s = float(params.get("severe_rel", 0.15))
    f.update(guardrail_worsened_abs=default_w, guardrail_severe_abs=default_s, guardrail_worsened_rel=rel_w,
             guardrail_severe_rel=rel_s)      # the thresholds used, so every view states the same ones
    for g in result.guardrails():
        spec = brief.guardrail(g.name) if brief else None
        higher_better = spec.higher_is_better if spec else g.higher_is_better
        limit = spec.limit if spec and spec.limit is not None else g.limit
        is_rate = _unit(g) == "rate"
        for c in g.comparisons:
            # rates: absolute thresholds in percentage points; other units (seconds, currency):
            # thresholds relative to the control's level, unless the brief sets absolute ones
            scale = 1.0 if is_rate else abs(c.control_value) if math.isfinite(c.control_value) else 0.0
            w_abs = spec.worsened_abs if spec and spec.worsened_abs is not None else \
                (default_w if is_rate else rel_w * scale)
            s_abs = spec.severe_abs if spec and spec.severe_abs is not None else \
                (default_s if is_rate else rel_s * scale)
            delta = -c.lift_abs if higher_better else c.lift_abs   # > 0 means worse
            if not math.isfinite(delta):
                continue
            label = f"{g.name} ({c.variant}) {_fmt_delta(g, delta)}"
            if delta > 0 and (delta > w_abs or c.p_value_adjusted < alpha):
                worsened.append(label + (f", {fmt_p_eq(c.p_value_adjusted, 'adjusted p')}"
                                         if math.isfinite(c.p_value_adjusted) else ""))
                if delta > s_abs:
                    severe.append(label)
            if limit is not None and math.isfinite(c.variant_value):
                over = c.variant_value > limit if not higher_better else c.variant_value < limit
                if over:
                    breached.append(f"{g.name} ({c.variant}) {_fmt_value(g, c.variant_value)} "
                                    f"{'>' if not higher_better else '<'} limit {_fmt_value(g, limit)}")
    f.update(guardrails_worsened=len(worsened), guardrails_severe=len(severe), guardrails_breached=len(breached),
             worsened_list="; ".join(worsened) or "none", severe_list="; ".join(severe) or "none",
             breached_list="; ".join(breached) or "none")
    err_name = str(params.get("error_metric", "error_rate"))
    for mm in result.metrics:
        if mm.name == err_name and mm.comparisons:
            f["variant_error_rate"] = max(_num(c.variant_value) or 0.0 for c in mm.comparisons)

    # sample size
    units = [float(u) for u in result.units] if result.units else []
    if not units and m is not None and m.comparisons and m.comparisons[0].n_control is not None:
        units = [float(m.comparisons[0].n_control)] + [float(c.n_variant or 0) for c in m.comparisons]
    if units:
        f["units_total"] = sum(units)
        f["units_min_arm"] = min(units)
    f["min_sample_size"] = brief.min_sample_size if brief else None
    f["min_sample_reached"] = (True if f["min_sample_size"] is None else
                               bool(units) and min(units) >= f["min_sample_size"])
    if m is not None and f["best_variant"] is not None and len(units) >= 2:
        best = next(c for c in m.comparisons if c.variant == f["best_variant"])
        idx = list(result.variants).index(best.variant) if best.variant in result.variants else 1
        from .sizing import units_needed
        need = units_needed(control_value=best.control_value, lift_abs_ci=best.lift_abs_ci, n_by_arm=units,
                            compare=(0, idx), kind=m.kind, mde=brief.mde if brief else None,
                            mde_type=brief.mde_type if brief else "relative", observed_lift_abs=best.lift_abs,
                            split=brief.expected_split if brief and brief.expected_split and
                            len(brief.expected_split) == len(units) else None)
        if need is not None:
            f["units_needed"] = need.units_more
            f["units_needed_basis"] = need.basis

    # timing and surroundings
    f["days_running"] = days_between(ctx.started_at, ctx.now, ended_at=ctx.ended_at)
    f["max_duration_days"] = brief.max_duration_days if brief else None
    f["max_duration_reached"] = (f["days_running"] is not None and f["max_duration_days"] is not None
                                 and f["days_running"] >= f["max_duration_days"])
    f["stock_drop"] = _num(ctx.stock_drop)
    f["price_change"] = _num(ctx.price_change)
    f["promotion_period"] = bool(ctx.promotion_period)
    f["automatic"] = bool(ctx.automatic if ctx.automatic is not None else (brief is not None and brief.origin == "autopilot"))
    return f


def _covers(rule: Rule, facts: Mapping[str, Any]) -> set[str]:
    return covered_findings(rule.finding or rule.id, rule.reason, facts)


def _unit(m: MetricResult) -> str:
    return metric_unit(m.name, m.kind, m.unit)


def _fmt_delta(m: MetricResult, delta: float) -> str:
    return f"{fmt_metric_delta(m.name, m.kind, delta, m.unit)} worse"


def _fmt_value(m: MetricResult, v: float) -> str:
    return fmt_metric_value(m.name, m.kind, v, m.unit)


# --- the engine -----------------------------------------------------------------------------------
class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None or isinstance(value, float) and not math.isfinite(value):
            return "—"
        if format_spec == "p":
            return fmt_p(value)
        if format_spec in ("pct", "+pct"):
            return fmt_pct(value, signed=format_spec == "+pct")
        if format_spec == "n":
            return fmt_num(value)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return super().format_field(value, format_spec)

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        return kwargs.get(key) if isinstance(key, str) else super().get_value(key, args, kwargs)


_FMT = _Formatter()


def _render(template: str, names: Mapping[str, Any]) -> str:
    try:
        return p_in_text(_FMT.vformat(template, (), dict(names)))
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        return f"{template} (reason template error: {exc})"


@dataclass(frozen=True)
class RuleCheck(ResultMixin):
    """One rule as evaluated: did it hold, and which conditions did not."""

    rule: str
    action: str
    held: bool
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision(ResultMixin):
    """The engine's answer: the action, the one-line reason first, then every other reason.

    ``reasons[0]`` is ``reason`` (the deciding rule); the rest come from other rules that also
    held. ``checks`` lists every rule in order with whether it held; ``facts`` are the inputs.
    """

    experiment_id: str
    policy: str
    action: str
    reason: str
    reasons: tuple[str, ...]
    rule: str
    winner: str | None = None
    checks: tuple[RuleCheck, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)
    data_version: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def to_frame(self):  # type: ignore[override]
        import pandas as pd
        return pd.DataFrame([c.to_dict() for c in self.checks])

    def __repr__(self) -> str:
        from ..notebook import decision_repr
        return decision_repr(self)

    def _repr_html_(self) -> str:
        from ..notebook import decision_html
        return decision_html(self)


def evaluate(policy: DecisionPolicy, result: AnalysisResult, *, brief: ExperimentBrief | None = None,
             context: DecisionContext | None = None) -> Decision:
    """Apply ``policy`` to ``result``: the one engine behind every preset and user policy."""
    params = dict(policy.params)
    facts = compute_facts(result, brief=brief, context=context, params=params)
    if result.aa is not None:
        return _aa_decision(policy, result, facts, params)
    names = {**params, **facts}
    checks: list[RuleCheck] = []
    held: list[Rule] = []
    for rule in policy.rules:
        failed = tuple(c.describe() for c in rule.when if not c.holds(facts, params))
        checks.append(RuleCheck(rule.id, rule.action, not failed, failed))
        if not failed:
            held.append(rule)
    if held:
        deciding = held[0]
    else:
        assert policy.default is not None
        deciding = policy.default
        checks.append(RuleCheck(deciding.id, deciding.action, True, ()))
    reason = _render(deciding.reason, names)
    reasons, covered = [reason], _covers(deciding, facts)
    for r in held[1:]:
        text = _render(r.reason, names)
        keys = _covers(r, facts)
        # once per finding, and never a sentence the facts contradict
        if text in reasons or keys & covered or false_claims(text, facts):
            continue
        reasons.append(text)
        covered |= keys
    kind = deciding.winner_kind
    winner = facts.get("best_variant") if kind == "best" else facts.get("best_supported") if kind == "best_supported" else None
    return Decision(experiment_id=result.experiment_id, policy=policy.name, action=deciding.action, reason=reason,
                    reasons=tuple(reasons), rule=deciding.id, winner=winner, checks=tuple(checks), facts=facts,
                    data_version=result.data_version or None, params=params)


def _aa_decision(policy: DecisionPolicy, result: AnalysisResult, facts: dict[str, Any],
                 params: dict[str, Any]) -> Decision:
    """An A/A experiment is decided on its verdict alone: keep it running while the pipeline is healthy, hold
    (investigate the pipeline) when not. It never has a winner, whatever the policy says about products."""
    from ..aa import AA_RULE
    v = result.aa
    action = "keep_testing" if v.healthy else "hold"
    reason = v.sentence + ("" if v.healthy else "; find the cause before trusting any experiment on this pipeline")
    return Decision(experiment_id=result.experiment_id, policy=policy.name, action=action, reason=reason,
                    reasons=(reason,), rule=AA_RULE, winner=None, checks=(RuleCheck(AA_RULE, action, True, ()),),
                    facts=facts, data_version=result.data_version or None, params=params)


def decide(result: AnalysisResult, *, brief: ExperimentBrief | None = None, policy: str | DecisionPolicy | None = None,
           context: DecisionContext | None = None) -> Decision:
    """Evaluate the named policy (the brief's, else the configured default) on ``result``."""
    if isinstance(policy, DecisionPolicy):
        pol = policy
    else:
        name = policy or (brief.policy if brief else get_settings().lifecycle.default_policy)
        pol = get_policy(name)
    return evaluate(pol, result, brief=brief, context=context)
