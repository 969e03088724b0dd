"""Every `workbench …` command that any text names exists: `workbench <cmd> [<sub>] --help` exits 0.

Texts searched: README.md, reports/README.md and every other Markdown file of the repository, the
notebooks (code and markdown cells, which hold the report notebook's markdown), every string in the
package's source (CLI help, error messages and hints, memo templates, report and dashboard texts) and
the help texts the CLI itself prints (commands, options, arguments).

A command is named where the text is code: after a backtick, a ``$`` prompt or ``bin/``, or at the
start of an indented line of Markdown (a code block). Plain prose ("the workbench database") is not a
command.
"""

from __future__ import annotations

import re
from pathlib import Path

from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
_CMD = r"workbench ([a-z][a-z0-9-]*)(?:[ \t]+([a-z][a-z0-9-]*))?"
NAMED = re.compile(r"(?:`|\$ |bin/)" + _CMD)                      # code in any text
CODE_BLOCK = re.compile(r"^(?: {4}|\t)\s*" + _CMD, re.M)          # an indented code line of Markdown
SKIP_DIRS = {".venv", ".git", "node_modules", ".pytest_cache", "build", "dist", ".ipynb_checkpoints", "data"}


def _texts() -> dict[str, str]:
    files = [p for pattern in ("*.md", "notebooks/*.py", "notebooks/*.ipynb", "workbench/**/*.py",
                               "workbench/**/*.html", "workbench/**/*.j2", "workbench/**/*.md", "workbench/**/*.txt",
                               "workbench/**/*.yaml", "workbench/**/*.ipynb", "scripts/*.sh", "Makefile")
             for p in ROOT.glob(pattern) if not SKIP_DIRS & set(p.relative_to(ROOT).parts)]
    files += [p for p in ROOT.glob("**/README.md") if not SKIP_DIRS & set(p.relative_to(ROOT).parts)]
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8", errors="replace") for p in sorted(set(files))}


def _help_texts(cmd: Any, path: str = "workbench") -> dict[str, str]:
    """Every help text the CLI prints: the command's, its options' and arguments', recursively."""
    bits = [cmd.help or "", cmd.short_help or "", getattr(cmd, "epilog", None) or ""]
    bits += [getattr(p, "help", None) or "" for p in cmd.params]
    out = {f"--help of {path}": "\n".join(bits)}
    for name, sub in (cmd.commands.items() if hasattr(cmd, "commands") else ()):
        out.update(_help_texts(sub, f"{path} {name}"))
    return out


def _root() -> Any:
    from workbench.cli import app
    return typer.main.get_command(app)


def named_commands() -> dict[tuple[str, ...], list[str]]:
    """(cmd,) or (group, sub) → where it is named."""
    root = _root()
    texts = {**_texts(), **_help_texts(root)}
    found: dict[tuple[str, ...], list[str]] = {}
    for where, text in texts.items():
        matches = list(NAMED.finditer(text))
        if where.endswith(".md"):
            matches += list(CODE_BLOCK.finditer(text))
        for m in matches:
            cmd, sub = m.group(1), m.group(2)
            group = root.commands.get(cmd)
            key = (cmd, sub) if hasattr(group, "commands") and sub else (cmd,)
            found.setdefault(key, []).append(where)
    return found


def test_the_search_finds_the_commands_the_docs_name():
    found = named_commands()
    for key in (("simulate",), ("report",), ("allocate",), ("bandit-log",), ("experiments", "create")):
        assert key in found, key
    assert len(found) >= 20


@pytest.mark.parametrize("key", sorted(named_commands()), ids=lambda k: " ".join(k))
def test_every_named_command_exists(key):
    where = ", ".join(sorted(set(named_commands()[key]))[:5])
    from workbench.cli import app
    result = CliRunner().invoke(app, [*key, "--help"])
    assert result.exit_code == 0, f"`workbench {' '.join(key)}` is named in {where} but does not exist: " \
                                  f"{result.output[-300:]}"
