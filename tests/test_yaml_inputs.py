"""Every YAML file the workbench reads (briefs, policies, the events calendar, credentials, settings, metric
definitions, variant rules) answers a malformed document with an InputError that names the file, never with
a Python exception: odd shapes (a number where a list belongs), complex keys, aliases, and impossible dates."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import InputError
from workbench.yamlio import load_yaml

from cli_runner import invoke

ODD = ["3", "[1, 2]", "'x'", "a: 3", "{? [a] : 1}", "&a [*a]", "a: b: c", "start: 2026-02-30", "id: x\nvariants: 3",
       "id: x\nvariants: [3, 4]", "id: x\nguardrails: [3]", "id: x\nguardrails: ['lcp <= lots']", "events: 3",
       "events: [3]", "events: [{name: x, start: 2026-11-40, end: 2026-12-01}]", "users: 3", "users: {a: 3}",
       "oauth_roles: [a]", "rules: 3", "rules: [3]", "rules: [{when: 3}]", "params: 3", "include: [nope]",
       "metrics: 3", "metrics: {m: 3}", "metrics: [1]", "values: {v: 3}", "banned_words: 3", "banned_words: {en: 3}",
       "exaggerated_claims: {en: ['[']}", "levels: 3", "contrast: {normal_text: x}", "engine: 3",
       "engine: {memory_limit: lots}", "engine: {memory_limit: '4'}", "srm: {warning_p: [1]}"]


def _readers(tmp: Path):
    from workbench import metric_defs
    from workbench.config import Settings
    from workbench.dashboard.auth import load_credentials
    from workbench.lifecycle.brief import ExperimentBrief
    from workbench.lifecycle.calendar import load_calendar
    from workbench.lifecycle.policy_model import load_policy
    from workbench.lifecycle.variant_checks import _compile

    def via_file(read):
        def go(text: str) -> object:
            path = tmp / "input.yaml"
            path.write_text(text, encoding="utf-8")
            return read(path)
        return go

    def settings(text: str) -> object:
        import yaml
        try:
            data = load_yaml(text)
        except yaml.YAMLError as exc:
            raise InputError(str(exc)) from None
        if not isinstance(data, dict):
            raise InputError("not a mapping")
        return Settings().with_overrides(data, source="workbench.yaml")

    return {"brief": lambda t: ExperimentBrief.from_yaml(t, source="brief.yaml"),
            "policy": lambda t: load_policy(t, source="policy.yaml"),
            "calendar": via_file(load_calendar), "credentials": via_file(load_credentials),
            "metric definitions": via_file(metric_defs.load_definitions),
            "variant rules": lambda t: _compile(t, "rules.yaml"), "settings": settings}


def test_malformed_yaml_is_an_input_error_in_every_reader(tmp_path):
    failures = []
    for name, read in _readers(tmp_path).items():
        for text in ODD:
            try:
                read(text)
            except InputError:
                pass
            except Exception as exc:  # noqa: BLE001 - what the test looks for
                failures.append(f"{name} {text!r}: {type(exc).__name__}: {exc}")
    assert failures == []


def test_an_impossible_date_names_its_file_and_line(capsys, tmp_path, monkeypatch):
    cal = tmp_path / "calendar.yaml"
    cal.write_text("events:\n  - name: bf\n    start: 2026-11-40\n    end: 2026-12-01\n", encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_CALENDAR", str(cal))
    code, out, err = invoke(capsys, None, "calendar", "list")
    assert code == 2 and "Traceback" not in err
    assert f"{cal}" in err and "'2026-11-40' is not a date: day is out of range for month" in err


def test_a_memory_limit_without_a_unit_is_refused_before_any_query(capsys, tmp_path, monkeypatch):
    conf = tmp_path / "workbench.yaml"
    conf.write_text("engine: {memory_limit: '4'}\n", encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(conf))
    from workbench.config import get_settings
    get_settings.cache_clear()
    try:
        code, out, err = invoke(capsys, None, "analyze", "-e", "x", "--db", str(tmp_path / "w.duckdb"))
    finally:
        get_settings.cache_clear()
    assert code == 2 and "column engine.memory_limit, value '4': engine.memory_limit must be a size such as 1GB" in err
