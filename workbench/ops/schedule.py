"""The cron line and systemd timer that run ``workbench schedule --once`` every few minutes.

:func:`cron_line` and :func:`systemd_units` write the command with absolute paths and the
environment the workbench reads (``WORKBENCH_HOME``, ``WORKBENCH_DB``, ``WORKBENCH_REPORTS``,
``WORKBENCH_CONFIG`` when set), so the scheduled cycle sees the same database, reports and
configuration as the shell that printed them. :func:`install_cron` adds the line to the user's
crontab (replacing an earlier workbench line, so installing twice leaves one);
:func:`install_systemd` writes ``workbench-cycle.service`` and ``workbench-cycle.timer`` for a user
timer (``systemctl --user enable --now workbench-cycle.timer``).

>>> cron_line(15, python="/srv/wb/.venv/bin/python", home="/srv/wb", env={}).split(" cd ")[0]
'*/15 * * * *'
>>> "OnUnitActiveSec=15min" in systemd_units(15, python="/usr/bin/python3", home="/srv/wb", env={})["timer"]
True
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Mapping

from ..errors import InputError, Problem, WorkbenchError

__all__ = ["cron_line", "systemd_units", "install_cron", "install_systemd", "schedule_env", "MARKER", "UNIT"]

MARKER = "# workbench schedule"
UNIT = "workbench-cycle"
ENV_KEYS = ("WORKBENCH_HOME", "WORKBENCH_DB", "WORKBENCH_REPORTS", "WORKBENCH_CONFIG")


def schedule_env() -> dict[str, str]:
    """The workbench's environment variables that are set here, as absolute paths."""
    return {k: str(Path(os.environ[k]).resolve()) if "://" not in os.environ[k] else os.environ[k]
            for k in ENV_KEYS if os.environ.get(k)}


def _check(every: int) -> int:
    if not 1 <= every <= 1440 or (every > 59 and every % 60) or (every < 60 and 60 % every):
        raise InputError([Problem("blocked", "bad_option", "--every must divide an hour (1-30, 60) or be whole "
                                  "hours (120, 180 ... 1440)", column="every", value=every)])
    return every


def _command(python: str, extra: str) -> str:
    return f"{shlex.quote(python)} -m workbench schedule --once{extra}"


def cron_line(every: int, *, python: str | None = None, home: str | Path | None = None,
              env: Mapping[str, str] | None = None, extra: str = "", log: str | Path | None = None) -> str:
    """A crontab line running one cycle every ``every`` minutes (output appended to ``log``)."""
    from ..config import Paths
    _check(every)
    when = f"*/{every} * * * *" if every < 60 else f"0 */{every // 60} * * *" if every < 1440 else "0 0 * * *"
    root = Path(home) if home is not None else Paths.default().home
    env = schedule_env() if env is None else env
    pre = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    out = f" >> {shlex.quote(str(log))} 2>&1" if log else ""
    return (f"{when} cd {shlex.quote(str(root))} && {pre + ' ' if pre else ''}"
            f"{_command(python or sys.executable, extra)}{out}  {MARKER}")


def systemd_units(every: int, *, python: str | None = None, home: str | Path | None = None,
                  env: Mapping[str, str] | None = None, extra: str = "") -> dict[str, str]:
    """``{"service": ..., "timer": ...}``: a oneshot service and the timer that starts it."""
    from ..config import Paths
    _check(every)
    root = Path(home) if home is not None else Paths.default().home
    env = schedule_env() if env is None else env
    lines = "".join(f"Environment={shlex.quote(f'{k}={v}')}\n" for k, v in env.items())
    service = (f"[Unit]\nDescription=Experiment Workbench cycle (reports, decisions, rollout monitor, alerts)\n\n"
               f"[Service]\nType=oneshot\nWorkingDirectory={root}\n{lines}"
               f"ExecStart={_command(python or sys.executable, extra)}\n")
    timer = (f"[Unit]\nDescription=Run the Experiment Workbench cycle every {every} min\n\n"
             f"[Timer]\nOnBootSec=2min\nOnUnitActiveSec={every}min\nPersistent=true\n\n"
             f"[Install]\nWantedBy=timers.target\n")
    return {"service": service, "timer": timer}


def install_cron(line: str) -> str:
    """Put ``line`` in the user's crontab, replacing an earlier workbench line; returns the new crontab."""
    crontab = shutil.which("crontab")
    if crontab is None:
        raise WorkbenchError("no `crontab` command here: install cron, or use --install systemd, or add the printed "
                             "line to your scheduler yourself")
    current = subprocess.run([crontab, "-l"], capture_output=True, text=True, timeout=30)
    kept = [x for x in (current.stdout.splitlines() if current.returncode == 0 else []) if not x.endswith(MARKER)]
    text = "\n".join([*kept, line]) + "\n"
    done = subprocess.run([crontab, "-"], input=text, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise WorkbenchError(f"crontab refused the new table: {done.stderr.strip() or done.returncode}")
    return text


def install_systemd(units: Mapping[str, str], unit_dir: str | Path | None = None) -> list[Path]:
    """Write the service and timer (default ``~/.config/systemd/user``); returns the files written."""
    from ..files import write_text_atomic
    d = Path(unit_dir) if unit_dir is not None else Path.home() / ".config" / "systemd" / "user"
    return [write_text_atomic(d / f"{UNIT}.{kind}", text) for kind, text in units.items()]
