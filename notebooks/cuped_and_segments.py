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
# # CUPED and segments
#
# Two ways to learn more from the same experiment:
#
# * **CUPED** removes the part of each unit's outcome that its pre-experiment behaviour predicts
#   (θ = pooled cov(Y, X) / var(X)), which shrinks the variance of the lift without biasing it — the
#   same units give a narrower interval;
# * **segments** (device, channel, new vs returning) show where the effect is larger — exploratory,
#   corrected across segments, with a heterogeneity test and a Simpson's-paradox check.
#
# Data: the sample world that `make demo` writes (or the database `WORKBENCH_DB` names). On a fresh
# clone without it, `sample_database()` generates a small sample world into the temporary folder
# first (a few seconds), so the notebook runs top to bottom either way.

# %%
import pandas as pd
import panel as pn
from bokeh.io import output_notebook, show

from workbench.analysis import analyze, analyze_segments
from workbench.display import fmt_p_eq, fmt_share
from workbench.notebook import explore, sample_database
from workbench.reports import plots, views
from workbench.sources.experiments import load_experiment

pn.extension()                          # the dashboard's views (explore)
output_notebook(hide_banner=True)       # the report's plots are Bokeh figures: show(...) draws them
db = sample_database()
data = load_experiment("pdp-shoes-hero", db=db)

# %% [markdown]
# ## The experiment as stakeholders see it
#
# The dashboard's own views of this experiment (trust checks, decision, variant tiles, funnel,
# posteriors, chance to beat control, lifts by segment), built by the same functions: the numbers
# below can be read against them.

# %%
explore("pdp-shoes-hero", db=db, segments="device")

# %% [markdown]
# ## With and without CUPED

# %%
with_cuped = analyze(data)
without = analyze(data, cuped=False)
views.cuped_frame(with_cuped, without)

# %%
both = views.comparisons_frame(with_cuped.primary).assign(variant="with CUPED")
raw = views.comparisons_frame(without.primary).assign(variant="without")
frame = pd.concat([both, raw], ignore_index=True)
show(plots.lift_forest(frame.rename(columns={"lift_rel_lo": "lo", "lift_rel_hi": "hi"}),
                       title="Relative lift of conversion: same units, with and without CUPED"))

# %% [markdown]
# ## Segments

# %%
by_device = analyze_segments(data, "device", metrics=("cvr",))
show(plots.segment_plot(views.segment_frame(by_device), dim="device"))

# %%
views.segment_frame(by_device)

# %%
for dim in ("channel", "user_type"):
    seg = analyze_segments(data, dim, metrics=("cvr",))
    for m in seg.metrics:
        for variant, h in m.heterogeneity.items():
            print(f"{dim}: does the lift of {variant} differ across segments? Cochran's Q {fmt_p_eq(h['p_value'])}, "
                  f"I² = {fmt_share(h['i2'])}")
        for note in m.notes:
            print("  -", note)

# %% [markdown]
# Read segment results as hypotheses: with a dozen segments one is expected to look significant
# by chance, which is why p-values are corrected across segments and why a follow-up experiment
# targeted at the segment is the way to confirm it.
