"""Scheduled cycles and MLflow on real reports: a cycle rebuilds (papermill) only the report whose events
changed and the next one skips everything; `report --mlflow` logs each report once, with its files."""

from __future__ import annotations

import json

import duckdb
import pytest
from cli_runner import invoke

from workbench.ops.cycle import run_cycle

pytestmark = pytest.mark.notebook


def test_a_cycle_refreshes_only_the_changed_report_then_skips_everything(copy_of):
    con = duckdb.connect(str(copy_of.db))
    con.execute("INSERT INTO events SELECT * REPLACE (ts_server + INTERVAL 1 SECOND AS ts_server) FROM events "
                "WHERE experiment_id = 'pdp-beauty-srm' LIMIT 5")
    con.close()
    first = run_cycle(db=copy_of.db, out=copy_of.out, pdf=False)
    assert first.exit_code == 0, first.failed
    assert [r["experiment_id"] for r in first.refreshed if r["step"] == "reports"] == ["pdp-beauty-srm"]
    assert {s["experiment_id"] for s in first.skipped if s["step"] == "reports"} == {"pdp-shoes-hero", "hostile-names"}
    summary = json.loads((copy_of.out / "pdp-beauty-srm" / "summary.json").read_text())
    srm = next(f for f in first.findings if f["key"] == "srm:pdp-beauty-srm")
    assert srm["severity"] == "critical" and srm["detail"]["srm_p"] == summary["story"]["srm_p"]
    second = run_cycle(db=copy_of.db, out=copy_of.out, pdf=False)
    assert second.exit_code == 0 and second.refreshed == () and second.actions == ()
    assert {(s["step"], s["experiment_id"]) for s in second.skipped} >= {
        (step, e) for step in ("reports", "decisions") for e in ("pdp-shoes-hero", "pdp-beauty-srm", "hostile-names")}


def test_report_mlflow_logs_each_report_once(capsys, copy_of, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    args = ("report", "--all", "--db", str(copy_of.db), "--out", str(copy_of.out), "--json", "--mlflow", uri)
    code, out, err = invoke(capsys, None, *args)
    assert code == 0, err
    logged = {r["experiment_id"]: r for r in json.loads(out)["mlflow"]}
    assert set(logged) == {"pdp-shoes-hero", "pdp-beauty-srm", "hostile-names"}
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(logged["pdp-shoes-hero"]["run_id"])
    summary = json.loads((copy_of.out / "pdp-shoes-hero" / "summary.json").read_text())
    [c] = summary["story"]["primary"]["comparisons"]
    assert run.data.metrics["primary.treatment.lift_rel"] == c["lift_rel"]
    assert run.data.tags["workbench.decision"] == summary["story"]["action"] == "launch"
    assert run.data.tags["workbench.report_key"] == summary["report_key"]
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"report.html", "memo.html", "memo.md",
                                                                         "summary.json"}
    code, out, _ = invoke(capsys, None, *args)                      # nothing changed: nothing logged again
    again = json.loads(out)["mlflow"]
    assert code == 0 and all(r["reused"] for r in again)
    assert {r["run_id"] for r in again} == {r["run_id"] for r in logged.values()}
