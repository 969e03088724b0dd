"""CLI commands of bandits and hierarchical models: assign, allocate, bandit-sim, bandit-log, cold-start."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ..config import Settings
from ..display import dumps, fmt_count, fmt_elapsed, fmt_fixed, fmt_lift, fmt_num, fmt_pct, fmt_share
from ..errors import InputError, Problem
from ..files import write_text_atomic
from ..ids import safe_id
from ._common import JSON_OPTION, console, engine_options, print_json, table

__all__ = ["register"]

if TYPE_CHECKING:
    import pandas as pd

# --help shows the built-in defaults as values (a settings file may change them)
_BANDIT = Settings().bandit
_SEED = Settings().seed


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("assign", help="Assign user keys to variants exactly as GrowthBook's SDKs would (FNV-1a hash "
                "v1/v2, weights, coverage). Reads keys from a file or stdin; prints key,bucket,variant CSV.")(assign_cmd)
    app.command("allocate", help="Next allocation plan (weights per variant, with reasons) from per-arm counts: "
                "Thompson sampling, UCB1 or a fixed split, with an exploration floor and warm-up. Shows it beside the "
                "current (latest logged) allocation; logs it as the new current one unless --no-log; prints or "
                "writes the plan as JSON for the serving system.")(engine_options(allocate_cmd))
    app.command("bandit-sim", help="Simulate a fixed A/B split against Thompson sampling and UCB1 on given true "
                "conversion rates: regret, conversions, traffic to the best arm, time to a correct decision.")(sim_cmd)
    app.command("bandit-log", help="Why the bandit did this: the current allocation (latest logged decision as of "
                "the data's as-of) and the logged allocation decisions of an experiment.")(log_cmd)
    app.command("cold-start", help="Hierarchical estimates for many low-traffic SKUs in categories: shrunken rates "
                "and lifts per SKU, and the prior a brand-new SKU of each category starts from.")(cold_start_cmd)


def _floats(text: str, name: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError([Problem("blocked", "bad_option", f"{name} must be comma-separated numbers",
                                  column=name, value=text)]) from None
    if not values:
        raise InputError([Problem("blocked", "bad_option", f"{name} is empty", column=name, value=text)])
    return values


def _read_keys(source: str, column: Optional[str]):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if source == "-":
        lines = sys.stdin.read().splitlines()
        return pa.array(lines, type=pa.large_string()), "stdin"
    from ..sources.textfile import file_format

    path = Path(source)
    if not path.exists():
        raise InputError([Problem("blocked", "missing_file", "the keys file does not exist", file=source)])
    suffix = ".parquet" if file_format(path) == "parquet" else path.suffix.lower()     # Parquet by content
    if suffix in (".csv", ".parquet", ".pq"):
        try:
            tbl = (pq.read_table(path) if suffix != ".csv" else
                   pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=False)))
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError([Problem("blocked", "bad_file", f"cannot read: {str(exc).splitlines()[0]}",
                                      file=source)]) from None
        if suffix == ".csv" and any(pa.types.is_binary(f.type) for f in tbl.schema):
            raise InputError([Problem("blocked", "not_utf8", "the keys file is not UTF-8 text; save it as UTF-8",
                                      file=source)])
        name = column or ("user_key" if "user_key" in tbl.column_names else tbl.column_names[0])
        if name not in tbl.column_names:
            raise InputError([Problem("blocked", "missing_column", f"no column {name!r}; columns: "
                                      f"{', '.join(tbl.column_names)}", file=source, column=name)])
        return tbl.column(name), source
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([Problem("blocked", "not_utf8", f"the keys file is not UTF-8 text (byte offset {exc.start}); "
                                  "save it as UTF-8", file=source)]) from None
    return pa.array(text.splitlines(), type=pa.large_string()), source


def assign_cmd(
    keys: str = typer.Argument(..., help="File of user keys: one per line, or a CSV/Parquet column; '-' for stdin."),
    seed: str = typer.Option(..., "--seed", help="Experiment seed (GrowthBook uses the experiment key by default)."),
    variants: Optional[str] = typer.Option(None, "--variants", help="Variant names in order, e.g. control,b."),
    weights: Optional[str] = typer.Option(None, "--weights", help="Weights in variant order, e.g. 0.5,0.5 "
                                          "(default: equal)."),
    coverage: float = typer.Option(1.0, "--coverage", help="Share of users in the experiment (0-1)."),
    hash_version: int = typer.Option(2, "--hash-version", help="GrowthBook hash version: 1 or 2."),
    column: Optional[str] = typer.Option(None, "--column", help="Column of a CSV/Parquet file holding the keys "
                                         "(default user_key, else the first)."),
    summary: bool = typer.Option(False, "--summary", help="Print only the count and share per variant."),
    json_: bool = JSON_OPTION,
) -> None:
    """Deterministic, sticky assignment compatible with GrowthBook: the same key always gets the same variant."""
    import numpy as np
    import pandas as pd

    from ..bandits.hashing import assign

    arrow, source = _read_keys(keys, column)
    names = [v.strip() for v in variants.split(",")] if variants else None
    w = _floats(weights, "--weights") if weights else None
    if names is None:
        names = [str(i) for i in range(len(w) if w else 2)]
    if w is not None and len(w) != len(names):
        raise InputError([Problem("blocked", "bad_option", f"{len(w)} weights for {len(names)} variants",
                                  column="--weights")])
    result = assign(arrow, seed=seed, weights=w or [1.0 / len(names)] * len(names), coverage=coverage,
                    hash_version=hash_version)
    labels = np.array(names + ["(not in experiment)"], dtype=object)[result.variation]
    if summary or json_:
        counts = pd.Series(labels).value_counts()
        rows = [{"variant": v, "keys": int(counts.get(v, 0)), "share": float(counts.get(v, 0) / max(len(labels), 1))}
                for v in [*names, "(not in experiment)"]]
        if json_:
            print_json({"source": source, "seed": seed, "hash_version": hash_version, "coverage": coverage,
                        "ranges": [list(r) for r in result.ranges], "variants": rows})
        else:
            console.print(table(f"Assignment of {fmt_count(len(labels))} keys (seed {seed!r}, hash v{hash_version})",
                                ["variant", "keys", "share"],
                                [(r["variant"], fmt_count(r['keys']), fmt_pct(r["share"])) for r in rows]))
        return
    out = pd.DataFrame({"key": arrow.to_pandas() if hasattr(arrow, "to_pandas") else list(arrow),
                        "bucket": result.bucket, "variant": labels})
    out.to_csv(sys.stdout, index=False)


def _counts(data, segment_by: Optional[str], what: str) -> pd.DataFrame:
    """Per-arm (and per-segment) units and conversions of the primary metric of ``data``."""
    import pandas as pd
    metric = data.primary
    if metric is None or metric.kind != "proportion":
        raise InputError([Problem("blocked", "not_a_proportion", f"{what}: the primary metric must be a proportion "
                                  "(conversions per unit) for a bandit", column="metric")])
    if segment_by:
        if segment_by not in data.dims:
            raise InputError([Problem("blocked", "missing_column", f"{what} has no dimension {segment_by!r}; it has "
                                      f"{', '.join(data.dims) or 'none'}", column=segment_by)])
        levels, s = data.stats_by(metric, segment_by, use_covariate=False)
        rows = [{"variant": v, segment_by: lvl, "units": s.n[i, k], "conversions": s.sum[i, k]}
                for i, lvl in enumerate(levels) for k, v in enumerate(data.variants)]
        return pd.DataFrame(rows)
    s = data.stats(metric, use_covariate=False)
    return pd.DataFrame({"variant": list(data.variants), "units": s.n, "conversions": s.sum})


def _counts_from_experiment(experiment: str, segment_by: Optional[str], as_of=None) -> tuple[pd.DataFrame, object]:
    """Per-arm (optionally per-segment) counts of an experiment in the database, and its data's as-of."""
    from ..sources.experiments import load_experiment

    data = load_experiment(experiment, as_of=as_of)
    return _counts(data, segment_by, f"experiment {experiment!r}"), data.as_of


def _counts_from_file(results: Path, segment_by: Optional[str],
                     experiment: Optional[str] = None) -> tuple[pd.DataFrame, str]:
    """Counts from a results file through the reader of analyze/check/memo (same formats, same checks)."""
    from ..sources.detect import read_results, require_usable

    data = require_usable(read_results(results, experiment=experiment, segment=segment_by))
    return _counts(data, segment_by, str(results)), data.experiment_id


def allocate_cmd(
    results: Optional[Path] = typer.Argument(None, help="Aggregated results (CSV or Parquet, as for analyze): "
                                             "variant, users (or units, n), conversions [, a segment column]."),
    experiment: Optional[str] = typer.Option(None, "--experiment", help="Experiment id: its counts come from the "
                                             "workbench database; also names the plan."),
    policy: str = typer.Option("thompson", "--policy", help="thompson, ucb or fixed."),
    floor: Optional[float] = typer.Option(None, "--floor", help="Minimum traffic share per arm "
                                          f"(default {fmt_share(_BANDIT.min_exploration_share)})."),
    min_units: Optional[float] = typer.Option(None, "--min-units", help="Weights move only once every arm has this "
                                              f"many units (default {fmt_count(_BANDIT.min_units_per_arm)})."),
    segment_by: Optional[str] = typer.Option(None, "--segment-by", help="Per-segment (contextual) weights by this "
                                             "column, e.g. device or channel."),
    prior: Optional[str] = typer.Option(None, "--prior", help="Beta prior 'a,b' for every arm (cold start)."),
    category_priors: Optional[Path] = typer.Option(None, "--category-priors", help="SKU CSV (sku, category, "
                                                   "variant, n, conversions): fit category priors (empirical Bayes) "
                                                   "and use the one of --category."),
    category: Optional[str] = typer.Option(None, "--category", help="Category whose prior to use."),
    weights: Optional[str] = typer.Option(None, "--weights", help="Fixed split for --policy fixed, e.g. 0.5,0.5."),
    previous: Optional[Path] = typer.Option(None, "--previous", help="Previous plan JSON (weights held during "
                                            "warm-up, changes reported); default: the last logged plan."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the Monte Carlo P(best) "
                                     f"(default {_SEED})."),
    log: bool = typer.Option(True, "--log/--no-log", help="Record the decision in the allocation_log table: it "
                             "becomes the current allocation every view shows (--no-log: only a proposal)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="With --experiment alone: the counts and the current "
                                        "allocation as the data stood then (ISO date/time; default: the data's "
                                        "latest event)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the serving JSON to this file (atomically)."),
    serving: bool = typer.Option(False, "--serving", help="Print only the serving JSON (weights, hash, ranges)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Next traffic weights for a bandit experiment, with the reasons, as JSON a serving system can read."""
    from ..bandits.history import allocation_history, naive_utc
    from ..bandits.log import logged_plan, record_plan
    from ..bandits.plan import allocate, plan_from_json
    from ..errors import NotFoundError
    from ..reports.keys import parse_as_of

    if results is None and experiment is None:
        raise InputError([Problem("blocked", "no_input", "give a results CSV or --experiment")])
    data_as_of = None
    if experiment is not None:
        safe_id(experiment, column="--experiment")
    if results is not None:
        counts, file_id = _counts_from_file(results, segment_by, experiment)
        experiment_id = experiment or file_id
    else:
        assert experiment is not None
        counts, data_as_of = _counts_from_experiment(experiment, segment_by, parse_as_of(as_of))
        experiment_id = experiment
    beta_prior = None
    if prior:
        vals = _floats(prior, "--prior")
        if len(vals) != 2:
            raise InputError([Problem("blocked", "bad_option", "--prior needs 'a,b'", column="--prior", value=prior)])
        beta_prior = (vals[0], vals[1])
    if category_priors is not None:
        from ..hierarchical import category_beta_priors
        from ..hierarchical.data import read_sku_file
        priors = category_beta_priors(read_sku_file(category_priors))
        key = category if category in priors else "*"
        beta_prior = priors[key]
    # the current allocation, as every view reads it: the latest decision logged by the data's as-of
    current = allocation_history(experiment_id, as_of=data_as_of)
    prev = None
    if previous is not None:
        if not previous.exists():
            raise InputError([Problem("blocked", "missing_file", "the previous plan does not exist",
                                      file=str(previous))])
        try:
            prev = plan_from_json(previous.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise InputError([Problem("blocked", "not_utf8", "the previous plan is not UTF-8 JSON text",
                                      file=str(previous))]) from None
        except InputError as err:
            raise InputError([replace(p, file=p.file or str(previous)) for p in err.problems]) from None
    else:
        try:
            prev = logged_plan(experiment_id, current.current_decision) if current.current_decision else None
        except NotFoundError:
            prev = None
        if prev is not None and set(prev.variants) != set(counts["variant"].astype(str)):
            prev = None
    plan = allocate(counts, experiment_id=experiment_id, policy=policy, floor=floor, min_units=min_units,
                    previous=prev, fixed_weights=_floats(weights, "--weights") if weights else None,
                    prior=beta_prior, segment_by=segment_by, seed=seed,
                    now=naive_utc(data_as_of).replace(tzinfo=dt.timezone.utc) if data_as_of is not None else None,
                    file=str(results) if results is not None else None)
    if log and data_as_of is not None and current.current_at == naive_utc(data_as_of) \
            and plan.decision_id != current.current_decision:
        from ..errors import ConflictError
        raise ConflictError(f"a decision is already logged for {experiment_id} as of the data's "
                            f"{current.current_at:%Y-%m-%d %H:%M:%S} UTC ({current.current_decision}); the data has "
                            "not changed since — use --no-log to see another proposal")
    if log:
        record_plan(plan)
    if out is not None:
        write_text_atomic(out, dumps(plan.serving(), indent=2) + "\n")
    if serving:
        print_json(plan.serving())
    elif json_:
        print_json({**plan.to_dict(), "logged": log, "current": current.to_dict() | {"decisions": None}})
    else:
        for line in _plan_lines(plan, current, logged=log):
            console.print(line, highlight=False, markup=False)


def _plan_lines(plan, current, *, logged: bool) -> list[str]:
    """The current allocation, then the new plan said to be either logged (now current) or only proposed."""
    from ..bandits.history import fmt_weights

    lines = [current.sentence()]
    new = fmt_weights(plan.weights_by_variant())
    if logged:
        lines.append(f"New allocation, logged as decision {plan.decision_id} (now the current one): {new}")
    else:
        lines.append(f"Proposed next allocation (not logged; the current allocation stays as above): {new}")
    return lines + plan.explain()


def sim_cmd(
    rates: str = typer.Option(..., "--rates", help="True conversion rate of each arm, e.g. 0.04,0.05,0.045."),
    rounds: int = typer.Option(100_000, "--rounds", help="Users per replication."),
    reps: int = typer.Option(200, "--reps", help="Replications."),
    policies: str = typer.Option("ab,thompson,ucb", "--policies", help="Any of ab, thompson, ucb."),
    batch: int = typer.Option(1, "--batch", help="Users between policy updates (1 = learn after every user)."),
    floor: Optional[float] = typer.Option(None, "--floor", help="Exploration floor per arm "
                                          f"(default {fmt_share(_BANDIT.min_exploration_share)})."),
    min_units: Optional[float] = typer.Option(None, "--min-units", help="Warm-up units per arm (default "
                                              f"{fmt_count(_BANDIT.min_units_per_arm)})."),
    seed: Optional[int] = typer.Option(None, "--seed", help=f"Seed (default {_SEED})."),
    json_: bool = JSON_OPTION,
) -> None:
    """Fixed A/B vs Thompson vs UCB on known rates: which policy loses fewer conversions, and how fast each decides."""
    from ..bandits.simulate import simulate_policies

    sim = simulate_policies(_floats(rates, "--rates"), policies=[p.strip() for p in policies.split(",") if p.strip()],
                            rounds=rounds, reps=reps, batch=batch, floor=floor, min_units=min_units, seed=seed)
    if json_:
        print_json(sim.to_dict())
        return
    s = sim.summary()
    rows = [(r.policy, f"{fmt_fixed(r.regret, 1)} ± {fmt_fixed(r.regret_se, 1)}", fmt_pct(r.conversion_rate, 3), fmt_pct(r.best_arm_share, 1),
             fmt_count(r.median_rounds_to_decision),
             fmt_share(r.decided_share), fmt_share(r.wrong_decision_share), fmt_elapsed(r.seconds, suffix=False))
            for r in s.itertuples()]
    console.print(table(f"{reps} replications × {fmt_count(rounds)} users, true rates {rates}",
                        ["policy", "regret (lost conversions)", "conversion", "to best arm", "users to decide",
                         "decided", "wrong", "seconds"], rows,
                        caption=sim.setup_sentence()))


def log_cmd(
    experiment: str = typer.Argument(..., help="Experiment id."),
    last: int = typer.Option(5, "--last", help="How many of the latest decisions."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="The log as it stood then (ISO date/time; default: the "
                                        "data's as-of, i.e. its latest event, else the whole log)."),
    json_: bool = JSON_OPTION,
) -> None:
    """The current allocation of an experiment (its latest logged decision) and the latest decisions' reasons."""
    from ..bandits.history import allocation_history, data_as_of
    from ..bandits.log import explain_decisions
    from ..errors import NotFoundError
    from ..reports.keys import parse_as_of

    at = parse_as_of(as_of) or data_as_of(experiment)
    history = allocation_history(experiment, as_of=at)
    if history.empty:
        cut = f" as of {at:%Y-%m-%d %H:%M} UTC" if at is not None else ""
        raise NotFoundError(f"no logged allocation for experiment {experiment!r}{cut} — `workbench allocate "
                            "--experiment ID` computes and logs one")
    if json_:
        print_json(history.to_dict() | {"decisions": history.last(last)})
        return
    console.print(history.sentence(), highlight=False, markup=False)
    for line in explain_decisions(experiment, last=last, until=at):
        console.print(line, highlight=False, markup=False)


def cold_start_cmd(
    skus: Path = typer.Argument(..., help="CSV or Parquet: sku, category, variant, n (or units), conversions."),
    fast: bool = typer.Option(False, "--fast", help="Empirical-Bayes fast path (milliseconds) instead of the full "
                              "PyMC model."),
    sampler: Optional[str] = typer.Option(None, "--sampler", help="nutpie (default), nutpie-pytensor or pymc."),
    draws: Optional[int] = typer.Option(None, "--draws", help="Posterior draws per chain (default: as many as the diagnostics ask for)."),
    control: Optional[str] = typer.Option(None, "--control", help="Control variant name (default 'control', else "
                                          "each SKU's first row)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the per-SKU table to this CSV (atomically)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Category-pooled estimates per SKU (shrunken rates, lift, P(variant > control)) and new-SKU priors."""
    from ..hierarchical import fit_empirical_bayes, fit_hierarchical

    from ..hierarchical.data import read_sku_file

    data = read_sku_file(skus, control=control)
    result = fit_empirical_bayes(data) if fast else fit_hierarchical(data, sampler=sampler, draws=draws)
    if out is not None:
        write_text_atomic(out, result.to_frame().to_csv(index=False))
    if json_:
        print_json(result)
        return
    console.print(result.summary_line(), highlight=False, markup=False)
    if result.diagnostics is not None:
        d = result.diagnostics
        console.print(f"diagnostics: sampler {d.sampler} ({d.parameterisation}), max r_hat {fmt_num(d.max_rhat_lifts, 4)} "
                      f"(lifts) / {fmt_num(d.max_rhat_all, 4)} (all), min bulk ESS {fmt_count(d.min_ess_bulk_lifts)}, "
                      f"divergences {d.divergences}, {fmt_elapsed(d.sample_seconds)} sampling", highlight=False, markup=False)
    top = sorted(result.skus, key=lambda s: -s.prob_beat_control)[:15]
    console.print(table("SKUs most likely to benefit (" + result.interval + ")",
                        ["sku", "category", "variant", "units", "control rate", "lift", "interval", "P(better)"],
                        [(s.sku, s.category, s.variant, fmt_count(s.n_control + s.n_variant), fmt_pct(s.control_rate),
                          fmt_lift(s.lift_rel),
                          f"[{fmt_pct(s.lift_rel_ci[0])}, {fmt_pct(s.lift_rel_ci[1])}]",
                          fmt_pct(s.prob_beat_control, 1)) for s in top]))
    console.print(table("Prior for a brand-new SKU, per category",
                        ["category", "SKUs", "rate", "interval", "Beta(a, b)", "lift"],
                        [(c.category, c.n_skus, fmt_pct(c.rate_mean), f"[{fmt_pct(c.rate_ci[0])}, "
                          f"{fmt_pct(c.rate_ci[1])}]", f"({fmt_num(c.beta_a, 4)}, {fmt_num(c.beta_b, 4)})",
                          fmt_lift(c.lift_rel_mean)) for c in result.categories]))
