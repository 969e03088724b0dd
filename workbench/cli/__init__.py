"""The ``workbench`` command line.

Each area of the workbench registers its commands from its own module (``register(app)``), so the
command list grows without one file owning everything. User mistakes raise
:class:`workbench.errors.WorkbenchError`; :func:`main` prints them on one line per problem and exits
with status 2 — never a traceback.
"""

from __future__ import annotations

import signal
import sys
import threading

import typer
from rich.markup import escape as rich_escape

from ..errors import WorkbenchError
from . import analysis, bandits, calendar, data, governance, lifecycle, metrics, ops, reports, serve

app = typer.Typer(
    name="workbench",
    help="Experiment Workbench: plan, check, analyse, decide and report online A/B experiments and bandits.\n\n"
         "Start with `workbench demo` (sample world -> analyses -> reports -> dashboard), or "
         "`workbench analyze results.csv` on your own aggregated results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)



@app.callback()
def _root() -> None:
    # Present as a command group even while only one command is registered.
    pass


for _module in (data, analysis, bandits, lifecycle, governance, calendar, reports, ops, serve, metrics):
    _module.register(app)


_ctrl_c = False


def _on_ctrl_c(signum: int, frame: object) -> None:
    """SIGINT as Python handles it (KeyboardInterrupt), remembered: a library interrupted by it may raise its own
    error instead (DuckDB: ``RuntimeError: Query interrupted``), and the command still ends as Ctrl-C ends it."""
    global _ctrl_c
    _ctrl_c = True
    signal.default_int_handler(signum, frame)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. Ctrl-C ends a command with status 130 and no traceback, whatever was running."""
    global _ctrl_c
    _ctrl_c = False
    watch = threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if watch:
        signal.signal(signal.SIGINT, _on_ctrl_c)
    try:
        _main(argv)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:
        if _ctrl_c:
            sys.exit(130)
        raise
    finally:
        if watch:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _main(argv: list[str] | None) -> None:
    try:
        from . import _common
        from ._common import optional_values
        _common.WHOLE_PROCESS = argv is None
        app(args=optional_values(list(sys.argv[1:] if argv is None else argv)), prog_name="workbench")
    except WorkbenchError as err:
        from ._common import err_console
        for line in str(err).splitlines() or ["error"]:
            err_console.print(f"[bold red]error:[/] {rich_escape(line)}", highlight=False, markup=True, soft_wrap=True)
        sys.exit(err.exit_code)
    except OSError as exc:
        if exc.filename is None:          # not about a file the user named: a real fault, keep the traceback
            raise
        from ._common import err_console
        err_console.print(f"[bold red]error:[/] {rich_escape(str(exc.filename))}: {rich_escape(exc.strerror or str(exc))}",
                          highlight=False, markup=True, soft_wrap=True)
        sys.exit(2)
