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

# %% [markdown] tags=["remove_cell"]
# # Experiment report
#
# The per-experiment report that `workbench report ID` (and `workbench report --all`) executes with
# papermill and converts to HTML and PDF with the code hidden. It is thin on purpose: every number comes
# from the `workbench` package (`workbench.pipeline.evaluate` → analysis → decision), and every section
# is one call to `workbench.reports.ExperimentReport`. Run it yourself by editing the parameters below
# (the defaults use the demo world: `make demo`).

# %% tags=["parameters"]
experiment_id = "pdp-shoes-hero"  # the experiment to report on
db = None                         # DuckDB file or Ibis URL (None: WORKBENCH_DB or data/workbench.duckdb)
as_of = None                      # ISO date or time to report as of (None: all data)
policy = None                     # decision policy (None: the one the experiment's brief names)
inputs_cache = None               # hand-off file written by `workbench report` (aggregated once for all)
roi_horizon_days = None           # ROI projection horizon in days (None: reports.roi_horizon_days)
out_dir = None                    # where to write memo.md, memo.html and summary.json (None: nowhere)

# %%
from workbench.reports import load_report

report = load_report(experiment_id, db=db, as_of=as_of, policy=policy, cache=inputs_cache,
                     roi_horizon_days=roi_horizon_days)
report.header()

# %% [markdown]
# ## Overview

# %%
report.overview()

# %% [markdown]
# ## Trust

# %%
report.trust()

# %% [markdown]
# ## Primary result

# %%
report.primary_result()

# %% [markdown]
# ## Guardrails

# %%
report.guardrails()

# %% [markdown]
# ## Secondary metrics and funnel

# %%
report.secondary()

# %% [markdown]
# ## Trends

# %%
report.trends()

# %% [markdown]
# ## CUPED variance reduction

# %%
report.cuped()

# %% [markdown]
# ## Segments

# %%
report.segments()

# %% [markdown]
# ## SKU within its category

# %%
report.hierarchical()

# %% [markdown]
# ## Bandit allocation

# %%
report.bandit()

# %% [markdown]
# ## ROI

# %%
report.roi_section()

# %% [markdown]
# ## Decision and next actions

# %%
report.decision_section()

# %% [markdown]
# ## Learning

# %%
report.learning()

# %% tags=["remove_cell"]
if out_dir:
    written = report.write_artifacts(out_dir)
