"""Work on blocks of parameters spread over all cores.

Posterior summaries and diagnostics touch every draw of thousands of parameters. Done one block
of parameters at a time, each block's draws stay in cache; done on a thread per core, NumPy's
sorting and ufuncs, SciPy's FFT and ``nogil`` numba loops run in parallel (they release the GIL).

>>> import numpy as np
>>> out = np.zeros(10)
>>> def square(s): out[s] = np.arange(10)[s] ** 2
>>> in_blocks(square, 10, size=3)
>>> out.astype(int).tolist()
[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable

__all__ = ["in_blocks"]


def in_blocks(fn: Callable[[slice], None], n: int, size: int = 32) -> None:
    """Call ``fn(slice)`` for consecutive slices of ``range(n)`` of at most ``size``, on all cores."""
    slices = [slice(i, min(i + size, n)) for i in range(0, n, size)]
    workers = min(len(slices), os.cpu_count() or 1)
    if workers <= 1:
        for s in slices:
            fn(s)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="blocks") as pool:
        for _ in pool.map(fn, slices):    # re-raises the first error of any block
            pass
