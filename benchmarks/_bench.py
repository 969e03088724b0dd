"""What every benchmark shares: the machine's load beside the figures, one timing rule, the peers' environment.

- :func:`load_note` — the load averages and cores, printed beside every figure (a busy machine is slower).
- :func:`timed` — the **median** of ``repeats`` wall-clock runs (and of their CPU times). Every ratio in
  ``benchmarks/`` times both of its sides with this same rule, so neither side is a best case.
- :func:`peer_python` / :func:`run_in_peers` — GrowthBook's gbstats 0.8 and spotify-confidence need
  numpy < 2, which the workbench's environment excludes; they (and MABWiser) run in a small venv of their
  own under ``benchmarks/.cache/peers-venv`` (git-ignored, made on first use from
  ``benchmarks/peers-requirements.txt`` with the Python that ``scripts/find-python.sh`` finds) and
  exchange JSON with the benchmark through ``benchmarks/_peers_adapter.py``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
PEERS_VENV = CACHE / "peers-venv"
REQUIREMENTS = HERE / "peers-requirements.txt"


def load_note() -> str:
    """``load 1.9 / 1.6 / 1.4 (1, 5, 15 min) on 2 cores`` — print it beside the figures."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} / {five:.1f} / {fifteen:.1f} (1, 5, 15 min) on {os.cpu_count()} cores"


@dataclass(frozen=True)
class Timing:
    """Median wall-clock and CPU seconds of ``runs`` runs, every run's wall time, and the last result."""

    wall: float
    cpu: float
    runs: tuple[float, ...]
    result: Any

    def __str__(self) -> str:
        return f"{self.wall:.3f} s (median of {len(self.runs)})"


def timed(fn: Callable[[], Any], repeats: int = 3) -> Timing:
    """Run ``fn`` ``repeats`` times; the median wall-clock and CPU time (the rule for both sides of a ratio)."""
    walls, cpus, out = [], [], None
    for _ in range(max(1, repeats)):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return Timing(statistics.median(walls), statistics.median(cpus), tuple(walls), out)


def equivalent(ours: Any, theirs: Any, margin: float, level: float = 0.95) -> tuple[float, float, float, str]:
    """Are two means the same? The Welch interval of ``mean(theirs) − mean(ours)`` at ``level``, each side with
    its own spread, against ±``margin`` × mean(ours): ``same`` when the interval lies inside (an equivalence
    test), ``DIFFERENT`` when it excludes 0, ``inconclusive`` otherwise (more replications needed).

    >>> equivalent([10, 11, 9, 10, 10], [10, 10, 11, 9, 10], 0.2)[3]
    'same'
    >>> equivalent([10, 11, 9, 10, 10], [14, 15, 13, 14, 14], 0.2)[3]
    'DIFFERENT'
    """
    import numpy as np
    from scipy import stats

    a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    diff = float(b.mean() - a.mean())
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1)) if va + vb > 0 else np.inf
    half = float(stats.t.ppf(0.5 + level / 2, df) * np.sqrt(va + vb))
    lo, hi = diff - half, diff + half
    bound = margin * abs(float(a.mean()))
    verdict = "same" if -bound <= lo and hi <= bound else ("DIFFERENT" if lo > 0 or hi < 0 else "inconclusive")
    return lo, hi, bound, verdict


def peer_python(*, install: bool = True) -> Path | None:
    """The peers' interpreter, making the venv on first use; None (with the reason on stderr) if it cannot be made."""
    py = PEERS_VENV / "bin" / "python"
    stamp = PEERS_VENV / ".installed"
    if py.exists() and stamp.exists() and stamp.read_text() == REQUIREMENTS.read_text():
        return py
    if not install:
        return None
    try:
        base = subprocess.run(["bash", str(HERE.parent / "scripts" / "find-python.sh")], capture_output=True,
                              text=True, check=True).stdout.strip()
        print(f"(making the peers' environment {PEERS_VENV.relative_to(HERE.parent)} with {base}; once)", file=sys.stderr)
        if not py.exists():
            subprocess.run([base, "-m", "venv", str(PEERS_VENV)], check=True)
        pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
        # gbstats 0.8.0 pins pandas < 2 (no wheel for Python 3.12); its statistics do not use pandas
        subprocess.run([*pip, "--no-deps", "gbstats==0.8.0"], check=True)
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"the peers' environment could not be made ({e}); their columns are skipped", file=sys.stderr)
        return None
    stamp.write_text(REQUIREMENTS.read_text())
    return py


def run_in_peers(task: str, payload: Any, *, timeout: float = 3600) -> dict[str, Any] | None:
    """Run ``_peers_adapter.py task`` in the peers' environment with ``payload`` as JSON on stdin."""
    py = peer_python()
    if py is None:
        return None
    proc = subprocess.run([str(py), str(HERE / "_peers_adapter.py"), task], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        print(f"the peers' adapter failed ({task}):\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)
