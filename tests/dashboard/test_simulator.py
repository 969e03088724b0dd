"""The simulator page: inputs, batches combined into one result, plots and summary from the bandits package."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.bandits import simulate_policies
from workbench.bandits.world import true_rates
from workbench.dashboard.session import AppState
from workbench.dashboard.simulator_page import SimulatorPage, combine, parse_rates, summary_frame
from workbench.errors import InputError


def test_parse_rates_and_names():
    assert parse_rates("0.04, 0.05", "") == ([0.04, 0.05], ["control", "b"])
    assert parse_rates("4%, 5.5%, 0.06", "a, b, c") == ([0.04, 0.055, 0.06], ["a", "b", "c"])
    with pytest.raises(InputError) as err:
        parse_rates("0.04, 1.5, abc", "x, y")
    codes = {(p.code, p.row) for p in err.value.problems}
    assert ("bad_rate", 2) in codes and ("bad_rate", 3) in codes
    with pytest.raises(InputError, match="at least two rates"):
        parse_rates("0.04", "")
    with pytest.raises(InputError, match="names must differ"):
        parse_rates("0.04, 0.05", "a, a")


def test_batches_combine_into_one_result():
    kw = dict(rounds=2_000, seed=3, checkpoints=10)
    a = simulate_policies([0.05, 0.08], reps=6, **kw)
    b = simulate_policies([0.05, 0.08], reps=4, **{**kw, "seed": 4})
    both = combine([a, b])
    assert both.reps == 10 and both.regret.shape == (3, 10, len(a.checkpoints))
    s = both.summary().set_index("policy")
    for i, p in enumerate(both.policies):                 # the summary is over every replication of both batches
        final = np.concatenate([a.regret[i, :, -1], b.regret[i, :, -1]])
        assert s.loc[p, "regret"] == pytest.approx(final.mean())
    assert combine([a]) is a
    table = summary_frame(both)
    assert list(table["strategy"]) == ["fixed A/B split", "Thompson sampling", "UCB1"]


def test_the_page_runs_a_simulation_and_draws_it(service):
    page = SimulatorPage(service, AppState(page="simulator"), batches=2)
    truth = true_rates("pdp-home-bandit", db=service.db)                 # the world's bandit by default
    assert page.names.value == ", ".join(truth)
    page.rates.value, page.names.value = "0.04, 0.06", "control, better"
    page.visitors.value, page.replications.value = 10_000, 40
    page.run()
    r = page.result
    assert r.reps == 40 and r.rounds == 10_000 and r.variants == ("control", "better")
    assert page.regret.renderers == ["fixed A/B split", "Thompson sampling", "UCB1"]
    assert all(p.renderers == ["control", "better"] for p in page.shares.values())
    assert "40 of 40 replications" in page.progress.object and 'data-state="done"'.replace('"', "'") in \
        page.progress.object
    assert page.summary.object.count("<tr>") == 4
    s = r.summary().set_index("policy")
    assert s.loc["thompson", "regret"] < s.loc["ab", "regret"]           # what the page is for
    page.rates.value = "0.04"
    page.run()
    assert "at least two rates" in page.progress.object and page.result is r


def test_opening_the_page_simulates_the_default_setup_once(service):
    page = SimulatorPage(service, AppState(page="simulator"), batches=2)
    assert page.result is None
    page.replications.value, page.visitors.value = 40, 10_000
    page.update(None)                                                   # first shown: runs the world's bandit rates
    first = page.result
    assert first is not None and first.variants == tuple(true_rates("pdp-home-bandit", db=service.db))
    assert "40 of 40 replications" in page.progress.object
    page.update(None)                                                   # shown again: keeps the last simulation
    assert page.result is first
