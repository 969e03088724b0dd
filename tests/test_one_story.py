"""Every view tells the same story: the CLI's JSON, summary.json, the report HTML, the memo and the
dashboard's HTTP API agree on every experiment of the sample world, and no printed reason
contradicts a computed fact.

One world is built for the module: the small sample world with its registry, every experiment's
report (real papermill runs, no PDF), and a real ``workbench serve`` over the same database. To run
the same checks on a world you built yourself (``workbench demo --no-serve``), point
``WORKBENCH_STORY_WORLD`` at a folder holding its ``workbench.duckdb`` and ``reports/``; nothing in it
is written (the server reads a copy).
"""

from __future__ import annotations

import html as html_mod
import json
import os
import re
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from workbench.display import fmt_ci, fmt_lift, fmt_p

from cli_runner import invoke

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def views(small_world, tmp_path_factory) -> dict[str, Any]:
    from workbench.dashboard.auth import add_user
    from workbench.dashboard.server import serving
    from workbench.lifecycle import Registry, seed_from_world
    from workbench.reports import run_reports

    root = tmp_path_factory.mktemp("one-story")
    db = root / "world.duckdb"
    given = os.environ.get("WORKBENCH_STORY_WORLD")
    if given:
        shutil.copy(Path(given) / "workbench.duckdb", db)
        reports = Path(given) / "reports"
    else:
        shutil.copy(small_world["db"], db)
        seed_from_world(Registry(db), by="tests")
        reports = root / "reports"
        run = run_reports(None, db=db, out=reports, workers=2, pdf=False)
        assert not run.failed, run.failed
    users = root / "users.yaml"
    add_user(users, "lee", "viewer-password", "viewer", rounds=4)
    with serving(users, db=db, reports=reports, log=root / "serve.log") as base:
        stories = _api(base, "/api/experiments", cookie=_login(base, "lee", "viewer-password"))
    ids = sorted(s["experiment_id"] for s in stories["experiments"])
    return {"db": db, "reports": reports, "api": {s["experiment_id"]: s for s in stories["experiments"]}, "ids": ids}


def _login(base: str, user: str, password: str) -> str:
    import http.cookiejar
    import urllib.parse
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/login", timeout=30).read()           # sets the _xsrf cookie the form must echo
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    data = urllib.parse.urlencode({"username": user, "password": password, "_xsrf": xsrf}).encode()
    opener.open(urllib.request.Request(f"{base}/login", data=data), timeout=30)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _api(base: str, path: str, *, cookie: str) -> Any:
    req = urllib.request.Request(base + path, headers={"Cookie": cookie})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _text(path: Path) -> str:
    """The visible text of an HTML or Markdown file, entities decoded and white space folded."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S | re.I)
        raw = re.sub(r"<[^>]+>", " ", raw)
    raw = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|>~])", r"\1", raw)      # Markdown backslash escapes
    return _fold(html_mod.unescape(raw))


def _fold(text: str) -> str:
    """White space folded (no-break spaces included) and code backticks dropped, for comparing texts."""
    return re.sub(r"\s+", " ", text.replace("`", "")).strip()


def _same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


STORY_KEYS = ("experiment_id", "control", "variants", "health", "health_reasons", "action", "reason", "reasons", "aa",
              "winner", "rule", "best_variant", "primary", "units", "allocation")


def test_cli_json_summary_and_api_agree(views, capsys, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_DB", str(views["db"]))
    assert len(views["ids"]) >= 10
    for eid in views["ids"]:
        summary = json.loads((views["reports"] / eid / "summary.json").read_text())
        code, out, err = invoke(capsys, None, "decide", eid, "--json", "--no-record")
        assert code == 0, err
        cli = json.loads(out)["story"]
        api = views["api"][eid]
        for key in STORY_KEYS:
            if key == "units" and cli.get(key) is None:
                continue
            _same(summary["story"][key], api[key], f"{eid}: summary.json vs API: {key}")
            _same(cli[key], api[key], f"{eid}: decide --json vs API: {key}")
        assert summary["decision"]["action"] == api["action"] and summary["decision"]["reason"] == api["reason"]


def test_report_and_memo_print_the_story(views) -> None:
    for eid in views["ids"]:
        story = views["api"][eid]
        report = _text(views["reports"] / eid / "report.html")
        memo = _text(views["reports"] / eid / "memo.md")
        for name, text in (("report.html", report), ("memo.md", memo)):
            assert story["reason"] and _fold(story["reason"]) in text, f"{eid} {name}: decision reason"
            for r in story["reasons"]:
                assert _fold(r) in text, f"{eid} {name}: reason {r!r}"
        if story["health"] == "blocked":
            continue
        best = next((c for c in story["primary"]["comparisons"] if c["variant"] == story["best_variant"]), None)
        if best is None:
            continue
        lift = fmt_lift(best["lift_rel"])
        ci = fmt_ci(*best["lift_rel_ci"], pct=True)
        assert lift in report and ci in report, f"{eid}: report lacks {lift} {ci}"
        assert fmt_p(best["p_value_adjusted"]) in report or fmt_p(best["p_value"]) in report, eid


# --- no printed reason contradicts a computed fact ---------------------------------------------------
# Each entry: a phrase that a view may print, and the fact check it claims.
CLAIMS: list[tuple[str, Any]] = [
    (r"no guardrail worsened", lambda f: not f.get("guardrails_worsened")),
    (r"guardrail worsened severely", lambda f: bool(f.get("guardrails_severe"))),
    (r"guardrail limit is crossed", lambda f: bool(f.get("guardrails_breached"))),
    (r"maximum duration .* is reached", lambda f: bool(f.get("max_duration_reached"))),
    (r"health check is Blocked", lambda f: f.get("health") == "blocked"),
    (r"difference is not significant", lambda f: not f.get("primary_significant")),
]


def test_no_reason_contradicts_a_fact(views) -> None:
    for eid in views["ids"]:
        summary = json.loads((views["reports"] / eid / "summary.json").read_text())
        facts = summary["decision"]["facts"]
        memo = _text(views["reports"] / eid / "memo.md")
        for text in [*summary["decision"]["reasons"], memo]:
            for phrase, holds in CLAIMS:
                if re.search(phrase, text):
                    assert holds(facts), f"{eid}: prints {phrase!r} but the facts say otherwise: {facts}"


def test_messages_are_not_repeated(views) -> None:
    for eid in views["ids"]:
        memo = (views["reports"] / eid / "memo.md").read_text(encoding="utf-8")
        bullets = [line.strip() for line in memo.splitlines() if line.strip().startswith(("- ", "* "))]
        repeated = {b for b in bullets if bullets.count(b) > 1}
        assert not repeated, f"{eid}: memo repeats {repeated}"
        story = views["api"][eid]
        assert len(set(story["health_reasons"])) == len(story["health_reasons"]), f"{eid}: {story['health_reasons']}"


def test_each_arm_has_one_colour_in_the_report_and_on_the_dashboard() -> None:
    """The report's trend plot and the dashboard's conversion chart draw the same arms in the same colours
    (one palette, :func:`workbench.display.variant_colors`; the control grey)."""
    import pandas as pd

    from workbench.dashboard.plots import TrendPlot
    from workbench.display import variant_colors
    from workbench.reports.plots import trend_plot

    arms = ["control", "cozy", "minimal"]
    ts = pd.to_datetime(["2026-11-10 10:00", "2026-11-10 11:00"])
    frame = pd.DataFrame({"ts": list(ts) * 3, "variant": [a for a in arms for _ in ts], "cvr": [0.04, 0.05] * 3,
                          "units": [10, 12] * 3, "purchases": [1, 1] * 3})
    report = {r.data_source.data["variant"][0]: r.glyph.line_color for r in trend_plot(frame, "cvr", arms).renderers
              if "variant" in r.data_source.data}
    dashboard = TrendPlot()
    dashboard.update(frame, arms)
    shown = dict(zip(dashboard.line_source.data["variant"], dashboard.line_source.data["colour"]))
    assert report == shown == variant_colors(arms) and shown["control"] == "#6e7781"
