"""CLI of the data layer: simulate, summarize; user mistakes exit 2 with a clear line, no traceback."""

from __future__ import annotations

import json

from cli_runner import run_workbench as run


def test_simulate_then_summarize(tmp_path):
    db = tmp_path / "w.duckdb"
    r = run("simulate", "--out", str(db), "--seed", "2", "--scale", "0.01")
    assert r.returncode == 0, r.stderr
    assert "events of 13 experiments" in r.stdout
    r = run("summarize", "--experiment", "pdp-shoes-hero", "--db", str(db), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["experiment_id"] == "pdp-shoes-hero" and [row["variant"] for row in out["rows"]] == ["control",
                                                                                                    "treatment"]
    assert 0 < out["rows"][0]["cvr"] < 0.2


def test_summarize_aggregated_csv(tmp_path):
    f = tmp_path / "ab.csv"
    f.write_text("variant,users,conversions,guardrail_error\ncontrol,10000,1200,35\ntreatment,10050,1320,33\n")
    r = run("summarize", str(f))
    assert r.returncode == 0, r.stderr
    assert "conversion_rate [P]" in r.stdout and "12.00%" in r.stdout and "13.13%" in r.stdout


def test_bad_file_exits_2_with_every_problem_and_no_traceback(tmp_path):
    (tmp_path / "bad.csv").write_text("variant,users,conversions\ncontrol,100,120\ntreatment,-5,1\n")
    r = run("summarize", "bad.csv", cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [
        "error: bad.csv: row 1 (line 2), column conversions, value 120: conversions (120) exceed users (100); "
        "conversions count converted users, at most one per user",
        "error: bad.csv: row 2 (line 3), column users, value -5: users must not be negative"]


def test_missing_database_and_unknown_experiment(tmp_path, small_world):
    r = run("summarize", "--db", str(tmp_path / "none.duckdb"))
    assert r.returncode == 2 and "database not found" in r.stderr and "Traceback" not in r.stderr
    r = run("summarize", "--experiment", "nope", "--db", str(small_world["db"]))
    assert r.returncode == 2 and "unknown experiment 'nope'" in r.stderr


def test_unknown_file_form(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    r = run("summarize", "x.csv", cwd=tmp_path)
    assert r.returncode == 2 and "cannot tell what this file is" in r.stderr


def test_event_log_with_a_disguised_email_in_the_user_agent_exits_2_with_one_masked_line(tmp_path):
    header = "ts_server,user_key,session_id,product_id,experiment_id,variant_id,event,device,channel,price,quantity,user_agent"
    rows = [f"2026-11-10 10:00:0{i},{i:016x},{i:016x}-0,sho-0001,exp,{'control' if i % 2 else 'b'},impression,mobile,"
            f"organic,10.0,0,Mozilla/5.0" for i in range(4)]
    rows[2] = rows[2].replace("Mozilla/5.0", "Mozilla/5.0 (kim%40mail.co.kr)")
    (tmp_path / "events.csv").write_text("\n".join([header, *rows]) + "\n")
    r = run("summarize", "events.csv", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "kim%40mail" not in r.stderr
    assert r.stderr.splitlines() == [
        "error: events.csv: row 3 (line 4), column user_agent: user_agent contains a raw e-mail address "
        "(k***@m***.kr); remove or hash it before loading — raw identifiers are refused (1 row like this)"]


def test_simulate_a_larger_portfolio(tmp_path):
    import duckdb

    db = tmp_path / "big.duckdb"
    r = run("simulate", "--out", str(db), "--seed", "3", "--scale", "0.002", "--experiments", "15")
    assert r.returncode == 0, r.stderr
    assert "events of 15 experiments" in r.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        rows = dict(con.execute("SELECT experiment_id, owner FROM world_experiments").fetchall())
    assert len(rows) == 15 and {"pdp-shoes-hero-2", "pdp-electronics-cta-2"} <= set(rows)
    assert rows["pdp-shoes-hero"] == "growth-team" and rows["pdp-shoes-hero-2"] != "growth-team"
    r = run("simulate", "--out", str(tmp_path / "none.duckdb"), "--experiments", "0")
    assert r.returncode == 2 and "Traceback" not in r.stderr
