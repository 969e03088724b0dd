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
# # A/B test or bandit?
#
# A fixed 50/50 (or 1/K) split learns evenly but keeps sending users to losing variants until the
# test ends. A bandit (Thompson sampling, UCB1) moves traffic towards the better arm while it
# learns, so fewer conversions are lost (*regret*) — at the price of less data on the losers.
# Policies here follow the workbench's allocation rules: each arm keeps at least the exploration
# floor, and weights move only after a warm-up. All numbers come from `workbench.bandits`.

# %% tags=["parameters"]
true_rates = [0.040, 0.050, 0.045]
variants = ["control", "b", "c"]
rounds = 100_000
reps = 200
seed = 20261121

# %%
import hvplot.pandas  # noqa: F401
import numpy as np
import pandas as pd

from workbench.bandits import allocate, posterior_densities, simulate_policies

sim = simulate_policies(true_rates, rounds=rounds, reps=reps, seed=seed, variants=variants)
sim.summary().round(3)

# %% [markdown]
# ## Regret: conversions lost against always showing the best arm
#
# Mean over replications, with the 10–90 % band.

# %%
curves = sim.to_frame()
band = curves.hvplot.area(x="round", y="regret_lo", y2="regret_hi", by="policy", alpha=0.2, stacked=False,
                          legend=False)
(band * curves.hvplot.line(x="round", y="regret", by="policy")).opts(
    title="Cumulative regret", ylabel="lost conversions", height=350, width=700)

# %% [markdown]
# ## Where the traffic went
#
# Share of users each arm received between checkpoints (mean over replications).

# %%
traffic = sim.traffic()
traffic.hvplot.area(x="round", y="share", by="variant", groupby="policy", stacked=True, ylim=(0, 1),
                    title="Traffic share over time", height=350, width=700, dynamic=False)

# %% [markdown]
# ## Time to a correct decision
#
# A decision is taken when the truly best arm reaches P(best) ≥ 95 %. The bandit decides on
# similar numbers of users while losing far fewer conversions on the way.

# %%
dec = pd.DataFrame({"policy": np.repeat(sim.policies, sim.reps), "users": sim.decision_rounds().ravel()})
dec.dropna().hvplot.box(y="users", by="policy", title="Users until a correct decision", height=320, width=500)

# %% [markdown]
# ## Posterior densities per arm after one Thompson run
#
# The allocation plan the bandit would serve next, from one replication's counts, with each arm's
# Beta posterior.

# %%
pulls = sim.pulls[sim.policies.index("thompson"), 0, -1]
rng = np.random.default_rng(seed)
conversions = rng.binomial(pulls.astype(int), true_rates)
counts = pd.DataFrame({"variant": variants, "units": pulls, "conversions": conversions})
plan = allocate(counts, experiment_id="simulated-bandit", seed=seed, now="2026-01-01T00:00:00+00:00")
print("\n".join(plan.explain()))
posterior_densities(plan).hvplot.line(x="rate", y="density", by="variant", title="Posterior of each arm's rate",
                                      height=320, width=700)
