"""Autopilot: pick SKUs to test, draft experiments from a template, and start them within a traffic budget.

Every run looks at the catalogue and the last ``lookback_days`` (7) of events — up to the latest event in
the data, or ``now`` when given (:func:`workbench.asof.evaluation_time`) — and, for every SKU,
decides whether it is a **candidate** — and if not, says why:

* at least ``min_sessions`` sessions on its product page in the lookback window;
* in stock (``catalog.stock > 0``);
* its last experiment ended at least ``cooldown_days`` (7) ago, and no scheduled next experiment is
  still waiting for its date;
* not already in an experiment (draft, running, on hold or being promoted): one per SKU;
* not flagged for manual or legal review (the registry's ``review_flags`` or ``catalog.review_flag``).

Candidates are taken in order (SKUs whose scheduled next experiment is due first, then by traffic)
while the **traffic budget** allows: experiments running at once use at most ``traffic_budget``
(20 %) of all sessions and there are at most ``max_concurrent`` of them. Each selected SKU gets a
draft from the ``autopilot-template`` preset whose challenger carries the category's winning meta
tags from the learning store (or, with nothing learnt yet, explores one tag), and is started.
During a promotion period nothing new starts and running automatic experiments are paused; when the
period ends they resume. ``dry_run=True`` returns the same plan without changing anything.

Site-wide experiments (no SKU or category in their targeting, e.g. a model canary) run in their
own traffic layer and do not count against the budget; the plan says so.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import yaml

from ..asof import evaluation_time, events_as_of
from ..config import get_settings
from ..display import ResultMixin, fmt_count, fmt_num, fmt_pct
from ..errors import InputError, Problem, WorkbenchError
from ..yamlio import load_yaml
from .brief import ExperimentBrief, parse_brief
from .learning import UNCATEGORISED, pattern_table
from .policies import find_preset
from .registry import Registry
from .signals import as_ibis, has_table
from .variant_checks import check_brief_variants

__all__ = ["AutopilotTemplate", "Candidate", "AutopilotStep", "AutopilotPlan", "load_template", "candidates",
           "plan_autopilot", "run_autopilot", "challenger_meta", "ACTIVE_STATES"]

ACTIVE_STATES = ("draft", "running", "hold", "promoting")
RUNNING_STATES = ("running", "hold")


@dataclass(frozen=True)
class AutopilotTemplate:
    """Brief defaults, the control's tags, the values each tag may take, how many challengers."""

    brief: dict[str, Any]
    control_meta: dict[str, str]
    tag_options: dict[str, list[str]]
    challengers: int = 1
    default_baseline_rate: float = 0.03
    source: str = ""


def load_template(name: str | None = None) -> AutopilotTemplate:
    """The template YAML (user policy directory first, then the preset)."""
    name = name or get_settings().lifecycle.autopilot.template
    source, text = find_preset(name)
    try:
        data = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise InputError([Problem("blocked", "bad_yaml", f"not valid YAML: {exc}", file=source)]) from None
    problems = []
    for key in ("brief", "control_meta", "tag_options"):
        if not isinstance(data.get(key), dict):
            problems.append(Problem("blocked", "bad_template", "must be a mapping", file=source, column=key))
    if problems:
        raise InputError(problems)
    options = {str(k): [str(x) for x in v] for k, v in data["tag_options"].items()}
    control = {str(k): str(v) for k, v in data["control_meta"].items()}
    for tag, value in control.items():
        if tag in options and value not in options[tag]:
            problems.append(Problem("blocked", "bad_template", f"control value is not among tag_options.{tag}",
                                    file=source, column=f"control_meta.{tag}", value=value))
    n = int(data.get("challengers", 1))
    if not 1 <= n <= 3:
        problems.append(Problem("blocked", "bad_template", "challengers must be 1, 2 or 3", file=source,
                                column="challengers", value=n))
    if problems:
        raise InputError(problems)
    return AutopilotTemplate(dict(data["brief"]), control, options, n,
                             float(data.get("default_baseline_rate", 0.03)), source)


@dataclass(frozen=True)
class Candidate(ResultMixin):
    """One SKU as the autopilot sees it, with every reason it is not eligible (empty when it is)."""

    product_id: str
    category: str | None
    sessions: int
    purchase_sessions: int
    traffic_share: float
    stock: float | None
    eligible: bool
    reasons: tuple[str, ...] = ()
    scheduled_due: bool = False


@dataclass(frozen=True)
class AutopilotStep(ResultMixin):
    """One thing the autopilot does (or would do in a dry run) and why."""

    action: Literal["create_and_start", "skip", "pause", "resume"]
    reason: str
    product_id: str | None = None
    experiment_id: str | None = None
    traffic_share: float | None = None
    brief_yaml: str | None = None


@dataclass(frozen=True)
class AutopilotPlan(ResultMixin):
    """What the autopilot decided: the budget, each step with its reason, and every SKU considered."""

    now: dt.datetime
    dry_run: bool
    executed: bool
    promotion_period: bool
    traffic_budget: float
    traffic_in_use: float
    traffic_planned: float
    concurrent: int
    max_concurrent: int
    steps: tuple[AutopilotStep, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:  # type: ignore[override]
        return pd.DataFrame([{k: v for k, v in s.to_dict().items() if k != "brief_yaml"} for s in self.steps],
                            columns=["action", "reason", "product_id", "experiment_id", "traffic_share"])

    def explain(self, *, max_excluded: int = 10) -> str:
        """Plain-text account of what would be (or was) done and why."""
        head = "DRY RUN — nothing was changed" if self.dry_run else ("done" if self.executed else "plan")
        lines = [f"Autopilot at {self.now:%Y-%m-%d %H:%M} UTC ({head})",
                 f"traffic budget {fmt_pct(self.traffic_budget, 0)}: in use {fmt_pct(self.traffic_in_use, 1)}, "
                 f"new {fmt_pct(self.traffic_planned, 1)}; experiments {self.concurrent} running "
                 f"(at most {self.max_concurrent})"]
        lines += [f"note: {n}" for n in self.notes]
        for s in self.steps:
            target = s.experiment_id or s.product_id or ""
            lines.append(f"- {s.action} {target}: {s.reason}")
        if not self.steps:
            lines.append("- nothing to do")
        excluded = [c for c in self.candidates if not c.eligible]
        if excluded:
            lines.append(f"{len(excluded)} SKUs not eligible; the busiest:")
            for c in sorted(excluded, key=lambda c: (-c.sessions, c.product_id))[:max_excluded]:
                lines.append(f"  {c.product_id} ({fmt_num(c.sessions)} sessions): {'; '.join(c.reasons)}")
        return "\n".join(lines)


def _events_window(backend: Any, now: dt.datetime, days: int) -> tuple[pd.DataFrame, int]:
    ev = backend.table("events")
    win = ev.filter((ev.ts_server > now - dt.timedelta(days=days)) & (ev.ts_server <= now) & ev.product_id.notnull())
    per = win.group_by("product_id").aggregate(sessions=win.session_id.nunique(),
                                                purchase_sessions=win.session_id.nunique(where=win.event == "purchase"))
    total = win.session_id.nunique().execute()
    return per.execute(), int(total or 0)


def candidates(reg: Registry, backend: Any, *, now: dt.datetime) -> tuple[list[Candidate], int, dict[str, Any]]:
    """Every catalogue SKU with its traffic and eligibility; also total sessions and registry facts."""
    cfg = get_settings().lifecycle.autopilot
    problems = [Problem("blocked", "missing_table", "the autopilot needs this table in the database", column=t)
                for t in ("catalog", "events") if not has_table(backend, t)]
    if problems:
        raise InputError(problems)
    per, total = _events_window(backend, now, cfg.lookback_days)
    cat_t = backend.table("catalog")
    cols = [c for c in ("product_id", "category", "stock", "review_flag") if c in cat_t.columns]
    catalog = cat_t.select(*cols).execute()
    df = catalog.merge(per, on="product_id", how="left")
    df[["sessions", "purchase_sessions"]] = df[["sessions", "purchase_sessions"]].fillna(0).astype("int64")
    df["share"] = df["sessions"] / total if total else 0.0

    exps = reg.list()
    active = {e.product_id: e for e in exps if e.product_id and e.state in ACTIVE_STATES}
    last_end: dict[str, tuple[dt.datetime, str]] = {}
    for e in exps:
        if e.product_id and e.ended_at is not None:
            if e.product_id not in last_end or e.ended_at > last_end[e.product_id][0]:
                last_end[e.product_id] = (e.ended_at, e.experiment_id)
    flags = {r["product_id"]: r["reason"] for r in reg.review_flags().to_dict("records")}
    sched = {r["product_id"]: r for r in reg.schedule().to_dict("records")}
    cooldown = dt.timedelta(days=cfg.cooldown_days)

    out = []
    for r in df.sort_values(["sessions", "product_id"], ascending=[False, True]).to_dict("records"):
        pid = str(r["product_id"])
        reasons = []
        if pid in flags:
            reasons.append(f"flagged for {flags[pid]} review")
        elif bool(r.get("review_flag", False)):
            reasons.append("flagged for manual review in the catalogue")
        if pid in active:
            reasons.append(f"already in experiment {active[pid].experiment_id} ({active[pid].state})")
        if pid in last_end and now < last_end[pid][0] + cooldown:
            end, eid = last_end[pid]
            reasons.append(f"cooldown: {eid} ended {end:%Y-%m-%d}; eligible from {end + cooldown:%Y-%m-%d %H:%M}")
        due = False
        if pid in sched:
            nb = pd.Timestamp(sched[pid]["not_before"]).to_pydatetime()
            if now < nb:
                reasons.append(f"next experiment scheduled for {nb:%Y-%m-%d %H:%M} (after "
                               f"{sched[pid]['source_experiment_id'] or 'a winner'}'s cooldown)")
            else:
                due = True
        stock = None if pd.isna(r.get("stock")) else float(r["stock"])
        if stock is not None and stock <= 0:
            reasons.append("out of stock")
        if r["sessions"] < cfg.min_sessions:
            reasons.append(f"{fmt_num(r['sessions'])} sessions in the last {cfg.lookback_days} days "
                           f"(needs {fmt_num(cfg.min_sessions)})")
        out.append(Candidate(pid, None if pd.isna(r.get("category")) else str(r["category"]), int(r["sessions"]),
                             int(r["purchase_sessions"]), float(r["share"]), stock, not reasons, tuple(reasons), due))
    shares = {c.product_id: c.traffic_share for c in out}
    cat_share: dict[str, float] = {}
    for c in out:
        if c.category:
            cat_share[c.category] = cat_share.get(c.category, 0.0) + c.traffic_share
    return out, total, {"experiments": exps, "shares": shares, "category_shares": cat_share}


def _experiment_share(reg: Registry, e: Any, shares: dict[str, float], cat_shares: dict[str, float]) -> float | None:
    if e.product_id:
        return shares.get(e.product_id, 0.0)
    if e.category:
        return cat_shares.get(e.category, 0.0)
    return None


def challenger_meta(template: AutopilotTemplate, patterns: pd.DataFrame, *, product_id: str,
                    category: str | None) -> list[tuple[dict[str, str], str]]:
    """Tags for each challenger and why: the category's winning values, else explore one tag.

    ``patterns`` is :func:`~workbench.lifecycle.learning.pattern_table` for the category. The same
    inputs always give the same tags (exploration order is a stable hash of the SKU id).

    >>> t = AutopilotTemplate({}, {"cta_tone": "neutral", "layout": "classic"},
    ...                       {"cta_tone": ["neutral", "urgent"], "layout": ["classic", "gallery"]})
    >>> empty = pd.DataFrame(columns=["category", "tag", "value", "wins", "trials", "win_rate", "mean_win_lift"])
    >>> challenger_meta(t, empty, product_id="sho-0001", category="shoes")
    [({'cta_tone': 'urgent', 'layout': 'classic'}, 'nothing learnt yet in shoes: explore cta_tone=urgent')]
    """
    base = dict(template.control_meta)
    cat = category or UNCATEGORISED
    won: dict[str, tuple[str, int, int]] = {}
    for tag, g in patterns.groupby("tag", sort=True):
        top = g.iloc[0]
        if int(top["wins"]) > 0:
            won[str(tag)] = (str(top["value"]), int(top["wins"]), int(top["trials"]))
    tried = {(str(r["tag"]), str(r["value"])): int(r["trials"]) for r in patterns.to_dict("records")}
    tags = sorted(set(base) | set(template.tag_options))
    first = dict(base)
    why = []
    for tag, (value, wins, trials) in sorted(won.items()):
        if tag in tags and value != base.get(tag):
            first[tag] = value
            why.append(f"{tag}={value} won {wins} of {trials} in {cat}")
    out: list[tuple[dict[str, str], str]] = []
    start = zlib.crc32(product_id.encode("utf-8")) % max(len(tags), 1)
    order = tags[start:] + tags[:start]

    def explore(meta: dict[str, str], taken: list[dict[str, str]]) -> tuple[dict[str, str], str] | None:
        for tag in order:
            opts = [v for v in template.tag_options.get(tag, []) if v != meta.get(tag)]
            opts.sort(key=lambda v: (tried.get((tag, v), 0), template.tag_options[tag].index(v)))
            for v in opts:
                cand = {**meta, tag: v}
                if cand != base and cand not in taken:
                    return cand, f"explore {tag}={v}"
        return None

    if first != base:
        out.append((first, "; ".join(why)))
    else:
        found = explore(base, [])
        if found:
            prefix = f"nothing learnt yet in {cat}" if not won else f"{cat}'s winning tags match the control"
            out.append((found[0], f"{prefix}: {found[1]}"))
    while len(out) < template.challengers:
        found = explore(out[-1][0] if out else base, [m for m, _ in out])
        if not found:
            break
        out.append(found)
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40] or "sku"


def _draft(reg: Registry, template: AutopilotTemplate, c: Candidate, now: dt.datetime) -> ExperimentBrief:
    patterns = pattern_table(reg, c.category or UNCATEGORISED)
    metas = challenger_meta(template, patterns, product_id=c.product_id, category=c.category)
    base_id = f"auto-{_slug(c.product_id)}-{now:%Y%m%d}"
    eid, k = base_id, 2
    while reg.exists(eid):
        eid, k = f"{base_id}-{k}", k + 1
    rate = c.purchase_sessions / c.sessions if c.sessions else 0.0
    baseline = rate if 0 < rate < 0.5 else template.default_baseline_rate
    variants = [{"id": "control", "name": "Current page", "meta": template.control_meta}]
    for i, (meta, why) in enumerate(metas):
        tags = ", ".join(f"{t}={v}" for t, v in sorted(meta.items()) if template.control_meta.get(t) != v)
        variants.append({"id": "challenger" if i == 0 else f"challenger-{i + 1}", "name": f"Challenger: {tags}",
                         "description": why, "meta": meta})
    data = {**template.brief, "id": eid, "name": f"Autopilot: {c.product_id} ({c.category or 'no category'})",
            "hypothesis": f"{'; '.join(v['description'] for v in variants[1:])} lifts conversion on {c.product_id}",
            "targeting": {"categories": [c.category] if c.category else [], "product_ids": [c.product_id]},
            "variants": variants, "baseline_rate": round(baseline, 6), "origin": "autopilot"}
    data.setdefault("max_duration_days", get_settings().lifecycle.autopilot.max_duration_days)
    data.setdefault("policy", get_settings().lifecycle.autopilot.policy)
    return parse_brief(data, source=template.source)


def _paused_for_promotion(reg: Registry, experiment_id: str) -> bool:
    df = reg.audit(experiment_id)
    pauses = df[df["action"].isin(["pause", "resume"])]
    if pauses.empty:
        return False
    last = pauses.iloc[-1]
    return bool(last["action"] == "pause" and json.loads(last["detail"]).get("cause") == "promotion_period")


def plan_autopilot(reg: Registry, *, con: Any | None = None, now: dt.datetime | None = None) -> AutopilotPlan:
    """Work out what the autopilot would do now (changes nothing)."""
    return _run(reg, con=con, now=now, dry_run=True, by="autopilot")


def run_autopilot(reg: Registry, *, con: Any | None = None, now: dt.datetime | None = None, dry_run: bool = False,
                  by: str = "autopilot") -> AutopilotPlan:
    """Plan and (unless ``dry_run``) carry out: start new experiments, pause/resume for promotion periods."""
    return _run(reg, con=con, now=now, dry_run=dry_run, by=by)


def _run(reg: Registry, *, con: Any | None, now: dt.datetime | None, dry_run: bool, by: str) -> AutopilotPlan:
    cfg = get_settings().lifecycle.autopilot

    def plan_with(backend: Any) -> tuple[dt.datetime, list[Candidate], int, dict[str, Any]]:
        # the look-back window ends at the data's latest event (or --as-of), not at today's date
        at = evaluation_time(as_of=now, data_as_of=events_as_of(backend), fallback=reg.clock)
        assert at is not None
        return (at, *candidates(reg, backend, now=at))
    if con is None:
        with reg.connect() as own:
            now, cands, total, facts = plan_with(as_ibis(own))
    else:
        now, cands, total, facts = plan_with(as_ibis(con))
    exps = facts["experiments"]
    notes: list[str] = []
    in_use, concurrent, layered = 0.0, 0, []
    for e in exps:
        if e.state in RUNNING_STATES:
            share = _experiment_share(reg, e, facts["shares"], facts["category_shares"])
            if share is None:
                layered.append(e.experiment_id)
                continue
            in_use += share
            concurrent += 1
    if layered:
        notes.append(f"site-wide experiments run in their own traffic layer and are not counted: {', '.join(layered)}")
    if total == 0:
        notes.append(f"no events in the last {cfg.lookback_days} days before {now:%Y-%m-%d}")
    if in_use >= cfg.traffic_budget:
        notes.append(f"the traffic budget is used up: running experiments take {fmt_pct(in_use, 1)} of sessions "
                     f"(budget {fmt_pct(cfg.traffic_budget, 0)})")
    if concurrent >= cfg.max_concurrent:
        notes.append(f"{concurrent} experiments are already running (at most {cfg.max_concurrent})")
    if not any(c.eligible for c in cands):
        notes.append("no SKU is eligible (see the reasons below)")
    promo = reg.promotion_period()
    steps: list[AutopilotStep] = []
    planned = 0.0
    if promo:
        notes.append("promotion period is on: no new automatic experiments; running ones pause")
        for e in exps:
            if e.origin == "autopilot" and e.state == "running":
                steps.append(AutopilotStep("pause", "promotion period: automatic experiments pause",
                                           e.product_id, e.experiment_id))
    else:
        for e in exps:
            if e.origin == "autopilot" and e.state == "hold" and _paused_for_promotion(reg, e.experiment_id):
                steps.append(AutopilotStep("resume", "the promotion period is over", e.product_id, e.experiment_id))
        template = load_template()
        eligible = sorted((c for c in cands if c.eligible), key=lambda c: (not c.scheduled_due, -c.sessions, c.product_id))
        for c in eligible:
            if concurrent >= cfg.max_concurrent:
                steps.append(AutopilotStep("skip", f"at most {cfg.max_concurrent} experiments may run at once",
                                           c.product_id, traffic_share=c.traffic_share))
                continue
            if in_use + planned + c.traffic_share > cfg.traffic_budget + 1e-12:
                left = max(0.0, cfg.traffic_budget - in_use - planned)
                steps.append(AutopilotStep("skip", f"needs {fmt_pct(c.traffic_share, 1)} of traffic; only "
                                           f"{fmt_pct(left, 1)} of the {fmt_pct(cfg.traffic_budget, 0)} budget is left",
                                           c.product_id, traffic_share=c.traffic_share))
                continue
            try:
                brief = _draft(reg, template, c, now)
            except WorkbenchError as exc:
                steps.append(AutopilotStep("skip", f"could not draft an experiment: {exc}", c.product_id))
                continue
            check = check_brief_variants(brief)
            if not check.ok:
                steps.append(AutopilotStep("skip", "variant policy check failed: " +
                                           "; ".join(p.message for p in check.problems if p.level == "blocked"),
                                           c.product_id))
                continue
            daily = c.sessions / cfg.lookback_days
            need = (brief.min_sample_size or 0) * len(brief.variants)
            days = need / daily if daily else float("inf")
            why = (f"{fmt_num(c.sessions)} sessions in {cfg.lookback_days} days ({fmt_pct(c.traffic_share, 1)} of "
                   f"traffic), in stock, cooldown passed{', scheduled and due' if c.scheduled_due else ''}; "
                   f"{brief.variants[1].description}; needs {fmt_num(brief.min_sample_size)} units per arm "
                   f"(about {fmt_count(days)} days at current traffic)")
            if days > brief.max_duration_days:
                why += f" — longer than the {brief.max_duration_days}-day limit, so it may stop without a winner"
            steps.append(AutopilotStep("create_and_start", why, c.product_id, brief.id, c.traffic_share, brief.to_yaml()))
            planned += c.traffic_share
            concurrent += 1
    plan = AutopilotPlan(now, dry_run, False, promo, cfg.traffic_budget, in_use, planned, concurrent,
                         cfg.max_concurrent, tuple(steps), tuple(cands), tuple(notes))
    if dry_run:
        return plan
    for s in steps:
        if s.action == "create_and_start":
            assert s.brief_yaml is not None and s.product_id is not None
            brief = ExperimentBrief.from_yaml(s.brief_yaml, source="autopilot")
            with reg.transaction() as c:
                reg.create(brief, by=by, why="autopilot: " + s.reason, con=c)
                reg.transition(brief.id, "start", by=by, why="autopilot start within the traffic budget", con=c)
                reg.clear_schedule(s.product_id, c)
        elif s.action in ("pause", "resume"):
            assert s.experiment_id is not None
            reg.transition(s.experiment_id, s.action, by=by, why=s.reason, detail={"cause": "promotion_period"})
    return AutopilotPlan(now, False, True, promo, cfg.traffic_budget, in_use, planned, concurrent,
                         cfg.max_concurrent, tuple(steps), tuple(cands), tuple(notes))
