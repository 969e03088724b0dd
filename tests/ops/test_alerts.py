"""Alerts to a real local HTTP receiver and a real SMTP server: once per finding, retries, timeouts."""

from __future__ import annotations

import time

from workbench.config import AlertSettings, EmailSettings
from workbench.ops.alerts import Finding, dispatch, findings_of


def _settings(http, smtp=None, **kw) -> AlertSettings:
    email = EmailSettings(host="127.0.0.1", port=smtp.port, to=("oncall@example.com",)) if smtp else EmailSettings()
    return AlertSettings(**{"slack_webhooks": (http.url("/slack"),), "json_webhooks": (http.url("/json"),),
                            "email": email, "timeout_s": 2.0, "retries": 1, "backoff_s": 0.05, **kw})


def test_each_finding_is_sent_once_until_it_changes(tmp_path, http_receiver, smtp_receiver):
    s = _settings(http_receiver, smtp_receiver)
    srm = Finding("srm", "e1", "warning", "Sample-ratio mismatch in e1", "The split differs (p = 1e-4)")
    guard = Finding("guardrail", "e1", "lcp|b|worse", "Guardrail worse in e1", "lcp (b) +0.2 s worse", "warning")
    due, sent = dispatch([srm, guard], tmp_path, s)
    assert due == [srm, guard] and len(sent) == 6 and {d.status for d in sent} == {"sent"}
    [slack_guard, slack_srm] = sorted(http_receiver.bodies("/slack"), key=lambda b: b["text"])
    assert "Guardrail worse in e1" in slack_guard["text"] and "Sample-ratio mismatch" in slack_srm["text"]
    assert {(b["kind"], b["experiment_id"], b["signature"]) for b in http_receiver.bodies("/json")} == {
        ("srm", "e1", "warning"), ("guardrail", "e1", "lcp|b|worse")}
    assert sorted(m["Subject"] for m in smtp_receiver.messages) == [
        "[workbench] Guardrail worse in e1", "[workbench] Sample-ratio mismatch in e1"]
    assert "The split differs" in smtp_receiver.messages[0].get_payload() + smtp_receiver.messages[1].get_payload()

    assert dispatch([srm, guard], tmp_path, s) == ([], [])             # nothing new: nothing sent
    worse = Finding("srm", "e1", "blocked", "Sample-ratio mismatch in e1", "now blocked", "critical")
    due, sent = dispatch([worse, guard], tmp_path, s)                  # the SRM changed: only it goes out
    assert due == [worse] and len(sent) == 3 and len(http_receiver.bodies("/json")) == 3
    dispatch([], tmp_path, s, watched={"srm:e1", "guardrail:e1"})     # both went away ...
    due, _ = dispatch([guard], tmp_path, s)                            # ... and one came back: alert again
    assert due == [guard] and len(smtp_receiver.messages) == 4


def test_retries_and_a_slow_receiver_never_block(tmp_path, http_receiver):
    http_receiver.fail_first, http_receiver.delay = 1, 3.0
    s = AlertSettings(json_webhooks=(http_receiver.url("/flaky"), http_receiver.url("/slow")), timeout_s=0.3,
                      retries=1, backoff_s=0.05)
    f = Finding("rollback", "e2", "7", "Rolled back: e2", "conversion fell", "critical")
    t0 = time.perf_counter()
    due, sent = dispatch([f], tmp_path, s)
    assert time.perf_counter() - t0 < 2.5                              # two tries of 0.3 s, not the 3 s answer
    by_target = {d.target.rsplit("/", 1)[1]: d for d in sent}
    assert by_target["flaky"].status == "sent" and by_target["flaky"].attempts == 2
    assert by_target["slow"].status == "failed" and "timed out" in by_target["slow"].error
    http_receiver.delay = 0.0
    due, sent = dispatch([f], tmp_path, s)                              # only the target that missed it is retried
    assert [d.target.rsplit("/", 1)[1] for d in sent] == ["slow"] and sent[0].status == "sent"
    assert len(http_receiver.bodies("/flaky")) == 1


def test_findings_read_the_summary_facts():
    summary = {"story": {"experiment_id": "e3", "health": "blocked", "srm_p": 2e-7, "action": "hold"},
               "decision": {"facts": {"srm_warning": True, "breached_list": "lcp (b) 4.1 s > limit 3.5 s",
                                      "worsened_list": "lcp (b) +0.6 s worse; error_rate (b) +0.1 pp worse"}},
               "guardrails": [{"metric": "lcp", "variant": "b", "verdict": "limit crossed"},
                              {"metric": "error_rate", "variant": "b", "verdict": "worse"},
                              {"metric": "aov", "variant": "b", "verdict": "ok"}]}
    srm, guard = findings_of(summary)
    assert (srm.kind, srm.signature, srm.severity) == ("srm", "blocked", "critical") and "p < 0.001" in srm.message
    assert guard.signature == "error_rate|b|worse;lcp|b|limit crossed" and guard.title == "Guardrail breached in e3"
    assert guard.message.startswith("lcp (b) 4.1 s > limit 3.5 s; lcp (b) +0.6 s worse; error_rate (b) +0.1 pp worse")


def test_the_example_configuration_loads(monkeypatch):
    from pathlib import Path

    from workbench.config import get_settings
    monkeypatch.setenv("WORKBENCH_CONFIG", str(Path(__file__).resolve().parents[2] / "docs" / "workbench.example.yaml"))
    get_settings.cache_clear()
    try:
        s = get_settings()
        assert s.alerts.email.to == ("experiments-oncall@example.com",) and s.alerts.retries == 2
        assert s.alerts.slack_webhooks == ("https://hooks.slack.com/services/T000/B000/XXXX",)
        assert s.schedule.every_minutes == 10 and s.tracking.mlflow_uri.startswith("http://")
        one = s.with_overrides({"alerts": {"json_webhooks": "https://a.example/hook"}})   # one URL, not a list
        assert one.alerts.json_webhooks == ("https://a.example/hook",)
    finally:
        get_settings.cache_clear()
