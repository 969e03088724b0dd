"""The ``workbench`` Jupyter kernel: the interpreter the report notebook and the exploration notebooks run in.

``workbench report`` executes its notebook in the kernel named ``workbench`` (papermill); JupyterLab
lists it as "Python (workbench)". A checkout gets it from ``make``; an installed package from
``workbench kernel install``, which writes a kernelspec that starts *this* interpreter (so the
notebooks import the same workbench and libraries as the CLI). By default it goes into the active
virtual environment (``--sys-prefix``), or into the user's Jupyter directory outside one.

>>> default_scope() in ("sys-prefix", "user")
True
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .display import ResultMixin
from .errors import WorkbenchError

__all__ = ["KERNEL_NAME", "DISPLAY_NAME", "KernelInfo", "default_scope", "find_kernel", "install_kernel",
           "require_kernel"]

KERNEL_NAME = "workbench"
DISPLAY_NAME = "Python (workbench)"
Scope = Literal["sys-prefix", "user"]


@dataclass(frozen=True)
class KernelInfo(ResultMixin):
    """An installed kernelspec: its name, folder and the Python it starts."""

    name: str
    directory: str
    python: str
    display_name: str

    @property
    def is_this_python(self) -> bool:
        return Path(self.python).resolve() == Path(sys.executable).resolve() if self.python else False


def default_scope() -> Scope:
    """``sys-prefix`` inside a virtual environment (the kernel goes with it), else ``user``."""
    return "sys-prefix" if sys.prefix != sys.base_prefix else "user"


def find_kernel(name: str = KERNEL_NAME) -> KernelInfo | None:
    """The kernelspec ``name`` as Jupyter finds it from this interpreter, or None."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return None
    python = spec.argv[0] if spec.argv else ""
    if python in ("python", "python3", "{python}"):     # ipykernel's native spec: this interpreter
        python = sys.executable
    return KernelInfo(name, str(spec.resource_dir), python, spec.display_name)


def install_kernel(name: str = KERNEL_NAME, *, scope: Scope | None = None, prefix: str | Path | None = None,
                   display_name: str = DISPLAY_NAME) -> KernelInfo:
    """Install (or replace) the kernelspec ``name`` that starts this interpreter; returns where it went."""
    from ipykernel.kernelspec import install

    scope = scope or default_scope()
    if prefix is not None:
        where = install(kernel_name=name, display_name=display_name, prefix=str(prefix))
    else:
        where = install(kernel_name=name, display_name=display_name, user=scope == "user",
                        prefix=sys.prefix if scope == "sys-prefix" else None)
    return KernelInfo(name, str(where), sys.executable, display_name)


def require_kernel(name: str = KERNEL_NAME) -> KernelInfo:
    """The kernelspec ``name``, or a one-line error that says how to install it."""
    info = find_kernel(name)
    if info is None:
        raise WorkbenchError(f"no Jupyter kernel named {name!r}: the report notebook runs in it — install it with "
                             "`workbench kernel install`")
    return info
