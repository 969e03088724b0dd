"""The papermill engine report workers use: the notebook's cells run in this process's IPython shell, no kernel.

A Jupyter kernel costs a report run a second Python process that imports the whole analysis and
plotting stack again, and every output of every cell travels to papermill as ZeroMQ messages. A
report worker (:mod:`workbench.reports.workers`) already has that stack imported, so it executes
the notebook in its own :class:`IPython.core.interactiveshell.InteractiveShell` instead.
Everything that makes the report is still papermill's and the notebook's: papermill injects its
``parameters`` cell and records its metadata (cell durations, status), the cells run in order from
the first, and the executed notebook — with the outputs a kernel would have sent: ``execute_result``
from IPython's display formatter, ``display_data``, ``stream`` and ``error`` outputs — is what is saved
and exported to HTML. As :class:`workbench.reports.execute.ReportEngine`, the notebook is written
once, at the end (with papermill's error marker when a cell failed), and the cells are numbered 1..n.

Each notebook gets a fresh namespace (``__name__ == "__main__"``), so nothing is left over from the
worker's previous report. A cell that fails stops the run as in a kernel; papermill then raises
:class:`papermill.PapermillExecutionError` naming the exception. A cell that runs longer than
``execution_timeout`` seconds is interrupted (``SIGALRM``, when executing in the main thread) and fails
with :class:`CellTimeout`.
"""

from __future__ import annotations

import io
import platform
import signal
import sys
import threading
from typing import Any

from papermill.engines import Engine, papermill_engines

from .execute import _WriteOnceManager, number_cells

__all__ = ["INPROCESS_ENGINE", "InProcessEngine", "CellTimeout", "LANGUAGE_INFO"]

INPROCESS_ENGINE = "workbench-inprocess"
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3", "version": platform.python_version()}
"""What an IPython kernel answers to ``kernel_info`` (papermill stores it in the notebook's metadata)."""


class CellTimeout(Exception):
    """A cell ran longer than the run's cell timeout."""


class _Stream(io.TextIOBase):
    """``sys.stdout`` / ``sys.stderr`` while a cell runs: text becomes the cell's ``stream`` outputs."""

    def __init__(self, name: str, outputs: list[dict[str, Any]]) -> None:
        self.name, self.outputs = name, outputs

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            last = self.outputs[-1] if self.outputs else None
            if last is not None and last["output_type"] == "stream" and last["name"] == self.name:
                last["text"] += text          # consecutive writes make one output, as nbclient merges them
            else:
                self.outputs.append({"output_type": "stream", "name": self.name, "text": text})
        return len(text)


_shell_lock = threading.Lock()
_shell: Any = None


def _get_shell() -> Any:
    """This process's one IPython shell, with hooks that turn what it displays into notebook outputs."""
    global _shell
    with _shell_lock:
        if _shell is not None:
            return _shell
        from IPython.core.displayhook import DisplayHook
        from IPython.core.displaypub import DisplayPublisher
        from IPython.core.interactiveshell import InteractiveShell

        class Publisher(DisplayPublisher):
            def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):  # noqa: ANN001
                self.shell.wb_outputs.append({"output_type": "display_data", "data": data,
                                              "metadata": metadata or {}})

        class Hook(DisplayHook):
            def write_output_prompt(self) -> None:
                pass

            def write_format_data(self, format_dict, md_dict=None) -> None:  # noqa: ANN001
                self.shell.wb_outputs.append({"output_type": "execute_result", "data": format_dict,
                                              "metadata": md_dict or {}, "execution_count": self.prompt_count})

            def finish_displayhook(self) -> None:
                pass

        class Shell(InteractiveShell):
            wb_outputs: list[dict[str, Any]] = []

            def _showtraceback(self, etype, evalue, stb) -> None:  # noqa: ANN001
                self.wb_outputs.append({"output_type": "error", "ename": str(etype.__name__), "evalue": str(evalue),
                                        "traceback": list(stb)})

            def init_displayhook(self) -> None:
                from IPython.core.display_trap import DisplayTrap
                self.displayhook = Hook(parent=self, shell=self, cache_size=self.cache_size)
                self.configurables.append(self.displayhook)
                self.display_trap = DisplayTrap(hook=self.displayhook)

        shell = Shell.instance(colors="nocolor", history_length=0, cache_size=0)
        shell.display_pub = Publisher(shell=shell, parent=shell)
        shell.history_manager.enabled = False
        _shell = shell
        return shell


def _alarm(seconds: float | None) -> Any:
    """Interrupt the running cell after ``seconds`` (main thread only); returns the handler to restore."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        return None

    def ring(signum: int, frame: Any) -> None:
        raise CellTimeout(f"the cell did not finish within {seconds:g} s (reports.cell_timeout_s)")

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return old


def _disarm(old: Any) -> None:
    if old is not None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_cell(shell: Any, source: str, timeout: float | None = None) -> tuple[list[dict[str, Any]], bool]:
    """Run ``source`` in ``shell``; (the outputs a kernel would have sent, whether it failed)."""
    import nbformat

    outputs: list[dict[str, Any]] = []
    shell.wb_outputs = outputs
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Stream("stdout", outputs), _Stream("stderr", outputs)
    old = _alarm(timeout)
    try:
        result = shell.run_cell(source, store_history=True, silent=False)
    finally:
        _disarm(old)
        sys.stdout, sys.stderr = saved
    failed = not result.success
    return [nbformat.from_dict(o) for o in outputs], failed


class InProcessEngine(Engine):
    """Papermill engine executing the notebook in this process's IPython shell (see the module doc)."""

    @classmethod
    def execute_notebook(cls, nb: Any, kernel_name: str, output_path: str | None = None, progress_bar: bool = False,
                         log_output: bool = False, autosave_cell_every: int = 30, **kwargs: Any) -> Any:
        nb_man = _WriteOnceManager(nb, output_path=output_path, progress_bar=False, log_output=log_output,
                                   autosave_cell_every=0)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, **kwargs)
        finally:
            nb_man.notebook_complete()
            number_cells(nb_man.nb)     # papermill writes it next (with its error marker when a cell failed)
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, execution_timeout: float | None = None,
                                 **kwargs: Any) -> None:
        shell = _get_shell()
        shell.reset(new_session=False)          # a fresh namespace for every notebook
        shell.user_ns["__name__"] = "__main__"
        shell.execution_count = 1
        nb = nb_man.nb
        try:
            for index, cell in enumerate(nb.cells):
                nb_man.cell_start(cell, index)
                try:
                    if cell.cell_type != "code" or not cell.source.strip():
                        continue
                    cell.execution_count = shell.execution_count
                    cell.outputs, failed = run_cell(shell, cell.source, execution_timeout)
                    if failed:
                        nb_man.cell_exception(cell, cell_index=index)
                        break
                finally:
                    nb_man.cell_complete(cell, cell_index=index)
        finally:
            nb.metadata["language_info"] = dict(LANGUAGE_INFO)
            shell.reset(new_session=False)      # the report's frames and plots are not kept until the next one


papermill_engines.register(INPROCESS_ENGINE, InProcessEngine)
