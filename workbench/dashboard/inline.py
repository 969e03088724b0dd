"""The dashboard's experiment views in a notebook cell: what stakeholders see, next to the analyst's code.

:class:`ExperimentView` lays out, for one analysed and decided experiment (an
:class:`~workbench.pipeline.ExperimentOutcome`), the same parts as the dashboard's detail page, built
by the same functions: the header, the trust-check badges with their explanations, the decision with
every reason, the variant tiles, the funnel, the posterior densities, the chance to beat control
over time and the forest plot of lifts (with a segment breakdown). Nothing is computed here that
the dashboard does not compute the same way, so a number reads the same in both.

In a notebook::

    import panel as pn
    from workbench.dashboard.inline import explore
    pn.extension()
    explore("pdp-shoes-hero")              # or pn.panel(outcome) for an ExperimentOutcome you have

Without a server the plots are static Bokeh (zoom and hover work); the operator controls, the event
trend, the report links, the decision log and the live refresh stay on the served dashboard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import panel as pn
from panel.viewable import Viewer

from .data import (chance_over_time, current_weights, forest_frame, funnel_frame, posterior_curves, segment_result,
                   variant_tiles)
from .detail import decision_html, header_html, tiles_html, trust_card_html, withheld_sentence
from .plots import ChancePlot, ForestPlot, FunnelPlot, PosteriorPlot
from .ui import CSS, alert_html

__all__ = ["ExperimentView", "explore"]


class ExperimentView(Viewer):
    """One experiment as the dashboard shows it.

    ``segments`` picks the forest plot's breakdown (a dimension of the data); ``weights`` is the
    traffic split in force (default: the planned one).
    """

    def __init__(self, outcome: Any, *, segments: str | None = None, weights: dict[str, float] | None = None,
                 **params: Any) -> None:
        super().__init__(**params)
        self.outcome = o = outcome
        sw: dict[str, Any] = {"sizing_mode": "stretch_width", "stylesheets": [CSS]}
        variants = list(o.data.variants)
        self.header = pn.pane.HTML(header_html(o, o.record), **sw)
        self.badges = pn.pane.HTML(trust_card_html(o), **sw)
        self.decision = pn.pane.HTML(decision_html(o), **sw)
        self.tiles = pn.pane.HTML(tiles_html(variant_tiles(o, weights or current_weights(o))), **sw)
        self.plots: dict[str, Any] = {"funnel": FunnelPlot()}
        self.plots["funnel"].update(funnel_frame(o), variants)
        parts: list[Any] = [self.header, pn.Row(self.badges, self.decision, sizing_mode="stretch_width"), self.tiles,
                            pn.pane.Bokeh(self.plots["funnel"].figure, sizing_mode="stretch_width")]
        why = withheld_sentence(o)
        dims = [d for d in o.data.dims if d != "day"]
        self.segments = segments if segments in dims else (dims[0] if dims else None)
        if why is not None:       # a blocked experiment has no comparisons: say why once instead of empty charts
            parts.append(pn.pane.HTML(alert_html(why, "error"), **sw))
        else:
            self.plots["posterior"], self.plots["chance"], self.plots["forest"] = PosteriorPlot(), ChancePlot(), ForestPlot()
            self.plots["posterior"].update(posterior_curves(o), variants)
            self.plots["chance"].update(chance_over_time(o), variants, threshold=o.decision.params.get("prob_threshold"))
            seg = segment_result(o, self.segments) if self.segments and o.result.primary is not None and \
                o.result.primary.comparisons else None
            self.plots["forest"].update(forest_frame(o, seg))
            parts += [pn.Row(*(pn.pane.Bokeh(self.plots[k].figure, sizing_mode="stretch_width")
                               for k in ("posterior", "chance")), sizing_mode="stretch_width"),
                      pn.pane.Bokeh(self.plots["forest"].figure, sizing_mode="stretch_width")]
        self._layout = pn.Column(*parts, sizing_mode="stretch_width", css_classes=["wb-detail"])

    def __panel__(self) -> Any:
        return self._layout


def explore(experiment_id: str, *, db: str | Path | None = None, segments: str | None = None,
            policy: str | None = None) -> ExperimentView:
    """Analyse and decide ``experiment_id`` as every view does (:func:`workbench.pipeline.evaluate`) and show it."""
    from ..pipeline import evaluate

    outcome = evaluate([experiment_id], db=db, policy=policy)[experiment_id]
    weights = None
    if outcome.record is not None:         # the split in force, as the dashboard's tiles show it
        from ..lifecycle.registry import Registry
        weights = Registry(db).weights(experiment_id) or None
    return ExperimentView(outcome, segments=segments, weights=weights)
