"""Run the ``workbench`` command as the CLI tests do: in this process (fast) or as a real subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest


def invoke(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch | None, *args: str,
           stdin: str = "") -> tuple[int, str, str]:
    """``workbench ARGS`` through its entry point: exit code, stdout, stderr (``stdin`` needs ``monkeypatch``)."""
    from workbench.cli import main

    if monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_workbench(*args: str, stdin: str | None = None, cwd: Path | None = None, env: dict[str, str] | None = None,
                  timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """A real ``workbench`` process (what users and schedulers run); ``env`` adds to the current environment."""
    return subprocess.run([sys.executable, "-m", "workbench", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **(env or {})}, timeout=timeout)
