# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (workbench)
#     language: python
#     name: workbench
# ---

# %% [markdown]
# # Planning: the brief and its sample size
#
# Before an experiment starts, its brief says what it tests, how success is measured and how many
# units it needs. The power calculator turns a baseline rate and the smallest lift worth detecting
# (the MDE) into units per arm and, with the page's daily traffic, into days. This notebook takes
# the baseline and traffic from the sample world (`make demo` writes it to `data/workbench.duckdb`; on a
# fresh clone without it, `sample_database()` generates a small one into the temporary folder first).

# %%
import holoviews as hv
import pandas as pd

from workbench.display import fmt_count, fmt_lift, fmt_rate, fmt_share
from workbench.lifecycle import parse_brief
from workbench.notebook import sample_database
from workbench.sources.experiments import load_experiment
from workbench.reports.roi import daily_traffic
from workbench.stats import mde, power_at, sample_size

hv.extension("bokeh", logo=False)

# %% [markdown]
# ## Baseline and traffic from a running experiment on a similar page

# %%
reference = load_experiment("pdp-shoes-hero", db=sample_database())
baseline = float(reference.stats("cvr", use_covariate=False).mean[0])
daily_units, _, days_observed = daily_traffic(reference.units_per_day())
print(f"control conversion {fmt_rate(baseline)}; {fmt_count(daily_units)} new units a day over {days_observed} full days")

# %% [markdown]
# ## Units needed for a 10 % relative lift

# %%
plan = sample_size(baseline, 0.10, relative=True, alpha=0.05, power=0.8, arms=2, daily_units=daily_units)
print(plan.summary())
plan

# %% [markdown]
# ## The trade-off: smaller effects need many more days

# %%
grid = pd.DataFrame([sample_size(baseline, m, daily_units=daily_units).to_dict() for m in
                     (0.04, 0.05, 0.06, 0.08, 0.10, 0.12, 0.15, 0.20)])
grid[["mde_rel", "n_per_arm", "n_total", "days"]]

# %%
hv.Curve(grid, "mde_rel", "days").opts(xlabel="relative MDE", ylabel="days at today's traffic", width=600,
                                        height=280, tools=["hover"], title="Duration by minimum detectable effect")

# %% [markdown]
# What a fixed duration buys: the smallest lift two weeks can detect, and the power a 10 % lift
# would have with only one week of traffic.

# %%
two_weeks = mde(baseline, n_per_arm=daily_units * 14 / 2)
one_week_power = power_at(baseline, 0.10, n_per_arm=daily_units * 7 / 2)
print(f"two weeks detect a {fmt_lift(two_weeks.mde_rel)} relative lift; a +10% lift has {fmt_share(one_week_power)} power "
      "after one week")

# %% [markdown]
# ## The brief
#
# The brief is validated data: with `baseline_rate` and `mde` (and no `min_sample_size`) the
# workbench fills in the sample size with the same calculator, so the plan and the brief agree.

# %%
brief = parse_brief({
    "id": "pdp-shoes-reviews-v2", "name": "Shoes PDP: reviews above the fold",
    "hypothesis": "Showing reviews above the fold answers fit questions and lifts purchases.",
    "owner": "growth-team", "primary_metric": "cvr", "secondary_metrics": ["ctr", "revenue_per_user"],
    "guardrails": ["lcp", "error_rate"], "targeting": {"categories": ["shoes"]},
    "variants": [{"id": "control"}, {"id": "reviews-top", "meta": {"layout": "reviews-first"}}],
    "baseline_rate": round(baseline, 4), "mde": 0.10, "max_duration_days": 28,
})
assert brief.min_sample_size == sample_size(round(baseline, 4), 0.10).n_per_arm
print(brief.to_yaml())
