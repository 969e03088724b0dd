"""The CLI answers at once: what its start-up imports is guarded here (the timings are benchmarks/cli.py's).

Each check runs a fresh interpreter (an import already made by another test would hide a regression)
and asserts on ``sys.modules`` after the command: ``--help`` loads none of the heavy libraries, and
analysing a small CSV loads neither the database engines, the Bayesian sampler, the dashboard stack,
nor ``scipy.stats`` (about a second to import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cli_runner import invoke

REPO = Path(__file__).resolve().parent.parent

HEAVY = ("numpy", "pandas", "scipy", "pyarrow", "ibis", "duckdb", "pymc", "panel", "bokeh", "holoviews",
         "papermill", "nbformat", "statsmodels", "playwright", "mlflow", "pyspark")
NOT_FOR_A_SMALL_CSV = ("ibis", "duckdb", "pymc", "pytensor", "arviz", "panel", "bokeh", "holoviews", "papermill",
                       "statsmodels", "scipy.stats", "playwright", "mlflow", "pyspark")

_PROBE = """
import json, sys
from workbench.cli import main
imported = sorted(sys.modules)
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("\\n" + json.dumps({"code": code, "imported": imported, "modules": sorted(sys.modules)}))
"""


def _loaded_after(*argv: str, cwd: Path) -> tuple[int, set[str], set[str]]:
    """Exit code, the modules loaded by ``import workbench.cli`` and those loaded after ``workbench ARGV``."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return int(report["code"] or 0), set(report["imported"]), set(report["modules"])


def test_importing_the_cli_and_help_load_no_heavy_library(tmp_path: Path) -> None:
    code, imported, modules = _loaded_after("--help", cwd=tmp_path)
    assert code == 0
    assert "typer" in modules and "workbench.cli.reports" in imported     # the probe did import and run the CLI
    assert sorted(m for m in HEAVY if m in imported) == [], "`import workbench.cli`"
    assert sorted(m for m in HEAVY if m in modules) == [], "`workbench --help`"


def test_analysing_a_small_csv_loads_no_engine_sampler_or_dashboard(tmp_path: Path) -> None:
    csv = tmp_path / "small.csv"
    csv.write_text("variant,users,conversions\ncontrol,1000,100\ntreatment,1000,120\n", encoding="utf-8")
    code, _, modules = _loaded_after("analyze", str(csv), cwd=tmp_path)     # `check` is a subset of this path
    assert code == 0
    assert {"workbench.health", "workbench.stats.compare"} <= modules      # it did check and compare
    assert sorted(m for m in NOT_FOR_A_SMALL_CSV if m in modules) == []


def test_a_failing_read_only_command_creates_no_database(tmp_path: Path, capsys, monkeypatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.setenv("WORKBENCH_DB", str(home / "data" / "workbench.duckdb"))
    monkeypatch.setenv("WORKBENCH_REPORTS", str(home / "reports"))
    code, _, err = invoke(capsys, None, "decide", "nosuch")
    assert code == 2 and "no experiment 'nosuch'" in err and "Traceback" not in err
    code, out, err = invoke(capsys, None, "experiments", "list")     # a read that succeeds: still no file
    assert code == 0, err
    assert sorted(p.name for p in home.rglob("*")) == []
