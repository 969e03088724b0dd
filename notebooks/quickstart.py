# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python (workbench)
#     language: python
#     name: workbench
# ---

# %% [markdown]
# # Quickstart: a results CSV → health → results → decision memo
#
# The shortest path through the workbench: read the aggregated results your tracking system
# exported (one row per variant × segment), check that the experiment can be trusted, compare the
# variants, let the decision policy decide, and write the one-page memo for stakeholders.
# Everything here is one call to the `workbench` package; the notebook only shows the results.

# %%
from bokeh.io import output_notebook, show

from workbench.analysis import analyze, analyze_segments
from workbench.config import Paths, project_root
from workbench.health import check_health
from workbench.lifecycle import build_memo, decide, write_memo
from workbench.reports import plots, views
from workbench.sources.aggregated import read_aggregated

output_notebook(hide_banner=True)       # the plots are Bokeh figures: show(...) draws them in the notebook
SAMPLE = project_root() / "data" / "samples" / "ab_results.csv"

# %% [markdown]
# ## 1. Read the CSV
#
# Columns: `variant, users, conversions` (required), `guardrail_<name>` counts, `<metric>_sum` and
# `<metric>_sum_sq` for a continuous metric, and an optional `segment`. Every problem in the file
# (negative counts, conversions above users, a duplicate row...) is collected with its row and
# column instead of stopping at the first one.

# %%
data = read_aggregated(SAMPLE)
data.cube

# %% [markdown]
# ## 2. Can we trust it?
#
# One badge — healthy, warning or blocked — with every reason: the sample-ratio check against the
# planned split, small samples, and anything wrong in the file.

# %%
health = check_health(data)
health

# %% [markdown]
# ## 3. Results
#
# Each variant against the control on every metric: the lift with its confidence interval and
# p-value (Holm-corrected across variants), and the Bayesian chance to beat the control.

# %%
result = analyze(data)
result.to_frame()[["metric", "role", "variant", "control_value", "variant_value", "lift_rel", "lift_rel_lo",
                   "lift_rel_hi", "p_value_adjusted", "prob_beat_control"]]

# %%
primary = views.comparisons_frame(result.primary).rename(columns={"lift_rel_lo": "lo", "lift_rel_hi": "hi"})
show(plots.lift_forest(primary, title="Relative lift of the conversion rate (95% CI)"))

# %% [markdown]
# By segment — exploratory: use it to form hypotheses, not to decide.

# %%
segments = analyze_segments(data, "segment", metrics=("conversion_rate",))
show(plots.segment_plot(views.segment_frame(segments), dim="segment"))

# %% [markdown]
# ## 4. Decision and memo
#
# The default decision policy (a YAML preset) turns the result into launch / hold / rollback with
# its reasons; the memo puts the decision first, then the evidence, the risks and the next actions.

# %%
decision = decide(result)
print(decision.action.upper(), "—", decision.reason)

# %%
memo = build_memo(result, decision)
out = Paths.default().reports / "quickstart"
paths = [write_memo(memo, out / "memo.md"), write_memo(memo, out / "memo.html")]
print("\n".join(str(p) for p in paths))
print(memo.to_markdown()[:1200])
