"""Running NUTS on the hierarchical model, with the sampler chosen by measurement.

Three ways to sample the same posterior (``benchmarks/hierarchical.py`` measures them side by
side, with PyMC's NUTS on the textbook non-centred model as the baseline):

- ``"nutpie"`` (default): nutpie's NUTS (Rust) on the model's log density and gradient in
  :mod:`.compiled_density` ("adaptive", the default, "mixed" and "noncentred") — compiled numba C
  callbacks **cached on disk** (``__pycache__``), so a fresh process starts sampling after well under a second instead
  of recompiling. "centred" falls back to ``"nutpie-pytensor"``.
- ``"nutpie-pytensor"``: nutpie on the PyMC model compiled through PyTensor's numba backend. The
  PyTensor part is cached on disk (PyTensor's compile directory, ``~/.pytensor`` or
  ``PYTENSOR_FLAGS=base_compiledir=...``) but nutpie's C wrapper is rebuilt in every process
  (6–10 s); within a process the compiled model is kept per model shape and re-used with new
  counts through ``with_data``.
- ``"pymc"``: PyMC's own NUTS (C backend, cached in PyTensor's compile directory).

:func:`warm_up` compiles and caches everything once (e.g. after installation).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError, Problem
from .data import SkuData
from .spec import CHOICES, TRACE_VARS, Priors, resolve_parameterisation

__all__ = ["SAMPLERS", "PosteriorSample", "sample_posterior", "sample_growing", "clear_compile_cache", "warm_up"]

SAMPLERS: tuple[str, ...] = ("nutpie", "nutpie-pytensor", "pymc")

_COMPILED: dict[tuple[Any, ...], Any] = {}


@dataclass(frozen=True)
class PosteriorSample:
    """Draws (chain, draw, ...) of the model's variables, divergences, and timings."""

    draws: dict[str, NDArray[np.float64]]
    diverging: NDArray[np.bool_]
    sampler: str
    parameterisation: str
    chains: int
    n_draws: int
    tune: int
    compile_seconds: float
    sample_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def clear_compile_cache() -> None:
    """Forget the in-process compiled models (the on-disk caches are left alone)."""
    _COMPILED.clear()


def _pytensor_nutpie_model(data: SkuData, parameterisation: str, priors: Priors, textbook: bool) -> tuple[Any, float]:
    import nutpie

    from .model import build_model, build_textbook_model, model_data

    if textbook:
        t0 = time.perf_counter()
        compiled = nutpie.compile_pymc_model(build_textbook_model(data, priors), backend="numba",
                                             var_names=list(TRACE_VARS))
        return compiled, time.perf_counter() - t0
    key = (parameterisation, data.n_categories, data.n_skus, data.n_lifts, priors)
    cached = _COMPILED.get(key)
    if cached is not None:
        known = {var.name for var in cached.shared_var_keys}
        return cached.with_data(**{k: v for k, v in model_data(data).items() if k in known}), 0.0
    t0 = time.perf_counter()
    model = build_model(data, parameterisation, priors)  # type: ignore[arg-type]
    compiled = nutpie.compile_pymc_model(model, backend="numba", var_names=list(TRACE_VARS))
    _COMPILED[key] = compiled
    return compiled, time.perf_counter() - t0


def _check(sampler: str, parameterisation: str, **ints: int) -> None:
    problems = []
    if sampler not in SAMPLERS:
        problems.append(Problem("blocked", "bad_sampler", f"sampler must be one of {', '.join(SAMPLERS)}",
                                column="sampler", value=sampler))
    if parameterisation not in CHOICES:
        problems.append(Problem("blocked", "bad_parameterisation",
                                f"parameterisation must be one of {', '.join(CHOICES)}",
                                column="parameterisation", value=parameterisation))
    lows = {"chains": 1, "draws": 10, "tune": 0, "cores": 1}
    for name, value in ints.items():
        if int(value) < lows[name]:
            problems.append(Problem("blocked", "bad_setting", f"{name} must be >= {lows[name]}", column=name,
                                    value=value))
    if problems:
        raise InputError(problems)


def sample_posterior(data: SkuData, *, sampler: str = "nutpie", parameterisation: str = "mixed",
                     chains: int = 4, draws: int | None = None, tune: int = 500, cores: int = 2,
                     target_accept: float = 0.8, seed: int = 0, priors: Priors = Priors(),
                     textbook: bool = False, **nutpie_kwargs: Any) -> PosteriorSample:
    """Sample the hierarchical model's posterior. ``textbook=True`` samples the benchmark baseline.

    ``draws`` per chain default to ``Settings.hierarchical.draws``.
    """
    if draws is None:
        from ..config import get_settings
        draws = get_settings().hierarchical.draws
    _check(sampler, parameterisation, chains=chains, draws=draws, tune=tune, cores=cores)
    compiled_path = sampler == "nutpie" and not textbook
    parameterisation = resolve_parameterisation(parameterisation, data.control_n, data.control_y,
                                                compiled=compiled_path)
    if parameterisation == "adaptive" and not compiled_path:
        raise InputError([Problem("blocked", "bad_parameterisation", "parameterisation 'adaptive' needs "
                                  "sampler 'nutpie' (the compiled density)", column="parameterisation",
                                  value=parameterisation)])
    with warnings.catch_warnings():
        # PyMC/nutpie/numba emit deprecation and performance chatter that says nothing about the fit.
        for category in (FutureWarning, UserWarning, RuntimeWarning, DeprecationWarning):
            warnings.simplefilter("ignore", category=category)
        if sampler in ("nutpie", "nutpie-pytensor"):
            import nutpie

            from .compiled_density import COMPILED_PARAMETERISATIONS, compiled_model

            if sampler == "nutpie" and parameterisation in COMPILED_PARAMETERISATIONS and not textbook:
                t0 = time.perf_counter()
                compiled = compiled_model(data, priors, parameterisation).model
                compile_s = time.perf_counter() - t0
                used = "nutpie"
            else:
                compiled, compile_s = _pytensor_nutpie_model(data, parameterisation, priors, textbook)
                used = "nutpie-pytensor"
            t1 = time.perf_counter()
            raw = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
                                progress_bar=False, target_accept=target_accept, return_raw_trace=True,
                                **nutpie_kwargs)
            sample_s = time.perf_counter() - t1
            draws_out, diverging, steps = _from_arrow(raw, compiled.shapes or {}, tune)
            del raw
            return PosteriorSample(draws=draws_out, diverging=diverging, sampler=used, parameterisation=parameterisation,
                                   chains=chains, n_draws=draws, tune=tune, compile_seconds=compile_s,
                                   sample_seconds=sample_s, extra={"mean_tree_size": float(steps.mean())})
        else:
            import pymc as pm

            from .model import build_model, build_textbook_model

            t0 = time.perf_counter()
            model = (build_textbook_model(data, priors) if textbook
                     else build_model(data, parameterisation, priors))  # type: ignore[arg-type]
            compile_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            with model:
                # PyMC compiles inside pm.sample (C code from PyTensor's disk cache when warm).
                trace = pm.sample(draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed,
                                  target_accept=target_accept, nuts_sampler="pymc", progressbar=False,
                                  compute_convergence_checks=False, var_names=list(TRACE_VARS))
            sample_s = time.perf_counter() - t1
            used = "pymc"
    stats = trace.sample_stats
    extra = {"mean_tree_size": float(np.asarray(stats["n_steps"]).mean()) if "n_steps" in stats else float("nan")}
    post = trace.posterior
    draws_out = {name: np.asarray(post[name].values, dtype=np.float64) for name in TRACE_VARS}
    diverging = np.asarray(stats["diverging"].values, dtype=bool)
    return PosteriorSample(draws=draws_out, diverging=diverging, sampler=used,
                           parameterisation="textbook" if textbook else parameterisation, chains=chains,
                           n_draws=draws, tune=tune, compile_seconds=compile_s, sample_seconds=sample_s, extra=extra)


def _finished(sampler: Any) -> bool:
    """Whether nutpie's background sampler is done (its ``is_finished`` raises TimeoutError while it is not)."""
    try:
        return bool(sampler.is_finished)
    except TimeoutError:
        return False


def sample_growing(data: SkuData, check: Callable[[PosteriorSample], bool], *, first: int, step: int, cap: int,
                   parameterisation: str = "adaptive", chains: int = 4, tune: int = 300, target_accept: float = 0.8,
                   seed: int = 0, priors: Priors = Priors(), poll: float = 0.05) -> PosteriorSample:
    """Chains that keep sampling until ``check(sample)`` says enough: no new chains, no second tuning.

    The compiled density's chains run side by side (one thread each) in the background; when every
    chain has ``first`` draws after tuning they are paused and ``check`` sees the draws so far
    (chains trimmed to the shortest); if it is not satisfied they resume for ``step`` more draws
    each, up to ``cap``. Adding 250 draws to the same, already tuned chains costs a fraction of a
    fresh batch of chains (which repeats the tuning and starts again from 1,000 draws).
    """
    import nutpie

    from .compiled_density import compiled_model

    _check("nutpie", parameterisation, chains=chains, draws=first, tune=tune, cores=1)
    t0 = time.perf_counter()
    compiled = compiled_model(data, priors, parameterisation).model
    compile_s = time.perf_counter() - t0
    done: dict[str, int] = {}

    def seen(progress: Any) -> None:
        done["draws"] = min(int(p.finished_draws) for p in progress) if progress else 0

    checking = 0.0
    t1 = time.perf_counter()
    target = min(first, cap)
    with warnings.catch_warnings():
        for category in (FutureWarning, UserWarning, RuntimeWarning, DeprecationWarning):
            warnings.simplefilter("ignore", category=category)
        sampler = nutpie.sample(compiled, draws=cap, tune=tune, chains=chains, cores=chains, seed=seed,
                                progress_bar=False, target_accept=target_accept, return_raw_trace=True,
                                blocking=False, progress_callback=seen, progress_rate=50)
        try:
            while True:
                while not _finished(sampler) and done.get("draws", 0) < tune + target:
                    time.sleep(poll)
                finished = _finished(sampler)
                if not finished:
                    sampler.pause()
                raw = _arrow_batches(sampler.wait() if finished else sampler.inspect())
                while True:          # a finished run (small models outrun the polling) is checked step by step
                    t2 = time.perf_counter()
                    draws_out, diverging, steps = _from_arrow(raw, compiled.shapes or {}, tune, keep=target, lazy=True)
                    sample = PosteriorSample(draws=draws_out,  # type: ignore[arg-type]
                                             diverging=diverging, sampler="nutpie",
                                             parameterisation=parameterisation, chains=chains,
                                             n_draws=int(diverging.shape[1]), tune=tune, compile_seconds=compile_s,
                                             sample_seconds=t2 - t1 - checking,
                                             extra={"mean_tree_size": float(steps.mean())})
                    enough = check(sample)
                    checking += time.perf_counter() - t2
                    if enough or target >= cap or sample.n_draws < target:
                        return replace(sample, draws=dict(draws_out))      # every variable converted
                    del sample, draws_out
                    target = min(target + step, cap)
                    if not finished:
                        break
                del raw
                sampler.resume()
        finally:
            if not _finished(sampler):
                sampler.cancel()


def _arrow_batches(raw: Any) -> tuple[list[Any], list[Any]]:
    """nutpie's raw trace as Arrow record batches of draws and of statistics, one per chain (taken once)."""
    import pyarrow as pa

    draw_batches, stat_batches = raw.get_arrow_trace()
    return [pa.record_batch(b) for b in draw_batches], [pa.record_batch(b) for b in stat_batches]


class _ArrowDraws(Mapping[str, NDArray[np.float64]]):
    """The posterior draws (chain, draw, ...) of nutpie's Arrow trace, each variable converted when first read.

    A check that only needs the hyperparameters (:func:`.diagnostics.small_rhat`) then never
    copies the 30,000 cells of every draw (1.7 s of CPU at 10,000 SKUs). ``sizes`` gives each
    variable's number of cells without converting it.
    """

    def __init__(self, batches: list[Any], kept: list[int], n: int, shapes: dict[str, tuple[int, ...]]) -> None:
        self._batches, self._kept, self._n = batches, kept, n
        self._shapes = {name: tuple(shapes.get(name, ())) for name in TRACE_VARS}
        self.sizes = {name: int(np.prod(shape)) if shape else 1 for name, shape in self._shapes.items()}
        self._done: dict[str, NDArray[np.float64]] = {}

    def __getitem__(self, name: str) -> NDArray[np.float64]:
        if name not in self._done:
            shape, size, n = self._shapes[name], self.sizes[name], self._n
            arr = np.empty((len(self._batches), n) + shape, dtype=np.float64)
            for c, b in enumerate(self._batches):
                col = b.column(name)
                start = b.num_rows - self._kept[c]
                values = col.values.to_numpy() if shape else col.to_numpy()
                arr[c] = values.reshape(b.num_rows, size)[start:start + n].reshape((n,) + shape)
            self._done[name] = arr
        return self._done[name]

    @property
    def converted(self) -> set[str]:
        """The variables read (converted) so far."""
        return set(self._done)

    def __iter__(self) -> Iterator[str]:
        return iter(self._shapes)

    def __len__(self) -> int:
        return len(self._shapes)


def _from_arrow(raw: Any, shapes: dict[str, tuple[int, ...]], tune: int, keep: int | None = None, lazy: bool = False
                ) -> tuple[Mapping[str, NDArray[np.float64]], NDArray[np.bool_], NDArray[np.float64]]:
    """Posterior draws (chain, draw, ...), divergences and tree sizes straight from nutpie's Arrow trace.

    The tuning draws are dropped and nothing else is converted (ArviZ's conversion of every
    sampler statistic and of the warm-up draws cost seconds and a second copy of the trace at
    catalogue scale): one copy of each variable from Arrow into its NumPy array — when it is first
    read with ``lazy=True``, else now (a plain dict).
    """
    batches, stats = raw if isinstance(raw, tuple) else _arrow_batches(raw)
    kept = [b.num_rows - int(np.asarray(st.column("tuning")).sum()) for b, st in zip(batches, stats)]
    # the first ``n`` draws after tuning of every chain (a chain that ran further is cut, so a paused
    # background run gives the same sample whatever the threads' timing)
    n = min(kept) if keep is None else min(min(kept), keep)
    draws = _ArrowDraws(batches, kept, n, shapes)
    diverging = np.stack([np.asarray(st.column("diverging"))[st.num_rows - k:][:n] for st, k in zip(stats, kept)])
    steps = np.stack([np.asarray(st.column("n_steps"))[st.num_rows - k:][:n] for st, k in zip(stats, kept)])
    return (draws if lazy else dict(draws)), diverging.astype(bool), steps.astype(np.float64)


def warm_up() -> float:
    """Compile and cache the default sampler's code on a tiny world; returns the seconds it took."""
    from .synthetic import simulate_sku_world

    world = simulate_sku_world(n_categories=2, skus_per_category=3, seed=0)
    t0 = time.perf_counter()
    sample_posterior(world.data, draws=20, tune=20, chains=1, cores=1)
    return time.perf_counter() - t0
