"""CLI commands of the experiment lifecycle: experiments, decide, memo (autopilot, review, policies and
retention: :mod:`.governance`).

Every command that changes something takes ``--by`` (who; defaults to the login name) and ``--why``
and writes both to the registry's append-only audit log.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from ..display import fmt_action, fmt_num, fmt_share
from ..errors import InputError, Problem
from ._common import (JSON_OPTION, MLFLOW_OPTION, console, engine_options, err_console, file_or_experiment, log_mlflow,
                      print_json, table)

if TYPE_CHECKING:
    import pandas as pd

BY = typer.Option(None, "--by", help="Who is acting (recorded in the audit log); default: your login name.")
WHY_REQUIRED = typer.Option(..., "--why", help="Why (recorded in the audit log).")
DB = typer.Option(None, "--db", help="DuckDB file of the registry; default data/workbench.duckdb or $WORKBENCH_DB.")

experiments_app = typer.Typer(help="Register experiments and move them through their lifecycle: draft → running → "
                                   "hold → completed → archived, plus staged promotion and rollback.",
                              no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.add_typer(experiments_app, name="experiments")
    app.command("decide", help="Decide on an experiment with its policy (or --policy): prints the action and "
                               "every reason and records the decision in the registry.")(engine_options(decide_cmd))
    app.command("memo", help="Write the one-page decision memo (Markdown or self-contained HTML) for an "
                             "aggregated results file, a saved analysis (.json) or a registered experiment.")(engine_options(memo_cmd))


# --- helpers ---------------------------------------------------------------------------------------
def _reg(db: Optional[Path]) -> Any:
    from ..lifecycle.registry import Registry
    return Registry(db)


def _by(by: Optional[str]) -> str:
    from ..lifecycle.registry import default_actor
    return by or default_actor()


def _ts(x: Any) -> str:
    import pandas as pd
    if x is None or (isinstance(x, float) and pd.isna(x)) or x is pd.NaT:
        return "—"
    return pd.Timestamp(x).strftime("%Y-%m-%d %H:%M")


def _parse_time(text: Optional[str], what: str) -> Optional[dt.datetime]:
    if text is None:
        return None
    import pandas as pd
    try:
        t = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise InputError([Problem("blocked", "bad_time", "not a date/time (use e.g. 2026-11-20 or 2026-11-20T09:00)",
                                  column=what, value=text)]) from None
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t.to_pydatetime()


def _record_line(rec: Any) -> None:
    console.print(f"{rec.experiment_id}: [bold]{rec.state}[/] (policy {rec.policy}, owner {rec.owner})", markup=True,
                  highlight=False)


# --- experiments -----------------------------------------------------------------------------------
@experiments_app.command("list", help="Experiments in the registry, optionally in one state.")
def list_cmd(state: Optional[str] = typer.Option(None, "--state", help="Only this state."), db: Optional[Path] = DB,
             as_json: bool = JSON_OPTION) -> None:
    from ..lifecycle.states import check_state
    if state:
        check_state(state)
    recs = _reg(db).list(state)
    if as_json:
        print_json([r.to_dict() for r in recs])
        return
    rows = [(r.experiment_id, r.state, r.policy, r.owner, r.category or "—", r.product_id or "—", r.origin,
             _ts(r.started_at), _ts(r.ended_at)) for r in recs]
    console.print(table(f"{len(recs)} experiments", ["id", "state", "policy", "owner", "category", "SKU", "origin",
                                                     "started", "ended"], rows))


@experiments_app.command("show", help="One experiment: state, brief, allocation, decisions, rollout and audit log.")
def show_cmd(experiment_id: str = typer.Argument(..., help="Experiment id."), db: Optional[Path] = DB,
             as_json: bool = JSON_OPTION) -> None:
    from ..lifecycle.rollout import rollout_status
    from ..lifecycle.states import allowed_actions
    reg = _reg(db)
    rec = reg.get(experiment_id)
    brief = reg.brief(experiment_id)
    decisions = reg.decisions(experiment_id)
    audit = reg.audit(experiment_id)
    status = rollout_status(reg, experiment_id)
    history = None
    if brief.allocation.mode == "bandit":         # a bandit's allocation now is its latest logged decision
        from ..bandits.history import allocation_history, data_as_of
        history = allocation_history(experiment_id, db=reg.path, as_of=data_as_of(experiment_id, db=reg.path))
    if as_json:
        print_json({"experiment": rec.to_dict(), "brief": brief.to_dict(), "weights": reg.weights(experiment_id),
                    "allocation": history.to_dict() | {"decisions": None} if history is not None else None,
                    "allowed_actions": allowed_actions(rec.state), "decisions": decisions.to_dict("records"),
                    "rollout": status.to_dict(), "audit": audit.to_dict("records")})
        return
    _record_line(rec)
    console.print(f"allowed now: {', '.join(allowed_actions(rec.state)) or 'nothing (final)'}", highlight=False)
    w = reg.weights(experiment_id)
    console.print(("planned weights (registry): " if history is not None else "weights: ")
                  + ", ".join(f"{v} {fmt_share(x)}" for v, x in w.items()), highlight=False)
    if history is not None:
        console.print(history.sentence(), highlight=False, markup=False)
    console.print(brief.to_yaml(), highlight=False, markup=False)
    if status.stage is not None:
        console.print(f"rollout: stage {status.stage} ({fmt_share(status.share)} on {status.variant}), due "
                      f"{_ts(status.due_at)}", highlight=False)
    if not decisions.empty:
        console.print(table("decisions", ["when", "policy", "action", "winner", "reason"],
                            [(_ts(r["decided_at"]), r["policy"], r["action"], r["winner"] or "—", r["reason"])
                             for r in decisions.to_dict("records")]))
    console.print(table("audit log", ["#", "when", "who", "action", "why"],
                        [(r["seq"], _ts(r["logged_at"]), r["actor"], r["action"], r["why"])
                         for r in audit.to_dict("records")]))


@experiments_app.command("create", help="Register an experiment from a brief YAML file (state: draft).")
def create_cmd(brief_file: Path = typer.Argument(..., help="Brief YAML."), by: Optional[str] = BY,
               why: Optional[str] = typer.Option(None, "--why", help="Why (default: 'new experiment from FILE')."),
               start: bool = typer.Option(False, "--start", help="Start it straight away."),
               db: Optional[Path] = DB) -> None:
    from ..lifecycle.brief import load_brief
    from ..lifecycle.variant_checks import check_brief_variants
    brief = load_brief(brief_file)
    check = check_brief_variants(brief, file=str(brief_file))
    for p in check.problems:
        err_console.print(f"{p.level}: {p}", highlight=False, markup=False)
    reg = _reg(db)
    who = _by(by)
    reason = why or f"new experiment from {brief_file.name}"
    if start and not check.ok:
        raise InputError([p for p in check.problems if p.level == "blocked"])
    rec = reg.create(brief, by=who, why=reason, brief_yaml=brief_file.read_text(encoding="utf-8"))
    if start:
        rec = reg.transition(brief.id, "start", by=who, why=reason)
    _record_line(rec)


def _transition(action: str, experiment_id: str, by: Optional[str], why: str, db: Optional[Path]) -> Any:
    rec = _reg(db).transition(experiment_id, action, by=_by(by), why=why)
    _record_line(rec)
    return rec


@experiments_app.command("start", help="Start a draft experiment (its variants must pass the policy checks).")
def start_cmd(experiment_id: str = typer.Argument(...), by: Optional[str] = BY, why: str = WHY_REQUIRED,
              db: Optional[Path] = DB) -> None:
    from ..lifecycle.variant_checks import check_brief_variants
    reg = _reg(db)
    check = check_brief_variants(reg.brief(experiment_id))
    for p in check.problems:
        if p.level != "blocked":
            err_console.print(f"{p.level}: {p}", highlight=False, markup=False)
    if not check.ok:
        raise InputError([p for p in check.problems if p.level == "blocked"])
    _transition("start", experiment_id, by, why, db)


@experiments_app.command("pause", help="Put a running experiment on hold.")
def pause_cmd(experiment_id: str = typer.Argument(...), by: Optional[str] = BY, why: str = WHY_REQUIRED,
              db: Optional[Path] = DB) -> None:
    _transition("pause", experiment_id, by, why, db)


@experiments_app.command("resume", help="Resume an experiment on hold.")
def resume_cmd(experiment_id: str = typer.Argument(...), by: Optional[str] = BY, why: str = WHY_REQUIRED,
               db: Optional[Path] = DB) -> None:
    _transition("resume", experiment_id, by, why, db)


@experiments_app.command("stop", help="Stop an experiment (completed); with --winner, record the winner's tags in "
                                      "the learning store and schedule the SKU's next experiment after the cooldown.")
def stop_cmd(experiment_id: str = typer.Argument(...), winner: Optional[str] = typer.Option(None, "--winner"),
             lift: Optional[float] = typer.Option(None, "--lift", help="Relative lift of the winner (0.05 = +5 %)."),
             by: Optional[str] = BY, why: str = WHY_REQUIRED, db: Optional[Path] = DB) -> None:
    from ..lifecycle.learning import stop_and_conclude
    reg = _reg(db)
    stop_and_conclude(reg, experiment_id, winner=winner, lift_rel=lift, by=_by(by), why=why)
    _record_line(reg.get(experiment_id))


@experiments_app.command("archive", help="Archive a draft, completed, promoted or rolled-back experiment.")
def archive_cmd(experiment_id: str = typer.Argument(...), by: Optional[str] = BY, why: str = WHY_REQUIRED,
                db: Optional[Path] = DB) -> None:
    _transition("archive", experiment_id, by, why, db)


def _baseline_from_decisions(reg: Any, experiment_id: str, variant: str) -> Optional[float]:
    d = reg.decisions(experiment_id)
    for rec in reversed(d.to_dict("records")):
        facts = rec["facts"]
        if facts.get("best_variant") == variant and facts.get("variant_value"):
            return float(facts["variant_value"])
    return None


def _lift_from_decisions(reg: Any, experiment_id: str, variant: str) -> Optional[float]:
    d = reg.decisions(experiment_id)
    for rec in reversed(d.to_dict("records")):
        facts = rec["facts"]
        if facts.get("best_variant") == variant and facts.get("primary_lift_rel") is not None:
            return float(facts["primary_lift_rel"])
    return None


@experiments_app.command("promote", help="Start the staged rollout of the winner (25 % → 50 % → 100 % by default).")
def promote_cmd(experiment_id: str = typer.Argument(...),
                variant: Optional[str] = typer.Option(None, "--variant", help="Variant to promote (default: the "
                                                      "winner of the latest decision)."),
                baseline_rate: Optional[float] = typer.Option(None, "--baseline-rate", help="Pre-promotion conversion "
                                                              "rate the monitor compares with (default: the winner's "
                                                              "rate in the latest decision)."),
                stages: Optional[str] = typer.Option(None, "--stages", help="Comma-separated shares, e.g. 0.25,0.5,1."),
                dwell_hours: Optional[float] = typer.Option(None, "--dwell-hours", help="Hours per stage (6-24)."),
                by: Optional[str] = BY, why: str = WHY_REQUIRED, db: Optional[Path] = DB) -> None:
    from ..lifecycle.rollout import plan_rollout, start_rollout
    reg = _reg(db)
    brief = reg.brief(experiment_id)
    d = reg.decisions(experiment_id)
    if variant is None:
        winners = [r["winner"] for r in d.to_dict("records") if r["winner"] and r["winner"] != brief.control]
        if not winners:
            raise InputError([Problem("blocked", "missing_variant", "no decision names a winner yet; give --variant",
                                      column="variant")])
        variant = winners[-1]
    rate = baseline_rate if baseline_rate is not None else _baseline_from_decisions(reg, experiment_id, variant)
    if rate is None:
        raise InputError([Problem("blocked", "missing_baseline", "no recorded decision gives the winner's conversion "
                                  "rate; give --baseline-rate", column="baseline_rate")])
    try:
        st = [float(x) for x in stages.split(",")] if stages else None
    except ValueError:
        raise InputError([Problem("blocked", "bad_rollout", "stages must be numbers separated by commas",
                                  column="stages", value=stages)]) from None
    plan = plan_rollout(experiment_id, variant, control=brief.control, baseline_rate=rate, stages=st,
                        dwell_hours=dwell_hours, lift_rel=_lift_from_decisions(reg, experiment_id, variant))
    status = start_rollout(reg, plan, by=_by(by), why=why)
    console.print(f"{experiment_id}: promoting — {plan.describe()}; stage 1 due {_ts(status.due_at)}", highlight=False)


def _read_timeseries(path: Path) -> pd.DataFrame:
    import pandas as pd
    from ..sources.textfile import check_csv_text, file_format
    parquet = file_format(path) == "parquet"            # by content; missing, empty, not-Parquet refused here
    if not parquet:
        check_csv_text(path, required=("ts", "variant"))  # UTF-8, comma-separated, has rows
    try:
        return pd.read_parquet(path) if parquet else pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise InputError([Problem("blocked", "unreadable_file", "cannot read the time series: "
                                  f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                                  file=str(path))]) from None


@experiments_app.command("advance", help="Check the current rollout stage: roll back on a confirmed conversion drop, "
                                         "move to the next stage once its dwell time is over.")
def advance_cmd(experiment_id: str = typer.Argument(...),
                timeseries: Optional[Path] = typer.Option(None, "--timeseries", help="CSV/Parquet with ts, variant, "
                                                          "units (or impressions), conversions (or purchases); "
                                                          "default: the experiment's events in the database."),
                force: bool = typer.Option(False, "--force", help="Advance without waiting for the dwell time or "
                                           "without a time series."),
                by: Optional[str] = BY, why: str = WHY_REQUIRED, db: Optional[Path] = DB,
                as_json: bool = JSON_OPTION) -> None:
    from ..lifecycle.rollout import advance_rollout
    if timeseries is None and not force:           # the monitor reads the event log itself
        from ..lifecycle.watch import watch_rollout
        r, _ = watch_rollout(_reg(db), experiment_id, db=db, by=_by(by), why=why)
    else:
        frame = _read_timeseries(timeseries) if timeseries else None
        r = advance_rollout(_reg(db), experiment_id, frame=frame, by=_by(by), why=why, force=force)
    if as_json:
        print_json(r.to_dict())
        return
    console.print(f"{experiment_id}: {r.outcome} — {r.reason}", highlight=False)
    if r.monitor is not None:
        console.print(f"monitor: {r.monitor.status} — {r.monitor.reason}", highlight=False)


@experiments_app.command("rollback", help="Send all traffic back to the control and mark the experiment rolled back.")
def rollback_cmd(experiment_id: str = typer.Argument(...), by: Optional[str] = BY, why: str = WHY_REQUIRED,
                 db: Optional[Path] = DB) -> None:
    from ..lifecycle.rollout import rollback
    reg = _reg(db)
    rollback(reg, experiment_id, by=_by(by), why=why)
    _record_line(reg.get(experiment_id))


@experiments_app.command("check", help="Validate a brief file (or a registered experiment's brief) and run the "
                                       "variant policy checks: banned words, exaggerated claims, alt text, contrast.")
def check_cmd(target: str = typer.Argument(..., help="Brief YAML file or experiment id."), db: Optional[Path] = DB,
              as_json: bool = JSON_OPTION) -> None:
    from ..lifecycle.brief import load_brief
    from ..lifecycle.variant_checks import check_brief_variants
    p = Path(target)
    brief = load_brief(p) if p.suffix.lower() in (".yaml", ".yml") or p.exists() else _reg(db).brief(target)
    report = check_brief_variants(brief, file=str(p) if p.exists() else None)
    if as_json:
        print_json({"brief": brief.to_dict(), "variant_checks": report.to_dict()})
    else:
        console.print(f"{brief.id}: brief valid; minimum sample {fmt_num(brief.min_sample_size)} per arm "
                      f"({brief.min_sample_size_source}); variant checks {report.status}", highlight=False)
        for prob in report.problems:
            console.print(f"  {prob.level}: {prob}", highlight=False, markup=False)
    if not report.ok:
        raise typer.Exit(1)


@experiments_app.command("audit", help="The append-only audit log (all experiments or one); --verify checks the "
                                       "hash chain.")
def audit_cmd(experiment_id: Optional[str] = typer.Argument(None), verify: bool = typer.Option(False, "--verify"),
              limit: int = typer.Option(50, "--limit", min=1), db: Optional[Path] = DB,
              as_json: bool = JSON_OPTION) -> None:
    reg = _reg(db)
    if verify:
        check = reg.verify_audit()
        if as_json:
            print_json(check.to_dict())
        else:
            console.print(check.message, highlight=False)
        if not check.ok:
            raise typer.Exit(1)
        return
    df = reg.audit(experiment_id, limit=limit)
    if as_json:
        print_json(df.to_dict("records"))
        return
    console.print(table("audit log", ["#", "when", "who", "action", "experiment", "why"],
                        [(r["seq"], _ts(r["logged_at"]), r["actor"], r["action"], r["experiment_id"] or "—", r["why"])
                         for r in df.to_dict("records")]))


# --- decide ----------------------------------------------------------------------------------------
def _apply(reg: Any, decision: Any, *, by: str) -> str:
    """Carry out a decision's action on the registry; returns what was done."""
    from ..lifecycle.learning import stop_and_conclude
    from ..lifecycle.rollout import plan_rollout, rollback, start_rollout
    rec = reg.get(decision.experiment_id)
    why = f"decision {decision.rule}: {decision.reason}"
    a = decision.action
    if a == "hold" and rec.state == "running":
        reg.transition(rec.experiment_id, "pause", by=by, why=why,
                       detail={"cause": "promotion_period" if decision.rule == "promotion-period" else "decision"})
        return "paused"
    if a == "rollback" and rec.state in ("running", "hold", "completed", "promoting", "promoted"):
        rollback(reg, rec.experiment_id, by=by, why=why)
        return "rolled back"
    if a in ("launch", "promote") and rec.state in ("running", "completed") and decision.winner:
        brief = reg.brief(rec.experiment_id)
        rate = decision.facts.get("variant_value")
        if not (rate is not None and 0 < rate < 1):
            return (f"no rollout started: the primary metric is not a rate; run `workbench experiments promote "
                    f"{rec.experiment_id} --baseline-rate R`")
        plan = plan_rollout(rec.experiment_id, decision.winner, control=brief.control, baseline_rate=float(rate),
                            lift_rel=decision.facts.get("primary_lift_rel"))
        start_rollout(reg, plan, by=by, why=why)
        return f"rollout started: {plan.describe()}"
    if a == "stop" and rec.state in ("running", "hold"):
        stop_and_conclude(reg, rec.experiment_id, winner=decision.winner,
                          lift_rel=decision.facts.get("primary_lift_rel")
                          if decision.winner and decision.winner != decision.facts.get("control") else None,
                          by=by, why=why)
        return "stopped"
    return "nothing to change"


def decide_cmd(experiment_id: str = typer.Argument(..., help="Registered experiment id."),
               result: Optional[Path] = typer.Option(None, "--result", help="Saved analysis (.json) or aggregated "
                                                     "results file to decide on; default: analyse the event log."),
               policy: Optional[str] = typer.Option(None, "--policy", help="Policy name (default: the brief's)."),
               apply: bool = typer.Option(False, "--apply", help="Carry the action out: hold → pause, rollback → "
                                          "roll back, launch/promote → start the staged rollout, stop → complete."),
               record: bool = typer.Option(True, "--record/--no-record", help="Record the decision in the registry."),
               as_of: Optional[str] = typer.Option(None, "--as-of", help="Decide as of this time (default: the data's latest event)."),
               memo: Optional[Path] = typer.Option(None, "--memo", help="Also write the decision memo (.md/.html)."),
               by: Optional[str] = BY, db: Optional[Path] = DB, as_json: bool = JSON_OPTION,
               mlflow: Optional[str] = MLFLOW_OPTION) -> None:
    from ..lifecycle.inputs import analyze_experiment, analyze_file
    from ..lifecycle.memo import ACTING, build_memo, write_memo
    from ..lifecycle.policies import decide
    from ..lifecycle.signals import decision_context
    reg = _reg(db)
    rec = reg.get(experiment_id)
    brief = reg.brief(experiment_id)
    when = _parse_time(as_of, "as_of")
    res = (analyze_file(result, brief=brief) if result else
           analyze_experiment(experiment_id, brief=brief, db=reg.path, as_of=when))
    if res.experiment_id != experiment_id:
        res = _rename(res, experiment_id)
    ctx = decision_context(reg, experiment_id, now=when, data_as_of=res.as_of, data_version=res.data_version)
    d = decide(res, brief=brief, policy=policy, context=ctx)
    who = _by(by)
    done = None
    if record:
        reg.record_decision(d, by=who)
    if apply:
        done = _apply(reg, d, by=who)
    the_memo = build_memo(res, d, brief=brief, record=rec, context=ctx)
    if memo is not None:
        write_memo(the_memo, memo)
    allocation = None
    if (as_json or mlflow is not None) and brief is not None and brief.allocation.mode == "bandit":
        from ..bandits.history import allocation_history     # a bandit's latest logged decision
        allocation = allocation_history(experiment_id, db=reg.path, as_of=when or res.as_of).current
    if mlflow is not None:
        from ..tracking import summary_of
        log_mlflow(summary_of(res, d, record=rec, brief=brief, allocation=allocation, as_of=as_of), mlflow,
                   brief=brief, brief_source=f"registry:{experiment_id}" if result is None else str(result),
                   artifacts=[memo] if memo is not None else [])
    if as_json:
        from ..story import ExperimentStory
        print_json({**d.to_dict(), "applied": done, "risks": the_memo.items("Risks and limitations"),
                    **({"aa": res.aa.to_dict()} if res.aa is not None else {}),
                    "story": ExperimentStory.from_parts(res, d, allocation=allocation).to_dict()})
        return
    console.print(f"{experiment_id}: [bold]{fmt_action(d.action).upper()}[/] ({d.policy} / {d.rule})", highlight=False)
    for i, r in enumerate(d.reasons):
        console.print(("  " if i == 0 else "  also: ") + r, highlight=False, markup=False)
    from ..story import time_sentences
    if d.decided_by:
        console.print(f"  decided by: {d.decided_by}", highlight=False, markup=False)
    for sentence in time_sentences(res):
        console.print(f"  time: {sentence}", highlight=False, markup=False)
    if d.action in ACTING:                      # before acting on it: the memo's and the report's risks
        for risk in the_memo.items("Risks and limitations"):
            console.print(f"  risk: {risk}", highlight=False, markup=False, soft_wrap=True)
    if done:
        console.print(f"applied: {done}", highlight=False)
    if memo is not None:
        console.print(f"memo: {memo}", highlight=False)


def _rename(res: Any, experiment_id: str) -> Any:
    from dataclasses import replace
    return replace(res, experiment_id=experiment_id)


# --- memo ------------------------------------------------------------------------------------------
def memo_cmd(file: Optional[Path] = typer.Argument(None, help="Aggregated results (CSV), a saved analysis (.json) "
                                                        "or a registered experiment's id (as --experiment)."),
             experiment: Optional[str] = typer.Option(None, "--experiment", "-e", help="A registered experiment."),
             out: Path = typer.Option(..., "-o", "--out", help="memo.md or memo.html"),
             policy: Optional[str] = typer.Option(None, "--policy", help="Policy name (default: the brief's, else "
                                                  "decision-layer)."),
             brief_file: Optional[Path] = typer.Option(None, "--brief", help="Brief YAML for a file input."),
             db: Optional[Path] = DB) -> None:
    from ..lifecycle.brief import load_brief
    from ..lifecycle.inputs import analyze_experiment, analyze_file
    from ..lifecycle.memo import build_memo, write_memo
    if (file is None) == (experiment is None):
        raise InputError([Problem("blocked", "bad_arguments", "give either a FILE or --experiment ID (not both)",
                                  column="file")])
    if out.suffix.lower() not in (".md", ".markdown", ".html", ".htm"):
        raise InputError([Problem("blocked", "bad_format", "the memo is written as .md or .html", file=str(out),
                                  value=out.suffix or "(no suffix)")])
    brief = load_brief(brief_file) if brief_file else None
    record = ctx = None
    with file_or_experiment(file, experiment) as (file, experiment):
        if experiment is not None:
            from ..lifecycle.signals import decision_context
            reg = _reg(db)
            record = reg.get(experiment)
            brief = brief or reg.brief(experiment)
            res = analyze_file(file, brief=brief) if file else analyze_experiment(experiment, brief=brief, db=reg.path)
            ctx = decision_context(reg, experiment, data_as_of=res.as_of, data_version=res.data_version)
        else:
            assert file is not None
            res = analyze_file(file, brief=brief)
    memo = build_memo(res, brief=brief, record=record, context=ctx, policy=policy)
    path = write_memo(memo, out)
    console.print(f"{fmt_action(memo.decision.action).upper()}: {memo.decision.reason}", highlight=False, markup=False)
    console.print(f"memo written to {path}", highlight=False)
