"""Alerts: findings of a scheduled cycle sent to webhooks (Slack-compatible, generic JSON) and e-mail.

A :class:`Finding` is something an operator must hear about: a sample-ratio mismatch, a guardrail
breached or worse than the control, a rollback the monitor took, a report that failed to build.
:func:`findings_of` reads them from an experiment's summary (the story and the decision's facts,
the mapping a report writes to ``summary.json``), so an alert says what the report and the
dashboard say. Each finding has a ``signature`` — what it is about (an SRM at warning vs blocked,
the set of guardrails and their verdicts, the rollback step, the failure's text).

:func:`dispatch` sends each finding once: the signatures already delivered are kept in a small
JSON file (``alert_state.json`` beside the cycle logs); a finding is sent again only when its
signature changes (an SRM turning from warning to blocked, a guardrail going from "worse" to
"limit crossed"), and forgotten when it goes away (so it alerts again if it comes back). A
delivery that failed is not recorded, so the next cycle tries again.

Targets come from ``alerts`` in ``workbench.yaml`` (:class:`workbench.config.AlertSettings`).
Every send has a timeout and a few retries with backoff; all sends run in parallel threads and the
cycle waits for them at most ``timeout_s × (retries + 1)`` plus the backoff, never longer.

>>> f = Finding("srm", "e1", "warning", "SRM in e1", "the split differs from the plan (p = 1e-4)")
>>> f.key, Finding("srm", "e1", "blocked", "", "").key == f.key
('srm:e1', True)
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import json
import os
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..config import AlertSettings
from ..display import ResultMixin, dumps, fmt_action, fmt_p_eq

__all__ = ["Finding", "Delivery", "findings_of", "dispatch", "send_all", "KINDS"]

KINDS = ("srm", "guardrail", "rollback", "report_failed")
STATE_FILE = "alert_state.json"


@dataclass(frozen=True)
class Finding(ResultMixin):
    """One thing to alert on; ``key`` says what it is about, ``signature`` its current form."""

    kind: str
    experiment_id: str
    signature: str
    title: str
    message: str
    severity: str = "warning"          # warning | critical
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.experiment_id}"


@dataclass(frozen=True)
class Delivery(ResultMixin):
    """What happened to one finding at one target."""

    key: str
    target: str
    status: str                         # sent | failed
    attempts: int
    error: str = ""


def findings_of(summary: Mapping[str, Any]) -> list[Finding]:
    """SRM and guardrail findings of one experiment's summary (story + decision facts + guardrail rows)."""
    story = summary.get("story") or {}
    facts = (summary.get("decision") or {}).get("facts") or {}
    eid = str(story.get("experiment_id") or summary.get("experiment_id"))
    out = []
    srm_p = story.get("srm_p")
    if facts.get("srm_warning") or (srm_p is not None and facts.get("srm_warning_p") is not None
                                    and srm_p < facts["srm_warning_p"]):
        level = str(story.get("health") or "warning")
        out.append(Finding("srm", eid, level, f"Sample-ratio mismatch in {eid}",
                           f"The split differs from the plan (chi-square {fmt_p_eq(srm_p)}); health: {level}. "
                           "Results are not trustworthy until the cause is found.",
                           "critical" if level == "blocked" else "warning", {"srm_p": srm_p, "health": level}))
    rows = [g for g in summary.get("guardrails") or () if str(g.get("verdict") or "ok") not in ("ok", "not analysed")
            and g.get("variant") not in (None, "—")]
    if rows:
        sig = ";".join(sorted(f"{g['metric']}|{g['variant']}|{g['verdict']}" for g in rows))
        parts: list[str] = []
        for x in (facts.get("breached_list"), facts.get("severe_list"), facts.get("worsened_list")):
            parts += [p for p in str(x or "").split("; ") if p and p != "none" and p not in parts]
        breached = any(g["verdict"] == "limit crossed" for g in rows)
        what = "; ".join(parts) or ", ".join(f"{g['metric']} ({g['variant']}): {g['verdict']}" for g in rows)
        action = story.get("action")
        out.append(Finding("guardrail", eid, sig, f"Guardrail {'breached' if breached else 'worse'} in {eid}",
                           what + (f". Decision: {fmt_action(action)}." if action else ""),
                           "critical" if breached else "warning",
                           {"guardrails": [{k: g.get(k) for k in ("metric", "variant", "verdict", "delta", "p_value")}
                                           for g in rows]}))
    return out


# --- senders ------------------------------------------------------------------------------------------
def _post(url: str, payload: dict[str, Any], timeout: float) -> None:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "workbench-alerts"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:   # noqa: S310 - URLs come from the operator's config
        if not 200 <= resp.status < 300:
            raise OSError(f"HTTP {resp.status}")


def _slack(f: Finding) -> dict[str, Any]:
    icon = ":rotating_light:" if f.severity == "critical" else ":warning:"
    return {"text": f"{icon} *{f.title}*\n{f.message}"}


def _generic(f: Finding, context: Mapping[str, Any]) -> dict[str, Any]:
    return {"source": "workbench", **f.to_dict(), "key": f.key, **dict(context)}


def _email(f: Finding, cfg: Any, timeout: float) -> None:
    msg = EmailMessage()
    msg["Subject"] = f"[workbench] {f.title}"
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.to)
    msg.set_content(f"{f.message}\n\nexperiment: {f.experiment_id}\nkind: {f.kind}\nseverity: {f.severity}\n")
    with smtplib.SMTP(cfg.host, cfg.port, timeout=timeout) as smtp:
        if cfg.starttls:
            smtp.starttls()
        if cfg.username:
            smtp.login(cfg.username, os.environ.get(cfg.password_env, ""))
        smtp.send_message(msg)


def _with_retries(fn: Callable[[], None], key: str, target: str, s: AlertSettings) -> Delivery:
    error = ""
    for attempt in range(1, s.retries + 2):
        try:
            fn()
            return Delivery(key, target, "sent", attempt)
        except (OSError, urllib.error.URLError, smtplib.SMTPException, ValueError) as exc:
            error = f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}"[:300]
        if attempt <= s.retries:
            time.sleep(s.backoff_s * 2 ** (attempt - 1))
    return Delivery(key, target, "failed", s.retries + 1, error)


def _targets(s: AlertSettings) -> list[tuple[str, str]]:
    out = [("slack", u) for u in s.slack_webhooks] + [("json", u) for u in s.json_webhooks]
    if s.email.host and s.email.to:
        out.append(("email", f"smtp://{s.email.host}:{s.email.port}"))
    return out


def send_all(findings: Sequence[Finding], s: AlertSettings, context: Mapping[str, Any] | None = None, *,
             only: Mapping[str, set[str]] | None = None) -> list[Delivery]:
    """Send every finding to every target (``only``: finding key → the targets still to reach), in
    parallel threads, within the deadline (see the module doc)."""
    jobs: list[tuple[Finding, str, Callable[[], None]]] = []
    for f in findings:
        for kind, target in _targets(s):
            if only is not None and target not in only.get(f.key, set()):
                continue
            if kind == "slack":
                fn = (lambda u=target, f=f: _post(u, _slack(f), s.timeout_s))
            elif kind == "json":
                fn = (lambda u=target, f=f: _post(u, _generic(f, context or {}), s.timeout_s))
            else:
                fn = (lambda f=f: _email(f, s.email, s.timeout_s))
            jobs.append((f, target, fn))
    if not jobs:
        return []
    deadline = s.timeout_s * (s.retries + 1) + sum(s.backoff_s * 2 ** i for i in range(s.retries)) + 1.0
    pool = cf.ThreadPoolExecutor(max_workers=min(8, len(jobs)), thread_name_prefix="alert")
    futures = {pool.submit(_with_retries, fn, f.key, target, s): (f, target) for f, target, fn in jobs}
    done, pending = cf.wait(futures, timeout=deadline)
    pool.shutdown(wait=False, cancel_futures=True)
    out = [fut.result() for fut in done]
    out += [Delivery(futures[fut][0].key, futures[fut][1], "failed", 0, f"gave up after {deadline:g} s")
            for fut in pending]
    return sorted(out, key=lambda d: (d.key, d.target))


# --- deduplication --------------------------------------------------------------------------------------
def _load_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def dispatch(findings: Sequence[Finding], state_dir: Path, s: AlertSettings, *, watched: set[str] | None = None,
             context: Mapping[str, Any] | None = None) -> tuple[list[Finding], list[Delivery]]:
    """Send the findings that are new or changed to the targets that have not had them yet;
    returns (the findings due, every delivery).

    ``watched`` are the keys this cycle looked at: a finding of theirs that is no longer present is
    forgotten (it would alert again if it returned); findings of experiments not looked at are kept.
    With no target configured nothing is sent and nothing is remembered.
    """
    from ..files import write_text_atomic
    path = state_dir / STATE_FILE
    state = _load_state(path)
    targets = [t for _, t in _targets(s)]
    wanted = [f for f in findings if f.kind in s.kinds]
    todo: dict[str, set[str]] = {}
    for f in wanted:
        entry = state.get(f.key) or {}
        reached = set(entry.get("targets") or ()) if entry.get("signature") == f.signature else set()
        if set(targets) - reached or not targets:
            todo[f.key] = set(targets) - reached
    due = [f for f in wanted if f.key in todo]
    deliveries = send_all(due, s, context, only=todo)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    present = {f.key for f in wanted}
    for key in list(state):
        if watched is not None and key in watched and key not in present:
            del state[key]
    for f in due:
        sent = {d.target for d in deliveries if d.key == f.key and d.status == "sent"}
        if not sent:
            continue
        entry = state.get(f.key) or {}
        before = set(entry.get("targets") or ()) if entry.get("signature") == f.signature else set()
        state[f.key] = {"signature": f.signature, "title": f.title, "sent_at": now, "targets": sorted(before | sent)}
    state_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, dumps(state, indent=2, sort_keys=True) + "\n")
    return due, deliveries
