"""The simulator page: set true conversion rates, compare a fixed A/B split with Thompson sampling and UCB.

Opening the page simulates the default setup at once (the sample world's bandit rates); "Run
simulation" re-runs with what the user typed. It runs :func:`workbench.bandits.simulate_policies`
in the background in batches of replications (each batch with its own seed, so a run is
reproducible) and redraws after every batch, so the curves appear at once and settle as
replications accumulate: the mean cumulative regret of each
strategy, the share of traffic each arm received over time under each strategy, and the summary
(regret, conversion, traffic to the best arm, visitors until a correct decision) — all from
:class:`~workbench.bandits.simulate.SimulationResult`. The exploration floor and warm-up come from
``Settings.bandit``; the default rates are the sample world's bandit experiment's true rates.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
import panel as pn
from panel.viewable import Viewer

from ..config import get_settings
from ..display import escape, fmt_fixed, fmt_num, fmt_pct
from ..errors import InputError, Problem, WorkbenchError
from .plots import RegretPlot, SharePlot
from .session import AppState, in_background
from .ui import alert_html, frame_html

__all__ = ["SimulatorPage", "combine", "parse_rates", "summary_frame", "POLICIES", "DEFAULT_RATES"]

POLICIES = ("ab", "thompson", "ucb")
POLICY_NAMES = {"ab": "fixed A/B split", "thompson": "Thompson sampling", "ucb": "UCB1"}
DEFAULT_RATES = (0.040, 0.045, 0.050)


def parse_rates(rates: str, names: str) -> tuple[list[float], list[str]]:
    """Rates (numbers or percentages) and arm names from the page's two text boxes.

    >>> parse_rates("0.04, 5%", "")
    ([0.04, 0.05], ['control', 'b'])
    """
    problems = []
    values: list[float] = []
    for i, part in enumerate(p.strip() for p in rates.split(",") if p.strip()):
        try:
            x = float(part.rstrip("%")) / (100 if part.endswith("%") else 1)
        except ValueError:
            problems.append(Problem("blocked", "bad_rate", "each rate is a number between 0 and 1 (or a percentage)",
                                    column="rates", row=i + 1, value=part))
            continue
        if not (math.isfinite(x) and 0 <= x <= 1):
            problems.append(Problem("blocked", "bad_rate", "each rate must lie between 0 and 1", column="rates",
                                    row=i + 1, value=part))
        values.append(x)
    if len(values) + len(problems) < 2:
        problems.append(Problem("blocked", "bad_rates", "give at least two rates (a control and a challenger)",
                                column="rates", value=rates))
    labels = [n.strip() for n in names.split(",") if n.strip()]
    if labels and len(labels) != len(values):
        problems.append(Problem("blocked", "bad_names", f"give one name per rate ({len(values)}) or none",
                                column="names", value=names))
    if len(set(labels)) != len(labels):
        problems.append(Problem("blocked", "bad_names", "arm names must differ", column="names", value=names))
    if problems:
        raise InputError(problems)
    default = ["control"] + [chr(ord("b") + i) for i in range(len(values) - 1)]
    return values, labels or default


def combine(parts: Sequence[Any]) -> Any:
    """Several :class:`SimulationResult` batches of the same setup as one (replications side by side)."""
    first = parts[0]
    if len(parts) == 1:
        return first

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts], axis=1)
    return dataclasses.replace(first, regret=cat("regret"), reward=cat("reward"), pulls=cat("pulls"),
                               p_best=cat("p_best"), reps=sum(p.reps for p in parts),
                               seconds={k: sum(p.seconds.get(k, 0.0) for p in parts) for k in first.seconds})


def summary_frame(result: Any) -> pd.DataFrame:
    """The simulation's summary, formatted for the page."""
    s = result.summary()
    rows = []
    for r in s.to_dict("records"):
        se = r["regret_se"]
        rows.append({"strategy": POLICY_NAMES.get(r["policy"], r["policy"]),
                     "regret (conversions lost)": fmt_fixed(r['regret'], 1) + (f" ± {fmt_fixed(se, 1)}" if math.isfinite(se) else ""),
                     "conversion rate": fmt_pct(r["conversion_rate"], 3),
                     "traffic to the best arm": fmt_pct(r["best_arm_share"], 1),
                     "reached a decision": fmt_pct(r["decided_share"], 0),
                     "visitors to decide (median)": fmt_num(r["median_rounds_to_decision"]),
                     "wrong decisions": fmt_pct(r["wrong_decision_share"], 1)})
    return pd.DataFrame(rows)


class SimulatorPage(Viewer):
    """Inputs, a run button, the regret and traffic-share plots and the summary table."""

    def __init__(self, service: Any, state: AppState, *, batches: int = 4, **params: Any) -> None:
        super().__init__(**params)
        self.service, self.state, self.batches = service, state, batches
        rates, names = self._defaults()
        self.rates = pn.widgets.TextInput(label="True conversion rate of each arm (the first is the control)",
                                          value=", ".join(fmt_num(r, 4) for r in rates), width=420,
                                          css_classes=["wb-sim-rates"])
        self.names = pn.widgets.TextInput(label="Arm names", value=", ".join(names), width=260,
                                          css_classes=["wb-sim-names"])
        self.visitors = pn.widgets.Select(label="Visitors", options=[10_000, 20_000, 50_000, 100_000], value=20_000,
                                          width=120)
        self.replications = pn.widgets.Select(label="Replications", options=[40, 100, 200, 400], value=100, width=120)
        self.batch = pn.widgets.Select(label="Bandits learn every … visitors", options=[1, 100, 1000], value=1,
                                       width=200)
        self.run_button = pn.widgets.Button(label="Run simulation", color="primary", css_classes=["wb-sim-run"])
        self.run_button.on_click(lambda _e: self.run())
        cfg = get_settings().bandit
        self.progress = pn.pane.HTML(f"<span class='wb-muted'>exploration floor {fmt_pct(cfg.min_exploration_share, 0)}"
                                     f" per arm; warm-up {cfg.min_units_per_arm} users per arm "
                                     "(Settings.bandit)</span>", sizing_mode="stretch_width",
                                     css_classes=["wb-sim-progress"])
        self.summary = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["wb-sim-summary"])
        self.regret = RegretPlot()
        self.shares = {p: SharePlot(POLICY_NAMES[p]) for p in POLICIES}
        self.result: Any = None
        self._token = 0
        sw = {"sizing_mode": "stretch_width"}
        self._layout = pn.Column(
            pn.pane.HTML("<h3 style='margin:4px 0'>Fixed A/B split vs Thompson sampling vs UCB</h3>"),
            pn.Row(self.rates, self.names, self.visitors, self.replications, self.batch),
            pn.Row(self.run_button, self.progress, **sw), self.summary,
            pn.pane.Bokeh(self.regret.figure, **sw),
            pn.Row(*(pn.pane.Bokeh(s.figure, **sw) for s in self.shares.values()), **sw),
            css_classes=["wb-simulator"], **sw)

    def _defaults(self) -> tuple[list[float], list[str]]:
        try:
            from ..bandits.world import true_rates
            with self.service.lock:
                rates = true_rates("pdp-home-bandit", db=self.service.db)
            if len(rates) >= 2:
                return list(rates.values()), list(rates)
        except (WorkbenchError, OSError):
            pass
        return list(DEFAULT_RATES), ["control", "b", "c"]

    def update(self, snapshot: Any) -> None:
        """The first time the page is shown, simulate the default setup; afterwards keep the last simulation."""
        if self._token == 0:
            self.run()

    def run(self) -> None:
        """Start a simulation in batches (a new run cancels the one in progress)."""
        try:
            rates, names = parse_rates(self.rates.value or "", self.names.value or "")
        except InputError as exc:
            self.progress.object = alert_html(str(exc).replace("\n", "; "), "error")
            return
        self._token += 1
        token, total = self._token, int(self.replications.value)
        reps = [total // self.batches + (1 if i < total % self.batches else 0) for i in range(self.batches)]
        reps = [r for r in reps if r > 0]
        setup = dict(rounds=int(self.visitors.value), batch=int(self.batch.value), variants=names,
                     seed=get_settings().seed)
        self.result = None
        self.progress.object = alert_html("simulating… (the first run of a server also compiles the simulator)",
                                          "info")
        self._next(token, rates, setup, reps, 0, [])

    def _next(self, token: int, rates: list[float], setup: dict[str, Any], reps: list[int], i: int,
              parts: list[Any]) -> None:
        from ..bandits.simulate import simulate_policies

        def work() -> Any:
            try:
                return simulate_policies(rates, reps=reps[i], **{**setup, "seed": setup["seed"] + 1009 * i})
            except WorkbenchError as exc:
                return exc

        def apply(result: Any) -> None:
            if token != self._token:
                return                                  # a newer run replaced this one
            if isinstance(result, WorkbenchError):
                self.progress.object = alert_html(str(result).replace("\n", "; "), "error")
                return
            parts.append(result)
            self.show(combine(parts), done=sum(reps[: i + 1]), total=sum(reps))
            if i + 1 < len(reps):
                self._next(token, rates, setup, reps, i + 1, parts)
        in_background(work, apply)

    def show(self, result: Any, *, done: int, total: int) -> None:
        """Draw a (partial) result."""
        self.result = result
        curves = result.to_frame()[["policy", "round", "regret"]]
        curves["policy"] = curves["policy"].map(lambda p: POLICY_NAMES.get(p, p))
        self.regret.update(curves, [POLICY_NAMES.get(p, p) for p in result.policies])
        traffic = result.traffic()
        for p, plot in self.shares.items():
            plot.update(traffic[traffic["policy"] == p], list(result.variants))
        best = result.variants[result.best_arm]
        state = "done" if done == total else "running"
        self.progress.object = (f"<span class='wb-muted' id='wb-sim-state' data-state='{state}'>{done} of {total} "
                                f"replications · {fmt_num(result.rounds)} visitors each · best arm "
                                f"<b>{escape(best)}</b> ({fmt_pct(result.true_rates[result.best_arm], 2)})</span>")
        self.summary.object = frame_html(summary_frame(result), css_id="wb-sim-table")

    def __panel__(self) -> Any:
        return self._layout
