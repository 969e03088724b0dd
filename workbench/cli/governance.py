"""CLI commands that govern experiments as a whole: the autopilot, the promotion-period switch, the learning
store, SKUs under review, decision policies and data retention.

Every command that changes something takes ``--by`` (who; defaults to the login name) and ``--why``
and writes both to the registry's append-only audit log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..display import fmt_count, fmt_lift, fmt_share
from ..errors import InputError, Problem
from ._common import JSON_OPTION, console, engine_options, err_console, print_json, table
from .lifecycle import BY, DB, WHY_REQUIRED, _by, _parse_time, _reg, _ts

retention_app = typer.Typer(help="Data retention: purge event rows older than the retention period.",
                            no_args_is_help=True)
policies_app = typer.Typer(help="Decision policies (YAML presets and your own).", no_args_is_help=True)
review_app = typer.Typer(help="Flag SKUs for manual or legal review so the autopilot leaves them alone.",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("autopilot", help="Select candidate SKUs, draft experiments from the template and start them "
                                  "within the traffic budget. --dry-run explains what it would do and why.")(engine_options(autopilot_cmd))
    app.command("promotion-period", help="Turn the global promotion-period switch on or off (automatic experiments "
                                         "pause while it is on).")(promotion_period_cmd)
    app.command("learning", help="Which variant tags win in which category (the learning store).")(learning_cmd)
    app.add_typer(retention_app, name="retention")
    app.add_typer(policies_app, name="policies")
    app.add_typer(review_app, name="review")


# --- autopilot, switches, learning ------------------------------------------------------------------
def autopilot_cmd(dry_run: bool = typer.Option(False, "--dry-run", help="Explain what would be done; change nothing."),
                  as_of: Optional[str] = typer.Option(None, "--as-of", help="Run as of this time (default: the latest event in the data)."),
                  by: Optional[str] = typer.Option("autopilot", "--by", help="Who is acting (audit log)."),
                  db: Optional[Path] = DB, as_json: bool = JSON_OPTION) -> None:
    from ..lifecycle.autopilot import run_autopilot
    plan = run_autopilot(_reg(db), now=_parse_time(as_of, "as_of"), dry_run=dry_run, by=by or "autopilot")
    if as_json:
        d = plan.to_dict()
        d["candidates"] = [c for c in d["candidates"] if c["eligible"] or c["sessions"] > 0]
        print_json(d)
        return
    console.print(plan.explain(), highlight=False, markup=False)


def promotion_period_cmd(state: str = typer.Argument(..., help="on or off"), by: Optional[str] = BY,
                         why: str = WHY_REQUIRED, db: Optional[Path] = DB) -> None:
    if state not in ("on", "off"):
        raise InputError([Problem("blocked", "bad_value", "say on or off", column="state", value=state)])
    _reg(db).set_switch("promotion_period", state, by=_by(by), why=why)
    console.print(f"promotion period: {state}" + (" (automatic experiments pause; run `workbench autopilot` to apply)"
                                                  if state == "on" else ""), highlight=False)


def learning_cmd(category: Optional[str] = typer.Option(None, "--category"), db: Optional[Path] = DB,
                 as_json: bool = JSON_OPTION) -> None:
    from ..lifecycle.learning import pattern_table
    reg = _reg(db)
    df = pattern_table(reg, category)
    if as_json:
        print_json(df.to_dict("records"))
        return
    if df.empty:
        known = sorted(set(pattern_table(reg, None)["category"])) if category is not None else []
        console.print(f"No patterns for category {category!r} yet; categories with patterns: {', '.join(known)}."
                      if known else "Nothing to show: the learning store is empty, because no experiment has concluded with a "
                      "winner yet. A winner's tags are recorded when an experiment is stopped with a winner "
                      "(`workbench experiments stop ID --winner VARIANT --why ...`, or a decision applied with "
                      "`workbench decide ID --apply`); then this table shows which tags win in which category.", highlight=False, markup=False, soft_wrap=True)
        return
    console.print(table("which tags win where", ["category", "tag", "value", "wins", "trials", "win rate",
                                                 "mean lift of wins"],
                        [(r["category"], r["tag"], r["value"], fmt_count(r["wins"]), fmt_count(r["trials"]),
                          fmt_share(r["win_rate"]), fmt_lift(r["mean_win_lift"]))
                         for r in df.to_dict("records")]))


@review_app.command("flag", help="Flag a SKU for manual or legal review.")
def review_flag_cmd(product_id: str = typer.Argument(...), reason: str = typer.Option(..., "--reason",
                                                                                        help="manual or legal"),
                    note: str = typer.Option("", "--note"), by: Optional[str] = BY, why: str = WHY_REQUIRED,
                    db: Optional[Path] = DB) -> None:
    _reg(db).flag_review(product_id, reason=reason, by=_by(by), why=why, note=note)
    console.print(f"{product_id}: flagged for {reason} review", highlight=False)


@review_app.command("clear", help="Clear a SKU's review flag.")
def review_clear_cmd(product_id: str = typer.Argument(...), by: Optional[str] = BY, why: str = WHY_REQUIRED,
                     db: Optional[Path] = DB) -> None:
    _reg(db).unflag_review(product_id, by=_by(by), why=why)
    console.print(f"{product_id}: review flag cleared", highlight=False)


@review_app.command("list", help="SKUs flagged for review.")
def review_list_cmd(db: Optional[Path] = DB, as_json: bool = JSON_OPTION) -> None:
    df = _reg(db).review_flags()
    if as_json:
        print_json(df.to_dict("records"))
        return
    console.print(table("review flags", ["SKU", "reason", "note", "by", "when"],
                        [(r["product_id"], r["reason"], r["note"], r["flagged_by"], _ts(r["flagged_at"]))
                         for r in df.to_dict("records")]))


# --- policies --------------------------------------------------------------------------------------
@policies_app.command("list", help="Decision policies and where each comes from.")
def policies_list_cmd(as_json: bool = JSON_OPTION) -> None:
    from ..lifecycle.policies import get_policy, list_policies
    found = list_policies()
    if as_json:
        print_json(found)
        return
    console.print(table("decision policies", ["name", "source", "description"],
                        [(n, src, get_policy(n).description) for n, src in sorted(found.items())], align="lll"))


@policies_app.command("show", help="A policy's parameters and rules, in evaluation order.")
def policies_show_cmd(name: str = typer.Argument(...), as_json: bool = JSON_OPTION) -> None:
    from ..lifecycle.policies import get_policy
    p = get_policy(name)
    if as_json:
        print_json(p.model_dump(mode="json"))
        return
    console.print(f"{p.name} ({p.source}): {p.description}", highlight=False, markup=False)
    console.print("params: " + ", ".join(f"{k}={v}" for k, v in p.params.items()), highlight=False, markup=False)
    rows = [(r.id, " and ".join(c.describe() for c in r.when) or "always", r.action) for r in p.rules]
    if p.default is not None:
        rows.append((p.default.id, "otherwise", p.default.action))
    console.print(table("rules (first that holds decides)", ["rule", "when", "action"], rows, align="lll"))


# --- retention -------------------------------------------------------------------------------------
@retention_app.command("purge", help="Delete user rows older than the retention period (lifecycle.retention_days) "
                                     "from every table holding them (events, pre_period, any table with a user_key) "
                                     "in one transaction, and report user keys that do not look hashed.")
def purge_cmd(days: Optional[int] = typer.Option(None, "--days", help="Retention period in days (default from "
                                                 "settings)."),
              dry_run: bool = typer.Option(False, "--dry-run", help="Count only."),
              by: Optional[str] = BY, why: str = WHY_REQUIRED, db: Optional[Path] = DB,
              as_json: bool = JSON_OPTION) -> None:
    r = _reg(db).purge_events(retention_days=days, by=_by(by), why=why, dry_run=dry_run)
    if as_json:
        print_json(r.to_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    for t in r.tables or ():
        console.print(f"{t.table}: {verb} {fmt_count(t.deleted)} rows older than {_ts(r.cutoff)} ({t.rule}); "
                      f"{fmt_count(t.remaining)} rows remain", highlight=False, markup=False)
    if not r.tables:
        console.print(f"{r.table}: {verb} {fmt_count(r.deleted)} rows older than {_ts(r.cutoff)}; {fmt_count(r.remaining)} "
                      "rows remain", highlight=False)
    for n in r.notes:
        err_console.print(f"warning: {n}", highlight=False, markup=False)
