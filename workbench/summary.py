"""Descriptive summary of an experiment: units, funnel and rates per variant (no inference).

>>> import pandas as pd
>>> from workbench.experiment_data import ExperimentData
>>> from workbench.metrics import Metric
>>> cube = pd.DataFrame({"variant": ["control", "b"], "n": [100, 100], "conversions__sum": [10, 12],
...                      "conversions__sum_sq": [10, 12]})
>>> d = ExperimentData("e", ("control", "b"), cube, (Metric("conversion_rate", "proportion", "conversions", role="primary"),))
>>> summarize(d).to_frame()[["variant", "units", "conversion_rate"]]
   variant  units  conversion_rate
0  control  100.0             0.10
1        b  100.0             0.12
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .display import ResultMixin
from .experiment_data import ExperimentData
from .stats.sufficient import RatioStats

__all__ = ["ExperimentSummary", "summarize"]


@dataclass(frozen=True)
class ExperimentSummary(ResultMixin):
    """Per-variant units, funnel counts and metric values of one experiment."""

    experiment_id: str
    control: str
    control_note: str
    rows: tuple[dict, ...]
    metric_roles: tuple[tuple[str, str], ...]
    bot_exclusion_rate: float | None = None
    sticky_violators: int | None = None
    unknown_variants: tuple[tuple[str, int], ...] = ()
    as_of: str | None = None
    metric_units: tuple[tuple[str, str], ...] = ()   # metric -> unit (rate, count, currency, seconds, value)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows))

    def __repr__(self) -> str:
        return (f"ExperimentSummary({self.experiment_id}: {len(self.rows)} variant(s), "
                f"{len(self.metric_roles)} metric(s), control {self.control})")

    def _repr_html_(self) -> str:
        from .tables import html_table, summary_caption, summary_rows
        headers, rows = summary_rows(self)
        return html_table(headers, [dict(zip(headers, r)) for r in rows], title=self.experiment_id,
                          caption=summary_caption(self))


def summarize(data: ExperimentData) -> ExperimentSummary:
    """Units, funnel and each metric's value per variant (control first)."""
    funnel = data.funnel()
    frame = pd.DataFrame({"variant": list(data.variants), "units": data.units()})
    for col in ("impressions", "clicks", "add_to_cart", "purchases"):
        if col in funnel:
            frame[col] = funnel[col].to_numpy()
    for m in data.metrics:
        s = data.stats(m, use_covariate=False)
        frame[m.name] = s.ratio if isinstance(s, RatioStats) else s.mean
    t = data.trust
    return ExperimentSummary(
        experiment_id=data.experiment_id, control=data.control, control_note=data.control_note,
        rows=tuple(frame.to_dict(orient="records")), metric_roles=tuple((m.name, m.role) for m in data.metrics),
        bot_exclusion_rate=t.bot_exclusion_rate if t else None, sticky_violators=t.sticky_violators if t else None,
        unknown_variants=tuple(sorted(t.unknown_variants.items())) if t else (),
        as_of=data.as_of.isoformat() if data.as_of else None,
        metric_units=tuple((m.name, m.unit) for m in data.metrics))
