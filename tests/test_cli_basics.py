"""The CLI explains itself and turns user mistakes into exit code 2 without a traceback."""

from __future__ import annotations

from cli_runner import run_workbench as run


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    assert "Experiment Workbench" in r.stdout


def test_unknown_command_exits_2():
    r = run("no-such-command")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
