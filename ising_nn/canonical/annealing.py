"""Population annealing as a method: a pilot run places the schedule, independent runs follow it (each a Dask
task, or in this process), and their weighted average gives U, C, F, S per spin with errors.

Runs ``m = 1 ... M`` share the schedule, so at every step each has an estimate of ln Z, of the mean energy and
of the energy variance. They are combined with weights ``Z_m / sum Z`` (Machta 2010): the combination is what
one run of ``M R`` replicas would estimate, its systematic error shrinking as ``1 / (M R)``. The specific
heat comes from the weighted moments, ``<E^2> = sum_m w_m (Var_m + U_m^2)`` (Ebert, Gessert and Weigel), ln Z
from the mean of the ``Z_m``. Errors: delete-one-run jackknife, which holds every correlation within a run.

Every run records U and Var E from the exact marginal of the even layers and of the odd layers alone
(:mod:`.population`); each parity gives the whole estimate above, and the result is ``w est_odd + (1 - w)
est_even`` with the one weight that makes C's jackknife variance least (the median over the output temperatures
of the per-temperature optimum, as replica exchange's :func:`~ising_nn.canonical.rbmbar.parity_weight`). Runs
without the two records (checkpoints from before them) are combined from the parities' mean, as they were.

Equilibrium by the method's own criterion: at a step, the combined population ``M_eff R`` (``M_eff`` the
effective number of runs, ``1 / sum w_m^2``) must be at least :data:`RHO_FACTOR` times the mean family
statistic ``rho_t`` of the runs; ``T_equilibrated`` is the lowest step temperature from which every hotter
step passes. A second check, independent of it: the same estimates from populations ``R`` and ``4R`` agree
(:func:`ising_nn.paper.checks`).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import logsumexp, softmax

from ising_nn import validate
from ising_nn._version import __version__
from ising_nn.canonical.chain import precision_fields
from ising_nn.canonical.common import check_device, check_range
from ising_nn.canonical.estimators import jackknife_error
from ising_nn.canonical.mbar import _peak
from ising_nn.canonical.population import PARun, anneal_population
from ising_nn.canonical.rbmbar import parity_weight
from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings
from ising_nn.results.thermo import ThermoCurve

__all__ = ["PopulationResult", "population_annealing", "combine_runs", "RHO_FACTOR"]

#: The combined population must hold at least this many times rho_t replicas (Wang, Machta and Katzgraber
#: 2015: systematic errors are O(rho_t / R); 1/100 of the population keeps them below a per cent of the
#: statistical ones at the sizes run here).
RHO_FACTOR = 100.0


@dataclass(frozen=True)
class PopulationResult:
    """Outcome of :func:`population_annealing`.

    Attributes
    ----------
    curve : ThermoCurve
        U, C, F, S per spin with jackknife errors at the schedule's temperatures in ``[tmin, tmax]``; T_c is
        the maximum of C there.
    beta_i : ndarray, shape (n_steps,)
        The schedule (ascending from 0).
    U_i, U_err_i, C_i, C_err_i : ndarray, shape (n_steps,)
        Weighted averages over the runs at every step, with errors.
    rho_t_mi, families_mi : ndarray, shape (M, n_steps)
        Family statistics of each run.
    M_eff_i : ndarray, shape (n_steps,)
        Effective number of runs (``1 / sum w_m^2``).
    equilibrated_i : ndarray of bool, shape (n_steps,)
        The step and every hotter one pass the family criterion.
    T_equilibrated : float
    runs : list of PARun
    header : dict
    """

    curve: ThermoCurve
    beta_i: np.ndarray
    U_i: np.ndarray
    U_err_i: np.ndarray
    C_i: np.ndarray
    C_err_i: np.ndarray
    rho_t_mi: np.ndarray
    families_mi: np.ndarray
    M_eff_i: np.ndarray
    equilibrated_i: np.ndarray
    T_equilibrated: float
    runs: list
    n_spins: int
    header: dict = field(default_factory=dict)

    @property
    def T_i(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return 1.0 / self.beta_i


def _estimate(beta_i, ln_Z_mi, U_mi, var_mi, N, sel):
    """U, C, F, S per spin at every step from the runs ``sel`` (weighted average)."""
    lz = ln_Z_mi[sel]
    w = softmax(lz, axis=0)
    U = (w * U_mi[sel]).sum(0)
    E2 = (w * (var_mi[sel] + (N * U_mi[sel]) ** 2)).sum(0)
    C = beta_i**2 * np.maximum(E2 - (N * U) ** 2, 0.0) / N
    ln_Z = logsumexp(lz, axis=0) - math.log(lz.shape[0])
    S = (ln_Z + beta_i * N * U) / N
    with np.errstate(divide="ignore", invalid="ignore"):
        F = np.where(beta_i > 0, -ln_Z / (N * beta_i), -np.inf)
    return np.stack([U, C, F, S]), w


def _parities(runs) -> tuple[np.ndarray, np.ndarray] | None:
    """``(U_mpi, var_mpi)``, shape (M, 2, n_steps), when every run has both parities' records at every step."""
    if any(getattr(r, "U_pi", None) is None or getattr(r, "var_E_pi", None) is None for r in runs):
        return None
    U, var = np.stack([r.U_pi for r in runs]), np.stack([r.var_E_pi for r in runs])
    return (U, var) if np.isfinite(U).all() and np.isfinite(var).all() else None


def _combined(beta_i, ln_Z, U, var, n_spins):
    M = ln_Z.shape[0]
    est, w = _estimate(beta_i, ln_Z, U, var, n_spins, np.arange(M))
    jk = None if M < 2 else np.stack(
        [_estimate(beta_i, ln_Z, U, var, n_spins, np.delete(np.arange(M), m))[0] for m in range(M)])
    return est, w, jk


def _mix(w: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``w a + (1 - w) b``, and ``a`` where the two are equal (F = -inf at beta = 0, whatever ``w``)."""
    with np.errstate(invalid="ignore"):
        return np.where(a == b, a, w * a + (1.0 - w) * b)


def combine_runs(runs: list[PARun], n_spins: int, weight_steps: np.ndarray | None = None):
    """``(est, err, w_mi, jk, w_odd)``: the weighted average over ``runs`` (shape (4, n_steps): U, C, F, S per
    spin), its delete-one-run jackknife error, the runs' weights (shape (M, n_steps)), the jackknife replicates
    (shape (M, 4, n_steps); None for one run) and the weight of the odd layers' marginal (module docstring; NaN
    when the runs carry the parities' mean alone, 0.5 for one run).

    ``weight_steps``: the steps whose per-temperature optimum enters the parity weight's median (default every
    step after beta = 0)."""
    beta_i = runs[0].beta_i
    if any(len(r.beta_i) != len(beta_i) or not np.array_equal(r.beta_i, beta_i) for r in runs):
        raise ValueError("runs to combine must share their schedule")
    ln_Z = np.stack([r.ln_Z_i for r in runs])
    M = len(runs)
    par = _parities(runs)
    if par is None:
        est, w, jk = _combined(beta_i, ln_Z, np.stack([r.U_i for r in runs]), np.stack([r.var_E_i for r in runs]),
                               n_spins)
        w_odd = math.nan
    else:
        (e0, w, j0), (e1, _, j1) = (_combined(beta_i, ln_Z, par[0][:, p], par[1][:, p], n_spins) for p in (0, 1))
        sel = np.flatnonzero(beta_i > 0) if weight_steps is None else np.asarray(weight_steps)
        w_odd = 0.5 if M < 2 else parity_weight(np.stack([j1[:, 1, sel], j0[:, 1, sel]], axis=1))
        est = _mix(w_odd, e1, e0)
        jk = None if M < 2 else _mix(w_odd, j1, j0)
    if M < 2:
        return est, np.full_like(est, np.nan), w, None, w_odd
    with np.errstate(invalid="ignore"):
        err = jackknife_error(jk)
    return est, err, w, jk, w_odd


def output_steps(beta_i, tmin: float, tmax: float) -> np.ndarray:
    """Indices of the schedule's steps in ``[tmin, tmax]``, coldest first."""
    T_i = 1.0 / np.where(beta_i > 0, beta_i, np.nan)
    with np.errstate(invalid="ignore"):
        return np.flatnonzero((beta_i > 0) & (T_i >= tmin * (1 - 1e-12)) & (T_i <= tmax * (1 + 1e-12)))[::-1]


def _tc(T_t, est_C, jk_C):
    Tc, edge = _peak(T_t, est_C)
    t = np.array([_peak(T_t, c)[0] for c in jk_C])
    return Tc, float(jackknife_error(t)), edge


# ---------------------------------------------------------------------------------------------- runs
def _run(c, kw: dict, threads: int | None) -> PARun:
    if threads is not None:
        import numba
        import torch

        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
        torch.set_num_threads(max(1, int(threads)))
    return anneal_population(c, **kw)


def _run_all(c, kws: list[dict], scheduler: str | None, progress: bool) -> list[PARun]:
    """Every run of ``kws``: in this process (``scheduler`` None), or as Dask tasks (``"local"``: a
    :class:`distributed.LocalCluster` of one worker using every core; ``"worker"``: the cluster whose task calls
    this, which leaves the worker's thread pool while its runs wait there, each on the caller's threads; else a
    scheduler's address)."""
    if scheduler is None:
        return [_run(c, kw, None) for kw in kws]
    from dask.base import tokenize
    from distributed import as_completed
    from tqdm.auto import tqdm

    def submit(client, threads):
        cf = client.scatter(c, broadcast=True)
        # keys from the runs' inputs: unique among the sweep's tasks, the same for a rerun of the same run
        futs = [client.submit(_run, cf, {**kw, "progress": False}, threads, pure=False, retries=2,
                              key=f"population-annealing-run-{i}-{tokenize({**kw, 'progress': False})}")
                for i, kw in enumerate(kws)]
        with tqdm(total=len(futs), disable=not progress, desc="runs", unit="run", leave=False) as bar:
            for _ in as_completed(futs, loop=client.loop):
                bar.update(1)
        return client.gather(futs)

    if scheduler == "worker":
        import torch
        from distributed import worker_client

        threads = torch.get_num_threads()
        with worker_client() as client:
            return submit(client, threads)
    # the same client (connect timeout, one-line errors) as the figures' sweep
    from ising_nn.paper.sweep import _client, _close_quietly, connect_timeout_seconds

    client, cluster = _client(None if scheduler == "local" else scheduler, 1, connect_timeout_seconds())
    try:
        return submit(client, os.cpu_count() if scheduler == "local" else None)
    finally:
        _close_quietly(client)
        if cluster is not None:
            cluster.close()


def _check(tmin, tmax, population, runs, sweeps, hot_sweeps, overlap, seed, time_limit, device, precision):
    tmin, tmax = check_range(tmin, tmax)
    validate.integer("population", population, 8)
    validate.integer("runs", runs, 2)
    validate.integer("sweeps", sweeps, 1)
    if hot_sweeps is not None:
        validate.integer("hot_sweeps", hot_sweeps, 1)
    validate.number("overlap", overlap, lo=0.05, hi=0.99)
    validate.integer("seed", seed, 0)
    validate.seconds("time limit", time_limit)
    return tmin, tmax, *check_device(device, precision)


def population_annealing(
    c: Couplings,
    *,
    tmin: float = 1.0,
    tmax: float = 10.0,
    population: int = 512,
    runs: int = 4,
    sweeps: int = 10,
    hot_sweeps: int | None = None,
    overlap: float = 0.85,
    pilot_population: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    precision: str = "auto",
    scheduler: str | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    time_limit: float | None = None,
    progress: bool = True,
) -> PopulationResult:
    """Canonical thermodynamics of a layered Ising model by population annealing (module docstring).

    Parameters
    ----------
    c : Couplings
    tmin, tmax : float
        The schedule runs from beta = 0 down to ``tmin``; the output holds its temperatures in
        ``[tmin, tmax]``.
    population : int
        Replicas R of each run.
    runs : int
        Independent runs M (at least 2, for the errors).
    sweeps : int
        Heat-bath sweeps per temperature step.
    hot_sweeps : int, optional
        Sweeps per step above ``tmax``, outside the output range (default ``sweeps``).
    overlap : float
        Energy-histogram overlap of successive steps that places the schedule (pilot run).
    pilot_population : int, optional
        Replicas of the pilot run that places the schedule (default ``max(64, population // 4)``).
    seed : int
        Seeds the pilot and, through ``numpy.random.SeedSequence``, every run.
    device, precision : str
        As :func:`ising_nn.canonical.canonical_thermo`.
    scheduler : str, optional
        None: the runs one after the other in this process; ``"local"``: Dask tasks on a local cluster; an
        address (``tcp://host:8786``): Dask tasks on that cluster; ``"worker"``: called from a Dask task (the
        figures' sweep), the runs become tasks of the same cluster.
    checkpoint : path, optional
        A folder: the pilot's and every run's state (``pilot.npz``, ``run<m>.npz``), written as they go; with
        ``resume`` a finished run is read back and an unfinished one continues.
    time_limit : float, optional
        Seconds per run; a run that stops early makes the result refuse (resume with ``checkpoint``).
    progress : bool
        Progress bars on stderr.

    Returns
    -------
    PopulationResult
    """
    tmin, tmax, device, precision = _check(tmin, tmax, population, runs, sweeps, hot_sweeps, overlap, seed,
                                           time_limit, device, precision)
    pilot_R = max(64, population // 4) if pilot_population is None else validate.integer(
        "pilot_population", pilot_population, 8)
    t0 = time.perf_counter()
    folder = Path(checkpoint) if checkpoint is not None else None
    if folder is not None:
        if folder.exists() and not folder.is_dir():
            raise IsingNNError(f"checkpoint {str(folder)!r} must be a folder for population annealing")
        folder.mkdir(parents=True, exist_ok=True)

    def ck(name):
        return None if folder is None else folder / f"{name}.npz"

    seeds = [int(x) for x in np.random.SeedSequence(seed).generate_state(runs + 1)]
    common = dict(beta_max=1.0 / tmin, sweeps=int(sweeps), hot_sweeps=hot_sweeps, beta_hot=1.0 / tmax,
                  device=device, precision=precision, time_limit=time_limit, resume=resume)
    pilot = anneal_population(c, population=pilot_R, seed=seeds[0], overlap=overlap, checkpoint=ck("pilot"),
                              progress=progress, desc="pilot (schedule)", **common)
    if not pilot.complete:
        raise IsingNNError("the time limit stopped the pilot run before tmin; give more time, or --checkpoint "
                           "and --resume")
    kws = [dict(population=int(population), seed=seeds[m + 1], schedule=pilot.beta_i, checkpoint=ck(f"run{m}"),
                progress=progress and scheduler is None, desc=f"run {m + 1}/{runs}", **common)
           for m in range(runs)]
    results = _run_all(c, kws, scheduler, progress)
    import torch

    threads = torch.get_num_threads() if scheduler in (None, "worker") else os.cpu_count() if scheduler == "local" \
        else None  # on another cluster: the workers' own
    if not all(r.complete for r in results):
        raise IsingNNError("the time limit stopped a run before tmin; give more time, or --checkpoint and --resume")
    return _result(c, results, pilot, tmin, tmax, dict(
        population=int(population), runs=int(runs), sweeps_per_step=int(sweeps),
        **({} if hot_sweeps in (None, sweeps) else dict(sweeps_above_tmax=int(hot_sweeps))), overlap=float(overlap),
        pilot_population=pilot_R, seed=int(seed), device=device, **precision_fields(precision)), t0, threads)


def _result(c, results, pilot, tmin, tmax, inputs, t0, threads=None) -> PopulationResult:
    N = c.n_spins
    beta_i = pilot.beta_i
    sel = output_steps(beta_i, tmin, tmax)
    if len(sel) < 3:
        raise IsingNNError(f"the schedule has {len(sel)} temperatures in [{tmin}, {tmax}]; widen the range or "
                           "raise --overlap")
    est, err, w, jk, w_odd = combine_runs(results, N, sel)
    jk_C = jk[:, 1]
    rho_t = np.stack([r.rho_t_i for r in results])
    fam = np.stack([r.families_i for r in results])
    M_eff = 1.0 / (w**2).sum(0)
    ok = np.cumprod(M_eff * inputs["population"] >= RHO_FACTOR * rho_t.mean(0)).astype(bool)
    T_i = 1.0 / np.where(beta_i > 0, beta_i, np.nan)
    T_eq = float(T_i[np.flatnonzero(ok)[-1]]) if ok[1:].any() else math.inf
    T_t = T_i[sel]
    Tc, Tc_err, edge = _tc(T_t, est[1, sel], jk_C[:, sel])
    curve = ThermoCurve(T_t, est[0, sel], err[0, sel], est[1, sel], err[1, sel], est[2, sel], err[2, sel],
                        est[3, sel], err[3, sel], Tc, Tc_err, edge)
    last = len(beta_i) - 1
    header = dict(
        method="population annealing, layer heat bath, weighted average of independent runs",
        n_spins=N, n_bonds=c.n_bonds, tmin=tmin, tmax=tmax, **inputs, steps=len(beta_i) - 1,
        stop_reason="schedule", T_c=f"{Tc:.4f}", T_c_err=f"{Tc_err:.4f}", T_c_at_edge=edge,
        T_equilibrated=f"{T_eq:.4f}", equilibrium_criterion=f"M_eff R >= {RHO_FACTOR:g} mean rho_t",
        rho_t_at_tmin=f"{rho_t[:, last].mean():.1f}", families_at_tmin=int(fam[:, last].min()),
        M_eff_at_tmin=f"{M_eff[last]:.2f}",
        marginal_weight_odd=f"{w_odd:.4f}" if math.isfinite(w_odd) else "0.5 (the parities' mean: runs resumed from "
                                                                        "checkpoints without them)",
        schedule_T=" ".join("inf" if b == 0 else f"{1 / b:.4f}" for b in beta_i),
        seconds=f"{time.perf_counter() - t0:.1f}",
        run_seconds=f"{pilot.seconds + sum(r.seconds for r in results):.1f}",
        **({} if threads is None else dict(threads_per_run=int(threads))), version=f"ising-nn {__version__}")
    header.update(c.provenance.as_header())
    return PopulationResult(curve, beta_i, est[0], err[0], est[1], err[1], rho_t, fam, M_eff, ok, T_eq, results, N,
                            header)


