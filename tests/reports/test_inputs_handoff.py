"""The report's input hand-off file is a pickle (it runs code when loaded), so it is private to the user who
runs the reports: the file 0600 in a folder 0700."""

from __future__ import annotations

import stat

from workbench.reports.inputs import save_inputs


def test_the_hand_off_file_and_its_folder_are_private(tmp_path):
    path = save_inputs({"experiment_id": "x"}, tmp_path / "reports" / ".run-abc" / "x.pkl")   # type: ignore[arg-type]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
