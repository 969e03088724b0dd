"""Decision policies as data: the rule model (conditions, rules, policies) and where policies are found.

A policy is YAML (see :mod:`workbench.lifecycle.policies` for the syntax); :func:`load_policy` parses
it (resolving ``include`` entries) into a :class:`DecisionPolicy`, naming the file and field of every
problem; :func:`get_policy` finds one by name in the user's policy directories, then the presets.
"""

from __future__ import annotations

import math
import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config import Paths, get_settings
from ..errors import InputError, NotFoundError, Problem
from ..yamlio import load_yaml
from .brief import is_safe_id
from .facts import FACTS

__all__ = ["DecisionAction", "ACTIONS", "ACTION_TONE", "Condition", "Rule", "DecisionPolicy", "get_policy",
           "list_policies", "load_policy", "policy_dirs", "find_preset"]

DecisionAction = Literal["launch", "promote", "hold", "rollback", "keep_testing", "stop"]
ACTIONS: tuple[str, ...] = ("launch", "promote", "hold", "rollback", "keep_testing", "stop")
#: how each action reads at a glance (the CSS class of memo and report banners)
ACTION_TONE: dict[str, str] = {"launch": "go", "promote": "go", "rollback": "stop", "hold": "hold", "stop": "hold",
                               "keep_testing": "wait"}
_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in")

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
            kind = (load_yaml(find_preset(name)[1]) or {}).get("kind", "policy")
        except (yaml.YAMLError, AttributeError, InputError, NotFoundError):
            kind = "policy"
        if kind == "policy":
            out[name] = src
    return out


def load_policy(text: str, *, source: str = "<policy>", _stack: tuple[str, ...] = ()) -> DecisionPolicy:
    """Parse policy YAML (resolving ``include`` entries); problems name the file and field."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise InputError([Problem("blocked", "bad_yaml", f"not valid YAML: {exc}", file=source)]) from None
    if not isinstance(data, dict):
        raise InputError([Problem("blocked", "bad_policy", "a policy must be a YAML mapping", file=source)])
    params: dict[str, Any] = {}
    rules: list[dict[str, Any]] = []
    problems: list[Problem] = []
    listed = data.get("rules") or []
    if not isinstance(listed, list):
        problems.append(Problem("blocked", "bad_policy", "rules must be a list of rules", file=source, column="rules",
                                value=_short(listed)))
        listed = []
    for i, raw in enumerate(listed):
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


