"""The cold-start and A/B-vs-bandit notebooks run end to end (papermill, small parameters)."""

from __future__ import annotations

import json
from pathlib import Path

import papermill as pm
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _run(name: str, tmp_path: Path, **params) -> dict:
    out = tmp_path / name
    pm.execute_notebook(str(NOTEBOOKS / name), str(out), parameters=params, kernel_name="workbench",
                        progress_bar=False, cwd=str(tmp_path))
    return json.loads(out.read_text(encoding="utf-8"))


def _outputs(nb: dict) -> str:
    return "\n".join(json.dumps(c.get("outputs", [])) for c in nb["cells"] if c["cell_type"] == "code")


@pytest.mark.notebook
def test_cold_start_notebook(tmp_path):
    nb = _run("hierarchical_cold_start.ipynb", tmp_path, n_categories=6, skus_per_category=8, seed=3, draws=200)
    text = _outputs(nb)
    assert "rmse_lift_logodds" in text and "empirical Bayes" in text and "hierarchical" in text


@pytest.mark.notebook
def test_ab_vs_bandit_notebook(tmp_path):
    nb = _run("ab_vs_bandit.ipynb", tmp_path, rounds=5000, reps=10, true_rates=[0.04, 0.06], variants=["control", "b"])
    text = _outputs(nb)
    assert "thompson" in text and "P(best)" in text


def test_notebooks_take_parameters():
    # Stored clean and paired with their .py: tests/notebooks/test_notebooks.py.
    for name in ("hierarchical_cold_start", "ab_vs_bandit"):
        nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb["cells"])
