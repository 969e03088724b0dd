"""Configuration: every threshold and default in one place.

Values can be overridden by a YAML file (``workbench.yaml`` in the working directory, or the file
named by ``WORKBENCH_CONFIG``) with the same nested keys, and the main paths by environment
variables (``WORKBENCH_HOME``, ``WORKBENCH_DB``, ``WORKBENCH_REPORTS``). Views never hard-code a
threshold: they read it from :func:`get_settings` or from the experiment's brief.

>>> s = Settings()
>>> s.srm.warning_p, s.srm.blocked_p, s.alpha
(0.001, 1e-05, 0.05)
>>> s.with_overrides({"srm": {"warning_p": 0.01}}).srm.warning_p
0.01
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, is_dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from .errors import InputError, Problem

__all__ = ["Settings", "size_bytes", "SRMSettings", "HealthSettings", "BotSettings", "GuardrailSettings", "BanditSettings",
           "HierarchicalSettings", "EngineSettings", "SparkSettings", "Paths", "LifecycleSettings", "RolloutSettings",
           "AutopilotSettings", "ReportSettings", "InputLimits", "TrackingSettings", "ScheduleSettings",
           "AlertSettings", "EmailSettings", "MAX_EXACT_COUNT", "get_settings", "project_root", "default_home"]

MAX_EXACT_COUNT = 2 ** 53
"""The largest count the workbench accepts: every whole number up to 2^53 is exact as a float64 (the
statistics compute in floating point), so a larger count would be silently rounded."""


@dataclass(frozen=True)
class SRMSettings:
    """Sample-ratio-mismatch thresholds (chi-square goodness-of-fit p-values)."""

    warning_p: float = 0.001
    blocked_p: float = 0.00001


@dataclass(frozen=True)
class BotSettings:
    """Rules that mark a unit as a bot; its events are excluded before aggregation."""

    headless_ua_pattern: str = r"(?i)(headless|phantomjs|selenium|puppeteer|playwright|bot|crawler|spider|curl|python-requests)"
    min_mean_dwell_ms: float = 1000.0     # mean dwell on detail pages below this is not human
    min_impressions_for_dwell: int = 3     # ...when judged over at least this many page views
    ip_burst_events_per_minute: int = 120  # events from one IP hash in one minute
    max_events_per_unit_hour: int = 300    # abnormal event rate: events per hour of a unit's activity span (+1 h)


@dataclass(frozen=True)
class HealthSettings:
    """Trust-check thresholds beyond SRM: when excluded traffic turns the badge to Warning."""

    bot_rate_warning: float = 0.20        # share of units excluded as bots above which results are suspect
    sticky_rate_warning: float = 0.001    # share of units seen in more than one variant (excluded)
    balance_warning_p: float = 0.001      # pre-period covariates differ between arms (Holm-adjusted Hotelling p)


@dataclass(frozen=True)
class GuardrailSettings:
    """Decision-layer guardrail rule: worsened = delta > 0 and (delta > worsened_abs or p < alpha)."""

    worsened_abs: float = 0.001   # 0.1 percentage points
    severe_abs: float = 0.003     # 0.3 percentage points


@dataclass(frozen=True)
class BanditSettings:
    """Allocation policies: every arm keeps ``min_exploration_share`` of traffic; weights move only
    once every arm has ``min_units_per_arm`` units. ``prob_best_draws`` Monte Carlo draws estimate
    Thompson's probability that each arm is best; ``decision_prob`` is the probability of being best
    that counts as a decision in simulations."""

    min_exploration_share: float = 0.05
    min_units_per_arm: int = 100
    prob_best_draws: int = 20000
    decision_prob: float = 0.95


@dataclass(frozen=True)
class HierarchicalSettings:
    """Hierarchical (SKUs within categories) model: sampler, parameterisation and diagnostic limits.

    Defaults were chosen by measurement (``benchmarks/hierarchical.py``): nutpie's NUTS on the
    model's compiled (disk-cached) log density; parameterisation "auto" = "adaptive" (every baseline
    and lift partially centred on its own data, :mod:`workbench.hierarchical.spec`) and
    ``target_accept_thin`` when there are fewer than ``few_categories`` categories; 4 chains ×
    3,000 draws on 2 cores (r_hat <= 1.003 on every parameter of five 1,000-SKU benchmark worlds,
    0 divergences; 0 on the 18-SKU sample CSV). Without explicit ``draws``, :func:`fit_hierarchical`
    samples ``draws_batch`` draws per chain and, while any parameter's r_hat exceeds ``max_rhat`` or
    a SKU lift's bulk ESS is below ``min_ess_bulk``, lets the same chains run ``draws_step`` draws
    more (the compiled sampler; others add a batch of ``chains`` new chains), up to ``draws`` per
    chain. Results carry a warning when
    the largest r_hat of a SKU lift exceeds ``max_rhat`` (of any parameter: ``max_rhat_hyper``), the
    smallest bulk ESS of a SKU lift is below ``min_ess_bulk`` or any transition diverged.
    """

    sampler: str = "nutpie"
    parameterisation: str = "auto"
    chains: int = 4
    draws: int = 3000                     # per chain with explicit chains; chains × draws caps the batches
    draws_batch: int = 1000               # per chain and batch when draws are chosen by the diagnostics
    draws_step: int = 250                 # more draws per chain while the diagnostics ask (compiled sampler)
    tune: int = 300
    cores: int = 2
    target_accept: float = 0.8
    target_accept_thin: float = 0.95      # with fewer than few_categories categories, or "auto" -> "noncentred"
    few_categories: int = 10              # below this the category-level SDs are weakly identified
    max_rhat: float = 1.01
    max_rhat_hyper: float = 1.05          # any parameter (hyperparameters mix slowest)
    min_ess_bulk: float = 400.0
    eb_draws: int = 1000                  # Monte Carlo draws of fit_independent (empirical Bayes needs none)


def _spark_defaults() -> dict[str, str]:
    import tempfile
    # the warehouse folder would otherwise appear in the working directory (the workbench saves no Spark tables)
    return {"spark.sql.warehouse.dir": str(Path(tempfile.gettempdir()) / "workbench-spark-warehouse"),
            "spark.sql.shuffle.partitions": "64", "spark.ui.enabled": "false", "spark.driver.memory": "2g",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.session.timeZone": "UTC", "spark.sql.parquet.inferTimestampNTZ.enabled": "true"}


@dataclass(frozen=True)
class SparkSettings:
    """``--engine spark``: ``master`` is ``local[N]`` (a session in this process), or ``sc://host:port`` (Spark
    Connect); ``conf`` is passed to the session builder; ``connect_timeout_s`` bounds the reachability check of a
    Spark Connect server (an unreachable one fails fast, in one line)."""

    master: str = "local[2]"
    app_name: str = "workbench"
    conf: dict = field(default_factory=_spark_defaults)
    connect_timeout_s: float = 3.0


@dataclass(frozen=True)
class EngineSettings:
    """Where the event work runs, and the embedded DuckDB's settings.

    ``backend``: ``duckdb`` (default, embedded), ``spark`` (see :class:`SparkSettings`), ``sc://host:port`` or
    any Ibis URL; ``WORKBENCH_ENGINE`` and ``--engine`` override it, and ``engine: spark`` in
    ``workbench.yaml`` is short for ``engine: {backend: spark}``. ``events``: a hive-partitioned Parquet lake
    (``events/date=YYYY-MM-DD/*.parquet``...) to read instead of the database's ``events`` table
    (``WORKBENCH_EVENTS``, ``--events``). The registry, audit log, decisions and reports always stay in the
    embedded DuckDB file.

    DuckDB: ``memory_limit`` makes big aggregations spill to ``temp_directory`` (default: a folder of this
    process under the system temp dir) instead of growing; raise it on a large machine. ``threads`` 0 = all
    cores, but at most one per 250 MB of ``memory_limit`` (a query's unspillable memory grows with its threads).
    ``preserve_insertion_order`` off lets aggregations stream and spill (the pipeline orders what it returns
    itself). ``events_per_query``: on DuckDB, events of more than this many are aggregated in batches of whole
    experiments of at most this many events each (the largest experiment alone when it has more), one query a
    batch, so the memory follows the batch, not the lake; 0 = always one query (:mod:`workbench.aggregate`).
    """

    backend: str = "duckdb"
    events: str = ""
    memory_limit: str = "1GB"
    threads: int = 0
    temp_directory: str = ""
    preserve_insertion_order: bool = False
    events_per_query: int = 20_000_000
    spark: SparkSettings = field(default_factory=SparkSettings)


@dataclass(frozen=True)
class RolloutSettings:
    """Staged promotion of a winner and the rollback monitor that watches each step.

    A step is rolled back when, over a sliding ``window_minutes`` window, conversion is at least
    ``max_drop`` (relative) below the pre-promotion baseline *and* the drop is not noise: the window
    holds at least ``min_window_units`` units, at least ``min_expected_conversions`` conversions are
    expected at the baseline rate, and a one-sided exact binomial test gives p < ``alpha`` divided by
    the number of windows watched (Bonferroni over the looks).
    """

    stages: tuple[float, ...] = (0.25, 0.5, 1.0)
    dwell_hours: float = 12.0
    min_dwell_hours: float = 6.0
    max_dwell_hours: float = 24.0
    window_minutes: float = 30.0
    max_drop: float = 0.20
    min_window_units: int = 200
    min_expected_conversions: float = 10.0
    alpha: float = 0.01


@dataclass(frozen=True)
class AutopilotSettings:
    """Which SKUs the autopilot may experiment on, and how much traffic it may use."""

    lookback_days: int = 7
    min_sessions: int = 700               # sessions on the SKU in the lookback window
    cooldown_days: int = 7                # since the SKU's last experiment ended
    traffic_budget: float = 0.20          # share of all sessions that may be in experiments at once
    max_concurrent: int = 5
    max_duration_days: int = 14
    policy: str = "bayesian-promotion"
    template: str = "autopilot-template"


@dataclass(frozen=True)
class LifecycleSettings:
    """Registry, retention, decision-policy lookup, rollout and autopilot defaults."""

    retention_days: int = 180             # event rows older than this are purged by `workbench retention purge`
    policy_dir: str = "policies"          # user YAML policies (relative to WORKBENCH_HOME); override presets
    default_policy: str = "decision-layer"
    lock_timeout_s: float = 15.0          # wait this long for another process holding the database
    rollout: RolloutSettings = field(default_factory=RolloutSettings)
    autopilot: AutopilotSettings = field(default_factory=AutopilotSettings)


@dataclass(frozen=True)
class ReportSettings:
    """Scheduled reports (``workbench report``): what the report shows and how a run behaves.

    ``roi_horizon_days``: the horizon the ROI section projects incremental revenue over;
    ``segment_dims``: the breakdowns shown (exploratory); ``chromium``: the browser that prints
    PDFs (empty = look for ``chromium``/``chromium-browser``/``google-chrome`` on PATH, or set
    ``WORKBENCH_CHROMIUM``); ``lock_timeout_s``: how long a run waits for another run of
    ``workbench report`` to finish before giving up.
    """

    roi_horizon_days: int = 90
    segment_dims: tuple[str, ...] = ("device", "channel", "user_type")
    cell_timeout_s: float = 600.0         # one notebook cell may run this long
    pdf_timeout_s: float = 90.0
    lock_timeout_s: float = 1800.0
    chromium: str = ""


@dataclass(frozen=True)
class DashboardSettings:
    """The Panel dashboard (``workbench serve``): refresh schedule, windows shown, login rules.

    The data refresh runs once per server every ``refresh_seconds`` (it is skipped when neither the
    event log nor the registry changed); each open page polls the server's latest snapshot every
    ``session_poll_seconds``. ``allocation_window_minutes`` is how far back the detail page lists
    a bandit's allocation decisions. After ``login_max_failures`` failed logins for one user name
    within ``login_lockout_seconds`` further attempts are refused until the window has passed.
    """

    port: int = 5006
    refresh_seconds: float = 60.0
    session_poll_seconds: float = 5.0
    allocation_window_minutes: float = 60.0
    audit_rows: int = 50
    bcrypt_rounds: int = 12
    login_max_failures: int = 5
    login_lockout_seconds: float = 300.0


@dataclass(frozen=True)
class TrackingSettings:
    """MLflow export (``--mlflow``): where runs go and under which MLflow experiment.

    ``mlflow_uri``: the tracking URI used by a bare ``--mlflow`` (empty = ``$MLFLOW_TRACKING_URI``,
    else ``<WORKBENCH_HOME>/mlruns``, a local file store); ``experiment_name``: the MLflow experiment,
    ``{experiment_id}`` is replaced by the workbench experiment's id.
    """

    mlflow_uri: str = ""
    experiment_name: str = "workbench/{experiment_id}"


@dataclass(frozen=True)
class ScheduleSettings:
    """``workbench schedule``: how often a cycle runs and what it does.

    ``every_minutes``: the interval of the printed cron line / systemd timer; ``log_dir``: where each
    cycle writes its JSON run log, the cycle lock and the alert state (empty = ``cycles/`` beside
    the database); ``keep_logs``: run logs kept (oldest removed); ``reports``: refresh reports in
    each cycle; ``decisions``: re-evaluate changed experiments in each cycle; ``workers``: report
    notebooks run in parallel; ``record_decisions``: record a re-evaluated decision in the registry
    when it differs from the last one recorded.
    """

    every_minutes: int = 15
    log_dir: str = ""
    keep_logs: int = 500
    reports: bool = True
    decisions: bool = True
    workers: int = 1
    record_decisions: bool = True


@dataclass(frozen=True)
class EmailSettings:
    """SMTP e-mail for alerts (off while ``host`` or ``to`` is empty). The password is read from the
    environment variable named by ``password_env``, never from the YAML file."""

    host: str = ""
    port: int = 25
    sender: str = "workbench@localhost"
    to: tuple[str, ...] = ()
    starttls: bool = False
    username: str = ""
    password_env: str = "WORKBENCH_SMTP_PASSWORD"


@dataclass(frozen=True)
class AlertSettings:
    """Alerts sent by scheduled cycles: SRM found, a guardrail breached or worsened, a rollback, a
    report failing. ``slack_webhooks`` get Slack-compatible JSON (``{"text": ...}``),
    ``json_webhooks`` the alert as a JSON object; each send waits at most ``timeout_s`` and is tried
    ``retries`` more times (``backoff_s`` apart, doubling) — a receiver that is down never stops a
    cycle. An alert is sent once per finding until the finding changes."""

    slack_webhooks: tuple[str, ...] = ()
    json_webhooks: tuple[str, ...] = ()
    email: EmailSettings = field(default_factory=EmailSettings)
    timeout_s: float = 5.0
    retries: int = 2
    backoff_s: float = 0.5
    kinds: tuple[str, ...] = ("srm", "guardrail", "rollback", "report_failed")
    rollback_lookback_hours: float = 168.0    # rollbacks recorded this recently are alerted (by a cycle or by hand)


@dataclass(frozen=True)
class InputLimits:
    """Documented limits on user input, checked when a file or brief is read (a larger input is refused
    with a message naming the file, row, column and the limit, never truncated or rounded).

    ``max_count`` applies to every count (users, conversions, guardrail counts, a SKU's ``n``): counts
    are used in float arithmetic, exact only up to 2^53 (lowering it is allowed, raising it is not).
    ``max_field_chars`` bounds any one cell of a CSV or Parquet table; ``max_label_chars`` variant,
    segment, SKU and category labels; ``max_name_chars`` names in a brief (experiment, variant);
    ``max_text_chars`` any other text of a brief (hypothesis, description, copy). Experiment ids follow
    :data:`workbench.ids.SAFE_ID_PATTERN` (1-80 characters).
    """

    max_variants: int = 50                # variants (arms) of one experiment, control included
    max_count: int = MAX_EXACT_COUNT      # 9,007,199,254,740,992
    max_field_chars: int = 10_000
    max_label_chars: int = 200
    max_name_chars: int = 200
    max_text_chars: int = 20_000

    def __post_init__(self) -> None:
        if not 0 < self.max_count <= MAX_EXACT_COUNT:
            raise InputError([Problem("blocked", "bad_setting", f"limits.max_count must be between 1 and 2^53 "
                                      f"({MAX_EXACT_COUNT:,}): larger counts are not exact in float arithmetic",
                                      column="limits.max_count", value=self.max_count)])


@dataclass(frozen=True)
class Paths:
    """Where things live. Relative paths are resolved against ``home``."""

    home: Path
    db: Path
    reports: Path
    data: Path

    @classmethod
    def default(cls) -> "Paths":
        home = default_home()
        data = home / "data"
        db = Path(os.environ.get("WORKBENCH_DB", data / "workbench.duckdb"))
        reports = Path(os.environ.get("WORKBENCH_REPORTS", home / "reports"))
        return cls(home=home, db=db if db.is_absolute() else home / db,
                   reports=reports if reports.is_absolute() else home / reports, data=data)


@dataclass(frozen=True)
class Settings:
    """All defaults. Statistical conventions are documented where they are implemented."""

    alpha: float = 0.05
    power: float = 0.8
    ci_level: float = 0.95
    credible_level: float = 0.94
    small_sample_units: int = 100          # fewer units in an arm -> Warning
    small_count: int = 5                   # fewer successes/failures -> exact test
    srm: SRMSettings = field(default_factory=SRMSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    bots: BotSettings = field(default_factory=BotSettings)
    guardrails: GuardrailSettings = field(default_factory=GuardrailSettings)
    bandit: BanditSettings = field(default_factory=BanditSettings)
    hierarchical: HierarchicalSettings = field(default_factory=HierarchicalSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    lifecycle: LifecycleSettings = field(default_factory=LifecycleSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    limits: InputLimits = field(default_factory=InputLimits)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    seed: int = 20261121

    def with_overrides(self, overrides: dict[str, Any], *, source: str = "settings") -> "Settings":
        """Return a copy with nested ``overrides`` applied; unknown keys are an error."""
        return _merge(self, overrides, source, prefix="")


def _merge(obj: Any, overrides: dict[str, Any], source: str, prefix: str) -> Any:
    known = {f.name: f for f in fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in known:
            raise InputError([Problem("blocked", "unknown_setting",
                                      f"unknown setting {prefix + key!r}; known: {', '.join(sorted(known))}",
                                      file=source, column=f"{prefix}{key}")])
        current = getattr(obj, key)
        if is_dataclass(current) and isinstance(value, str) and key == "engine":
            value = {"backend": value}          # `engine: spark` is short for `engine: {backend: spark}`
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise InputError([Problem("blocked", "bad_setting", f"{prefix}{key} must be a mapping",
                                          file=source, column=f"{prefix}{key}", value=value)])
            changes[key] = _merge(current, value, source, prefix=f"{prefix}{key}.")
        elif isinstance(current, dict):
            if not isinstance(value, dict):
                raise InputError([Problem("blocked", "bad_setting", f"{prefix}{key} must be a mapping",
                                          file=source, column=f"{prefix}{key}", value=value)])
            changes[key] = {**current, **{str(k): str(v) for k, v in value.items()}}
        else:
            if isinstance(current, tuple) and isinstance(value, str):
                value = [value]          # one string for a list setting (a webhook URL), not its characters
            try:
                changes[key] = type(current)(value)
            except (TypeError, ValueError):
                raise InputError([Problem("blocked", "bad_setting",
                                          f"{prefix}{key} must be a {type(current).__name__}",
                                          file=source, column=f"{prefix}{key}", value=value)]) from None
            check = _CHECKS.get(prefix + key)
            if check is not None and not check[0](changes[key]):
                raise InputError([Problem("blocked", "bad_setting", f"{prefix}{key} must be {check[1]}",
                                          file=source, column=f"{prefix}{key}", value=value)])
    return replace(obj, **changes)


def size_bytes(text: str) -> int | None:
    """A DuckDB memory size in bytes (KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024; the ``B`` may be
    left out); None when ``text`` is not one (DuckDB wants a unit).

    >>> size_bytes("1GB"), size_bytes("1.5 GiB"), size_bytes("512mb"), size_bytes("4"), size_bytes("lots")
    (1000000000, 1610612736, 512000000, None, None)
    """
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]i?)b?\s*", str(text), re.IGNORECASE)
    if not m:
        return None
    scale = {"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "ki": 2 ** 10, "mi": 2 ** 20, "gi": 2 ** 30, "ti": 2 ** 40}
    return int(float(m.group(1)) * scale[m.group(2).lower()])


#: settings whose values have a form beyond their type: (test, what the value must be)
_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "engine.memory_limit": (lambda v: v == "" or size_bytes(v) is not None,
                            "a size such as 1GB, 512MB or 4GiB (empty: DuckDB's own default)"),
}


def project_root() -> Path | None:
    """The source checkout the package runs from (an editable install or PYTHONPATH), else None."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").exists() and (here / "workbench").is_dir() else None


def default_home() -> Path:
    """Where data and reports live: ``WORKBENCH_HOME``; else the source checkout the package runs from
    (``make demo``); else, for an installed package, ``$XDG_DATA_HOME/workbench`` (by default
    ``~/.local/share/workbench``) — one place whatever the working directory, so the CLI, the
    dashboard and a notebook started anywhere find the same database."""
    env = os.environ.get("WORKBENCH_HOME")
    if env:
        return Path(env).expanduser().resolve()
    root = project_root()
    if root is not None:
        return root
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return (Path(xdg).expanduser() / "workbench").resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings with the user's YAML overrides applied (cached; call ``get_settings.cache_clear()``)."""
    path = os.environ.get("WORKBENCH_CONFIG")
    candidate = Path(path) if path else Path.cwd() / "workbench.yaml"
    settings = Settings()
    if candidate.exists():
        import yaml

        from .yamlio import load_yaml
        try:
            loaded = load_yaml(candidate.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InputError([Problem("blocked", "bad_yaml", f"not valid YAML: {str(exc).splitlines()[0]}",
                                      file=str(candidate))]) from None
        if not isinstance(loaded, dict):
            raise InputError([Problem("blocked", "bad_yaml", "expected a mapping at the top level", file=str(candidate))])
        settings = settings.with_overrides(loaded, source=str(candidate))
    elif path:
        raise InputError([Problem("blocked", "missing_file", "WORKBENCH_CONFIG names a file that does not exist",
                                  file=str(candidate))])
    return settings
