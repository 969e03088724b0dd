"""The demo world's experiments: what each one tests, its true effects and its injected faults.

Every experiment has a plain funnel for each arm — P(click | visit), P(cart | click),
P(purchase | cart) — so the true conversion rate of an arm is their product, and the true lift
is known exactly. Faults are declared here, not hidden in the generator, so tests can check that
the workbench finds each one:

=========================  ==================================================================
experiment                 what it is for
=========================  ==================================================================
pdp-shoes-hero             healthy A/B with a clear winner (launch), stronger on mobile
pdp-electronics-cta        3 variants, one small winner; 0.5 % of users switch variant (sticky)
pdp-beauty-srm             4 % of treatment users lost by a redirect bug: sample-ratio mismatch
pdp-home-lcp               treatment converts better but breaks the LCP ≤ 3.5 s guardrail
pdp-fashion-5xx            treatment's 5xx error rate breaks the 0.5 % guardrail
pdp-shoes-stockout         the SKU runs out of stock on day 9 (hold)
pdp-electronics-price      a 40 % price jump on day 7 (hold)
pdp-beauty-novelty         a novelty effect that fades to nothing
reco-model-v2              site-wide recommendation model; a client sends a misspelt variant
ml-ranker-canary           ML model promotion with a 10 % canary (promote)
pdp-home-bandit            3-arm Thompson bandit with a recorded allocation schedule
aa-pipeline-check          A/A: both arms identical
pdp-longtail-coldstart     60 low-traffic SKUs in 5 categories (hierarchical cold start)
=========================  ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Funnel", "ExperimentSpec", "CATEGORIES", "DEMO_EXPERIMENTS", "WORLD_DAYS", "portfolio_specs"]

WORLD_DAYS = 14

# category -> (median price, P(click), P(cart|click), P(purchase|cart)) for an average SKU
CATEGORIES: dict[str, tuple[float, float, float, float]] = {
    "shoes": (89.0, 0.34, 0.42, 0.36),
    "electronics": (249.0, 0.30, 0.35, 0.30),
    "beauty": (29.0, 0.38, 0.48, 0.42),
    "home": (59.0, 0.32, 0.40, 0.34),
    "fashion": (49.0, 0.36, 0.44, 0.35),
}


@dataclass(frozen=True)
class Funnel:
    """Per-unit probabilities: clicked, carted given clicked, purchased given carted."""

    click: float
    cart: float
    buy: float

    @property
    def cvr(self) -> float:
        return self.click * self.cart * self.buy

    def scaled(self, click: float = 1.0, cart: float = 1.0, buy: float = 1.0) -> "Funnel":
        return Funnel(min(self.click * click, 0.99), min(self.cart * cart, 0.99), min(self.buy * buy, 0.99))


@dataclass(frozen=True)
class ExperimentSpec:
    """One experiment of the demo world (users is the intended size before faults and bots)."""

    experiment_id: str
    name: str
    kind: str                      # ab | aa | canary | bandit | multi
    category: str | None
    variants: tuple[str, ...]
    weights: tuple[float, ...]
    funnels: tuple[Funnel, ...]    # true funnel per arm
    users: int
    hypothesis: str
    primary_metric: str = "cvr"
    secondary_metrics: tuple[str, ...] = ("ctr", "atc_rate", "pages_per_user", "revenue_per_user")
    guardrails: tuple[str, ...] = ("lcp", "error_rate")
    allocation: str = "fixed"
    start_day: int = 0
    owner: str = "growth-team"
    product: str | None = "auto"   # "auto": one SKU of the category; None: many products
    variant_meta: dict[str, dict[str, str]] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)


def _f(category: str, click: float = 1.0, cart: float = 1.0, buy: float = 1.0) -> Funnel:
    _, c, a, b = CATEGORIES[category]
    return Funnel(c, a, b).scaled(click, cart, buy)


def _meta(*rows: tuple[str, str, str, str]) -> dict[str, dict[str, str]]:
    return {name: {"layout": layout, "cta_tone": tone, "palette": palette, "key_benefit": benefit}
            for name, layout, tone, palette, benefit in [(f"v{i}", *r) for i, r in enumerate(rows)]}


def _named_meta(variants: tuple[str, ...], *rows: tuple[str, str, str, str]) -> dict[str, dict[str, str]]:
    meta = _meta(*rows)
    return {v: meta[f"v{i}"] for i, v in enumerate(variants)}


_CT = ("control", "treatment")

DEMO_EXPERIMENTS: tuple[ExperimentSpec, ...] = (
    ExperimentSpec(
        "pdp-shoes-hero", "Shoes PDP: lifestyle hero image", "ab", "shoes", _CT, (0.5, 0.5),
        (_f("shoes"), _f("shoes", buy=1.10)), 80_000,
        "A lifestyle hero image makes shoppers more confident and lifts purchases.",
        variant_meta=_named_meta(_CT, ("gallery", "neutral", "light", "free returns"),
                                 ("lifestyle-hero", "neutral", "light", "free returns")),
        faults={"segment_effect": {"device": {"mobile": 1.04, "desktop": 0.94, "tablet": 0.98}}}),
    ExperimentSpec(
        "pdp-electronics-cta", "Electronics PDP: CTA copy", "multi", "electronics", ("control", "urgent", "benefit"),
        (1 / 3, 1 / 3, 1 / 3), (_f("electronics"), _f("electronics", click=1.01), _f("electronics", click=1.12)),
        100_000, "A benefit-led call to action beats a neutral one; urgency does not.",
        variant_meta=_named_meta(("control", "urgent", "benefit"), ("specs-first", "neutral", "dark", "warranty"),
                                 ("specs-first", "urgent", "dark", "warranty"),
                                 ("specs-first", "benefit", "dark", "warranty")),
        faults={"sticky_violation": 0.005}),
    ExperimentSpec(
        "pdp-beauty-srm", "Beauty PDP: ingredient tabs", "ab", "beauty", _CT, (0.5, 0.5),
        (_f("beauty"), _f("beauty", cart=1.05)), 50_000,
        "Ingredient tabs answer questions before they stop a purchase.",
        variant_meta=_named_meta(_CT, ("long-copy", "friendly", "pastel", "vegan"),
                                 ("tabs", "friendly", "pastel", "vegan")),
        faults={"srm_drop": {"treatment": 0.04}}),
    ExperimentSpec(
        "pdp-home-lcp", "Home PDP: 360° product viewer", "ab", "home", _CT, (0.5, 0.5),
        (_f("home"), _f("home", buy=1.07)), 45_000,
        "A 360° viewer shows the product better and converts more, if it stays fast.",
        variant_meta=_named_meta(_CT, ("gallery", "neutral", "warm", "free delivery"),
                                 ("viewer-360", "neutral", "warm", "free delivery")),
        faults={"lcp_ms": {"control": 2300.0, "treatment": 4300.0}}),
    ExperimentSpec(
        "pdp-fashion-5xx", "Fashion PDP: size-recommendation widget", "ab", "fashion", _CT, (0.5, 0.5),
        (_f("fashion"), _f("fashion", cart=1.06)), 45_000,
        "Recommending a size reduces hesitation and returns.",
        guardrails=("lcp", "error_rate", "return_rate"),
        variant_meta=_named_meta(_CT, ("gallery", "playful", "bright", "easy exchange"),
                                 ("size-widget", "playful", "bright", "easy exchange")),
        faults={"error_rate": {"control": 0.001, "treatment": 0.012}}),
    ExperimentSpec(
        "pdp-shoes-stockout", "Shoes PDP: reviews above the fold", "ab", "shoes", _CT, (0.5, 0.5),
        (_f("shoes"), _f("shoes", buy=1.05)), 30_000,
        "Showing reviews first builds trust.",
        variant_meta=_named_meta(_CT, ("gallery", "neutral", "light", "reviews"),
                                 ("reviews-first", "neutral", "light", "reviews")),
        faults={"stockout_day": 9}),
    ExperimentSpec(
        "pdp-electronics-price", "Electronics PDP: bundle offer", "ab", "electronics", _CT, (0.5, 0.5),
        (_f("electronics"), _f("electronics", cart=1.04)), 30_000,
        "Offering a bundle raises order value without hurting conversion.",
        variant_meta=_named_meta(_CT, ("specs-first", "neutral", "dark", "warranty"),
                                 ("bundle", "neutral", "dark", "bundle saving")),
        faults={"price_shock": {"day": 7, "factor": 1.4}}),
    ExperimentSpec(
        "pdp-beauty-novelty", "Beauty PDP: animated swatches", "ab", "beauty", _CT, (0.5, 0.5),
        (_f("beauty"), _f("beauty")), 50_000,
        "Animated swatches engage shoppers.",
        variant_meta=_named_meta(_CT, ("long-copy", "friendly", "pastel", "vegan"),
                                 ("animated-swatches", "friendly", "pastel", "vegan")),
        faults={"novelty": {"initial_lift": 0.30, "decay_days": 2.0}}),
    ExperimentSpec(
        "reco-model-v2", "Recommendations: two-tower model v2", "ab", None, _CT, (0.5, 0.5),
        (_f("fashion"), _f("fashion", click=1.03, buy=1.02)), 70_000,
        "Better recommendations lead to more clicks and more revenue per user.",
        primary_metric="revenue_per_user", secondary_metrics=("cvr", "ctr", "aov"), product=None,
        owner="reco-team", faults={"unknown_variant": {"label": "treatmnet", "units": 40}}),
    ExperimentSpec(
        "ml-ranker-canary", "Search ranker: staging model canary", "canary", None, ("production", "staging"),
        (0.9, 0.1), (_f("home", click=1.1), _f("home", click=1.1, buy=1.15)), 150_000,
        "The staging ranking model converts at least 5 % better than production.",
        secondary_metrics=("ctr", "revenue_per_user"), guardrails=("error_rate", "lcp"), product=None,
        owner="ml-team", faults={"error_rate": {"production": 0.001, "staging": 0.003}},
        # the model each arm serves (read by the MLflow export: the promotion decision names the model version)
        variant_meta={"production": {"model": "search-ranker", "model_version": "3"},
                      "staging": {"model": "search-ranker", "model_version": "4"}}),
    ExperimentSpec(
        "pdp-home-bandit", "Home PDP: headline bandit", "bandit", "home", ("control", "cozy", "minimal"),
        (1 / 3, 1 / 3, 1 / 3), (_f("home"), _f("home", buy=1.12), _f("home", buy=1.25)), 25_000,
        "Let a bandit find the best of three headlines while limiting regret.",
        allocation="bandit", start_day=2,
        variant_meta=_named_meta(("control", "cozy", "minimal"), ("gallery", "neutral", "warm", "free delivery"),
                                 ("gallery", "cozy", "warm", "free delivery"),
                                 ("gallery", "minimal", "light", "free delivery")),
        faults={"allocation_schedule": True}),
    ExperimentSpec(
        "aa-pipeline-check", "A/A: pipeline check", "aa", "fashion", ("control", "control-copy"), (0.5, 0.5),
        (_f("fashion"), _f("fashion")), 40_000, "Both arms are identical; nothing should be significant.",
        secondary_metrics=("ctr",), owner="data-platform"),
    ExperimentSpec(
        "pdp-longtail-coldstart", "Long-tail PDPs: trust badges", "ab", None, _CT, (0.5, 0.5),
        (_f("home"), _f("home")), 14_000,
        "Trust badges help low-traffic products; categories differ in how much.",
        product=None, faults={"longtail": {"skus": 60,
                                           "category_lift": {"shoes": 0.12, "electronics": 0.0, "beauty": 0.18,
                                                             "home": -0.06, "fashion": 0.06},
                                           "sku_lift_sd": 0.08}}),
)


_OWNERS = ("growth-team", "checkout-team", "search-team", "catalogue-team", "ml-team")


def portfolio_specs(n: int, base: tuple[ExperimentSpec, ...] = DEMO_EXPERIMENTS) -> tuple[ExperimentSpec, ...]:
    """``n`` experiments for a large portfolio: the demo's first, then copies with new ids and owners.

    Copy ``k`` of a demo experiment gets the id ``<id>-<k + 1>``, the name ``<name> (#<k + 1>)`` and
    one of five owners in turn, so a portfolio of hundreds has the demo's mix of states, decisions,
    faults and categories (the dashboard's filters have something to filter). Copies keep their
    experiment's true effects, so the truth table stays exact.

    >>> specs = portfolio_specs(30)
    >>> len(specs), specs[13].experiment_id, len({s.experiment_id for s in specs}), specs[13].owner
    (30, 'pdp-shoes-hero-2', 30, 'ml-team')
    """
    from dataclasses import replace

    if n < 1:
        raise ValueError(f"experiments must be at least 1, got {n}")
    out = []
    for i in range(n):
        spec = base[i % len(base)]
        k = i // len(base)
        if k:
            spec = replace(spec, experiment_id=f"{spec.experiment_id}-{k + 1}", name=f"{spec.name} (#{k + 1})",
                           owner=_OWNERS[(i + k) % len(_OWNERS)] if spec.owner == "growth-team" else spec.owner)
        out.append(spec)
    return tuple(out)
