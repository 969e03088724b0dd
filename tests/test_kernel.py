"""``workbench kernel install|show``: the Jupyter kernel the report notebook runs in."""

from __future__ import annotations

import json
import sys

import pytest
from cli_runner import invoke

from workbench.errors import WorkbenchError
from workbench.kernel import KERNEL_NAME, find_kernel, require_kernel


def test_kernel_install_writes_a_spec_that_starts_this_python(tmp_path, capsys):
    code, out, err = invoke(capsys, None, "kernel", "install", "--prefix", str(tmp_path), "--json")
    assert code == 0, err
    info = json.loads(out)
    spec = json.loads((tmp_path / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json").read_text())
    assert info["directory"].endswith(f"kernels/{KERNEL_NAME}") and spec["display_name"] == "Python (workbench)"
    assert spec["argv"][0] == sys.executable and "ipykernel_launcher" in spec["argv"]


def test_kernel_show_and_a_missing_kernel(capsys):
    if find_kernel() is None:                  # `make` installs it into .venv; elsewhere it may be missing
        pytest.skip("no `workbench` kernel in this environment")
    code, out, _ = invoke(capsys, None, "kernel", "show", "--json")
    assert code == 0 and json.loads(out)["name"] == KERNEL_NAME
    with pytest.raises(WorkbenchError, match="`workbench kernel install`"):
        require_kernel("workbench-no-such-kernel")
    code, _, err = invoke(capsys, None, "kernel", "install", "--user", "--sys-prefix")
    assert code == 2 and "one of --user, --sys-prefix and --prefix" in err
