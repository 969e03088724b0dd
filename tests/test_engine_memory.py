"""The aggregation under a deliberately small DuckDB memory limit: it spills and gives the same numbers; a limit
it truly cannot fit in ends in one line naming the setting to change (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.cli_runner import invoke


def _limit(monkeypatch, tmp_path: Path, limit: str) -> None:
    cfg = tmp_path / f"workbench-{limit}.yaml"
    cfg.write_text(f"engine:\n  memory_limit: {limit}\n  threads: 1\n", encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(cfg))
    from workbench.config import get_settings
    get_settings.cache_clear()


def test_small_memory_limit_gives_the_same_cube(small_world, monkeypatch, tmp_path):
    from workbench.sources.experiments import load_experiments

    ids = ["pdp-shoes-hero", "pdp-beauty-srm"]
    free = load_experiments(ids, db=small_world["db"])
    _limit(monkeypatch, tmp_path, "48MB")
    tight = load_experiments(ids, db=small_world["db"])
    for e in ids:
        assert free[e].cube["n"].sum() > 100
        pd.testing.assert_frame_equal(free[e].cube, tight[e].cube, check_exact=False, rtol=1e-12)


def test_a_limit_too_small_is_one_line_naming_the_setting(small_world, monkeypatch, tmp_path, capsys):
    _limit(monkeypatch, tmp_path, "4MB")
    code, out, err = invoke(capsys, None, "analyze", "-e", "pdp-shoes-hero", "--db", str(small_world["db"]))
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and out == "" and len(lines) == 1 and "Traceback" not in err
    assert "engine.memory_limit = 4MB" in lines[0] and "workbench.yaml" in lines[0]
