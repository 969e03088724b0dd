"""MLflow export: `analyze/decide --mlflow` write runs to a real local tracking store, read back with MlflowClient."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import invoke

pytest.importorskip("mlflow")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A local MLflow file store under tmp_path and a client on it."""
    from mlflow.tracking import MlflowClient
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")     # for the test's own client; the workbench opts in itself
    uri = (tmp_path / "mlruns").as_uri()
    return uri, MlflowClient(tracking_uri=uri, registry_uri=uri)


def _runs(client, name):
    exp = client.get_experiment_by_name(name)
    assert exp is not None, f"no MLflow experiment {name!r}"
    return client.search_runs([exp.experiment_id])


def test_decide_logs_the_story_of_a_canary_next_to_its_model(capsys, store, world_copy, tmp_path):
    uri, client = store
    client.create_registered_model("search-ranker")
    for _ in range(4):                                        # versions 1..4; 4 is the staging model of the brief
        client.create_model_version("search-ranker", (tmp_path / "model").as_uri())
    memo = tmp_path / "memo.html"
    code, out, err = invoke(capsys, None, "decide", "ml-ranker-canary", "--db", str(world_copy), "--memo", str(memo),
                            "--json", "--mlflow", uri)
    assert code == 0, err
    story = json.loads(out)["story"]
    [run] = _runs(client, "workbench/ml-ranker-canary")
    assert run.info.run_id in err
    p, m, t = run.data.params, run.data.metrics, run.data.tags
    assert p["policy"] == story["policy"] == "model-promotion" and p["data_version"] == story["data_version"]
    assert p["brief"] == "registry:ml-ranker-canary" and p["engine"] == "duckdb" and p["data_as_of"] == story["data_as_of"]
    [c] = story["primary"]["comparisons"]
    assert m["primary.staging.lift_rel"] == c["lift_rel"] and m["primary.staging.p_value"] == c["p_value"]
    assert (m["primary.staging.lift_rel_ci_low"], m["primary.staging.lift_rel_ci_high"]) == tuple(c["lift_rel_ci"])
    assert m["primary.staging.prob_beat_control"] == c["prob_beat_control"]
    assert m["srm_p"] == story["srm_p"] and m["units.staging"] == story["units"]["staging"]
    assert any(k.startswith("guardrail.error_rate.staging.") for k in m)
    assert t["workbench.decision"] == story["action"] and t["workbench.health"] == story["health"]
    assert t["mlflow.note.content"] == story["reason"]
    assert (t["model.name"], t["model.version"], t["model.control_version"]) == ("search-ranker", "4", "3")
    assert run.info.run_name.startswith("search-ranker v4: ")
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"memo.html", "summary.json"}
    mv = client.get_model_version("search-ranker", "4")
    assert mv.tags["workbench.decision"] == story["action"] and mv.tags["workbench.run_id"] == run.info.run_id
    logged = json.loads(Path(client.download_artifacts(run.info.run_id, "summary.json", str(tmp_path))).read_text())
    assert logged["story"] == story


def test_analyze_with_a_bare_mlflow_flag_uses_the_configured_store(capsys, store, monkeypatch):
    uri, client = store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    code, out, err = invoke(capsys, None, "analyze", str(REPO / "data/samples/ab_results.csv"), "--json", "--mlflow")
    assert code == 0, err
    res = json.loads(out)
    [run] = _runs(client, f"workbench/{res['experiment_id']}")
    primary = next(x for x in res["metrics"] if x["role"] == "primary")
    [c] = primary["comparisons"]
    assert run.data.metrics[f"primary.{c['variant']}.lift_rel"] == c["lift_rel"]
    assert run.data.params["engine"] == "file" and run.data.params["policy"] == "none"
    assert run.data.tags["workbench.decision"] == "none" and run.data.tags["workbench.health"] == res["health"]["status"]


def test_mlflow_missing_store_is_one_clear_line(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, _, err = invoke(capsys, None, "analyze", str(REPO / "data/samples/ab_results.csv"), "--mlflow",
                          str(blocker / "mlruns"))
    assert code == 2 and "MLflow" in err and "Traceback" not in err
