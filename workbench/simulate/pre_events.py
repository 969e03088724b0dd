"""The sample world's pre-period events: each returning user's activity before their first exposure.

``pre_events`` has the tracking schema of ``events`` without ``experiment_id``/``variant_id`` (a
user's activity before exposure belongs to no experiment). It is what ``covariate: same`` reads
(:mod:`workbench.metric_defs.pre_period`): a metric's own definition over the days before each
unit's first exposure.

The rate is modest: it is a thinning of the 28-day ``pre_period`` aggregates to the
:data:`PRE_EVENT_DAYS` days before each unit's first exposure (each pre-period session and purchase
kept with probability 14/28), so the same latent engagement drives both, and the events cost about
as many rows as the experiment's own events. One session is one page view (and a click with
probability :data:`PRE_CLICK`); a purchase is an add-to-cart and a purchase at the pre-period's mean
order value. New users have none. The draws come from their own generator (seed, experiment index),
so the other tables keep their bytes.

>>> import pandas as pd
>>> u = pd.DataFrame({"uid": [0, 1], "device": ["mobile", "desktop"], "channel": ["email", "organic"],
...                   "user_type": ["returning", "new"], "product_id": ["p1", "p1"], "price": [20.0, 20.0]})
>>> pre = pd.DataFrame({"pre_sessions": [6, 0], "pre_purchases": [2, 0], "pre_revenue": [44.0, 0.0]})
>>> e = pre_events(u, pre, first_ts=np.array([1_700_000_000, 1_700_000_000]), seed=1, index=0)
>>> sorted(e["event"].unique()) <= ["add_to_cart", "click_detail", "impression", "purchase"], e["user_key"].nunique()
(True, 1)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["pre_events", "PRE_EVENT_DAYS", "PRE_CLICK"]

PRE_EVENT_DAYS = 14             # days of pre-exposure events written per unit (of the 28-day pre-period)
PRE_CLICK = 0.3                 # chance a pre-period page view is followed by a click
_EVENTS = ("impression", "click_detail", "add_to_cart", "purchase")


def pre_events(u: pd.DataFrame, pre: pd.DataFrame, *, first_ts: np.ndarray, seed: int, index: int,
               return_rate: float = 0.05) -> pd.DataFrame:
    """Pre-period events of the units ``u`` (one row per unit, aligned with their ``pre`` aggregates and
    ``first_ts``, the first exposure in epoch seconds)."""
    from .traffic import HUMAN_UA, _hex_keys

    rng = np.random.default_rng([seed, 17, index])
    share = PRE_EVENT_DAYS / 28
    sess = rng.binomial(pre["pre_sessions"].to_numpy().astype(np.int64), share)
    buys = rng.binomial(pre["pre_purchases"].to_numpy().astype(np.int64), share)
    order = np.where(pre["pre_purchases"].to_numpy() > 0,
                     pre["pre_revenue"].to_numpy() / np.maximum(pre["pre_purchases"].to_numpy(), 1), 0.0)
    span = PRE_EVENT_DAYS * 86400
    # page views (one per session), a click after some of them; a purchase is add_to_cart + purchase
    iv = np.repeat(np.arange(len(u)), sess)
    t_view = first_ts[iv] - rng.integers(900, span, len(iv))
    clicked = rng.random(len(iv)) < PRE_CLICK
    ic = iv[clicked]
    t_click = t_view[clicked] + rng.integers(20, 600, len(ic))
    ib = np.repeat(np.arange(len(u)), buys)
    t_cart = first_ts[ib] - rng.integers(900, span, len(ib))
    parts = [(iv, t_view, 0, np.arange(len(iv))), (ic, t_click, 1, np.flatnonzero(clicked)),
             (ib, t_cart, 2, len(iv) + np.arange(len(ib))), (ib, t_cart + rng.integers(60, 600, len(ib)), 3,
                                                             len(iv) + np.arange(len(ib)))]
    unit = np.concatenate([p[0] for p in parts])
    ts = np.concatenate([p[1] for p in parts]).astype(np.int64)
    code = np.concatenate([np.full(len(p[0]), p[2], np.int8) for p in parts])
    session = np.concatenate([p[3] for p in parts])
    m = len(unit)
    keys = _hex_keys(u["uid"].to_numpy(), seed)
    device = u["device"].to_numpy()[unit]
    view = code == 0
    out = pd.DataFrame({
        "ts_server": pd.to_datetime(ts, unit="s"),
        "user_key": keys[unit],
        "session_id": np.char.add(np.char.add(keys[unit], "-p"), session.astype(str)),
        "product_id": u["product_id"].to_numpy()[unit],
        "event": np.asarray(_EVENTS, dtype=object)[code],
        "device": device,
        "channel": u["channel"].to_numpy()[unit],
        "user_type": u["user_type"].to_numpy()[unit],
        "price": np.where(code == 3, np.round(order[unit], 2), u["price"].to_numpy()[unit]).astype(float),
        "quantity": np.where(code >= 2, 1, 0).astype(np.int32),
        "user_agent": np.vectorize(HUMAN_UA.get, otypes=[object])(device) if m else np.array([], dtype=object),
        "dwell_ms": np.where(view, np.round(np.exp(rng.normal(np.log(22000), 0.8, m))), np.nan),
        "lcp_ms": np.where(view, np.round(2300.0 * np.exp(rng.normal(0, 0.3, m))), np.nan),
        "http_status": np.where(view & (rng.random(m) < 0.001), 503, 200).astype(np.int16),
        "returned": np.where(code == 3, rng.random(m) < return_rate, False),
    })
    return out.sort_values(["ts_server", "user_key"], kind="stable").reset_index(drop=True)
