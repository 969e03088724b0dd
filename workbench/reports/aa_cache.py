"""The A/A checks every report shows, kept between report runs under the A/A experiments' own report keys.

Each report's Trust section lists the database's A/A experiments with their health, primary metric,
adjusted p-value and verdict (:func:`workbench.reports.inputs.aa_summary`), so gathering one report used
to load and analyse every A/A experiment as well. Those rows depend on exactly what the A/A experiment's
own report depends on — its events and registry rows, the shared tables, the run's parameters, the code
and settings — so they are stored in the reports directory (``.aa-checks.json``) under that report key
(:func:`workbench.reports.keys.report_key` of the A/A experiment's fingerprint) and reused while the key
is the same; an A/A experiment whose key changed is analysed again with the next gathering. Every report's
own key includes the A/A experiments' fingerprints, so a changed A/A experiment rebuilds the reports
that show it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

from ..files import write_text_atomic

__all__ = ["AA_FILE", "with_aa", "AaChecks"]

AA_FILE = ".aa-checks.json"


def with_aa(fingerprint: str, aa: Mapping[str, str]) -> str:
    """A report's data fingerprint with the A/A experiments' mixed in (unchanged when there is none).

    >>> with_aa("fp", {}) == "fp", with_aa("fp", {"aa": "x"}) == with_aa("fp", {"aa": "y"})
    (True, False)
    """
    if not aa:
        return fingerprint
    return hashlib.sha256(json.dumps([fingerprint, sorted(aa.items())]).encode()).hexdigest()


class AaChecks:
    """The stored A/A check rows whose key is still current, and the new ones a gathering made."""

    def __init__(self, out_dir: Path, keys: Mapping[str, str]) -> None:
        self.path = out_dir / AA_FILE
        self.keys = dict(keys)
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = {}
        self.known: dict[str, dict[str, Any]] = {
            e: dict(v["check"]) for e, v in (stored.items() if isinstance(stored, dict) else ())
            if e in self.keys and isinstance(v, dict) and v.get("key") == self.keys[e] and isinstance(v.get("check"), dict)}

    def update(self, checks: Any) -> None:
        """Keep the rows of a gathering (``ReportInputs.aa_checks``) and write the file when one is new."""
        new = {c["experiment_id"]: dict(c) for c in checks if c.get("experiment_id") in self.keys}
        if all(self.known.get(e) == c for e, c in new.items()):
            return
        self.known.update(new)
        data = {e: {"key": self.keys[e], "check": c} for e, c in sorted(self.known.items())}
        write_text_atomic(self.path, json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")
