"""Cached population annealing (:func:`cached_population`): a whole model's U, C, F, S below the canonical
engine's range, from ``b.pa_runs`` runs of ``b.pa_population`` replicas, and beside them the same number of runs
of a quarter of the population (``check=True``), the R against 4R test of :mod:`ising_nn.paper.criticality`.

Each result is ``dos/<model>/thermo/<stem>_pa.dat`` (the combined curve, header with the family diagnostics)
and ``<stem>_pa.npz`` beside it: every run's records at every step of the shared schedule (``ln_Z_mi``,
``U_mi``, ``var_E_mi``, ``rho_t_mi``, ``rho_s_mi``, ``families_mi``, shape (M, n_steps); ``U_mpi``,
``var_E_mpi``, shape (M, 2, n_steps), each parity's marginal, absent from results computed before them), from
which the estimates, their jackknife errors and the criteria are recomputed without sampling again.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ising_nn.errors import IsingNNError
from ising_nn.paper.budget import REFERENCE_SCALE, Budget, budget
from ising_nn.paper.cache import _checkpoint, _inputs, _load, _say
from ising_nn.paper.paths import DOS_DIR, check_inputs, population_path
from ising_nn.paper.thermo import coupling_scale
from ising_nn.results.textfile import atomic_path, header_matches

__all__ = ["CachedPopulation", "cached_population", "population_pair", "pa_range"]

_RECORDS = ("ln_Z", "U", "var_E", "rho_t", "rho_s", "families")


@dataclass(frozen=True)
class _Run:
    """The records of one run (what :func:`ising_nn.canonical.combine_runs` reads)."""

    beta_i: np.ndarray
    ln_Z_i: np.ndarray
    U_i: np.ndarray
    var_E_i: np.ndarray
    U_pi: np.ndarray | None = None
    var_E_pi: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class CachedPopulation:
    """A cached population-annealing result.

    Attributes
    ----------
    curve : ThermoCurve
        The combined U, C, F, S per spin with jackknife errors on the schedule's temperatures in the range run.
    header : dict
    beta_i : ndarray, shape (n_steps,)
        The shared schedule, ascending from 0.
    ln_Z_mi, U_mi, var_E_mi, rho_t_mi, rho_s_mi, families_mi : ndarray, shape (M, n_steps)
        Every run's records.
    U_mpi, var_E_mpi : ndarray, shape (M, 2, n_steps), or None
        Each parity's (even, odd) records (None in results computed before them: the parities' mean alone).
    population : int
    n_spins : int
    path : Path
    """

    curve: object
    header: dict
    beta_i: np.ndarray
    ln_Z_mi: np.ndarray
    U_mi: np.ndarray
    var_E_mi: np.ndarray
    rho_t_mi: np.ndarray
    rho_s_mi: np.ndarray
    families_mi: np.ndarray
    population: int
    n_spins: int
    path: Path
    U_mpi: np.ndarray | None = None
    var_E_mpi: np.ndarray | None = None

    @property
    def runs(self) -> int:
        return self.U_mi.shape[0]

    def combined(self):
        """``(est, err, w_mi, jk, w_odd)`` of :func:`ising_nn.canonical.combine_runs` at every step (the parity
        weight from the header's output range)."""
        from ising_nn.canonical.annealing import combine_runs, output_steps

        par = self.U_mpi is not None and self.var_E_mpi is not None
        runs = [_Run(self.beta_i, self.ln_Z_mi[m], self.U_mi[m], self.var_E_mi[m],
                     self.U_mpi[m] if par else None, self.var_E_mpi[m] if par else None) for m in range(self.runs)]
        sel = output_steps(self.beta_i, float(self.header["tmin"]), float(self.header["tmax"]))
        return combine_runs(runs, self.n_spins, sel)

    def parities(self):
        """``((est, jk), (est, jk))``, the even layers' marginal alone then the odd layers', each as
        :func:`ising_nn.canonical.combine_runs` gives it (shape (4, n_steps) and (M, 4, n_steps)); None for a
        result computed before the parities were recorded."""
        from ising_nn.canonical.annealing import combine_runs

        if self.U_mpi is None or self.var_E_mpi is None:
            return None
        out = []
        for p in (0, 1):
            runs = [_Run(self.beta_i, self.ln_Z_mi[m], self.U_mpi[m, p], self.var_E_mpi[m, p])
                    for m in range(self.runs)]
            est, _, _, jk, _ = combine_runs(runs, self.n_spins)
            out.append((est, jk))
        return tuple(out)

    @classmethod
    def from_result(cls, r, path: Path | None = None) -> CachedPopulation:
        """From a :class:`ising_nn.canonical.PopulationResult` in memory."""
        arrays = [np.stack([getattr(run, f"{k}_i") for run in r.runs]) for k in _RECORDS]
        return cls(r.curve, {k: str(v) for k, v in r.header.items()}, r.beta_i, *arrays,
                   int(r.header["population"]), int(r.n_spins), path, *_parity_arrays(r.runs))

    @classmethod
    def read(cls, path: Path) -> CachedPopulation:
        from ising_nn.canonical import read_thermo

        curve, header = read_thermo(path)
        try:
            z = np.load(path.with_suffix(".npz"))
            arrays = [z[f"{k}_mi"] for k in _RECORDS]
            beta_i, R, N = z["beta_i"], int(z["population"]), int(z["n_spins"])
            par = [z[k] if k in z.files else None for k in ("U_mpi", "var_E_mpi")]
        except (OSError, KeyError, ValueError) as exc:
            raise IsingNNError(f"cannot read the runs beside {str(path)!r} ({exc}); remove both files to "
                               "compute them again") from None
        return cls(curve, header, beta_i, *arrays[:5], arrays[5].astype(int), R, N, path, *par)


def _parity_arrays(runs) -> tuple:
    """``(U_mpi, var_E_mpi)`` of runs that all carry both parities' records, else ``(None, None)``."""
    from ising_nn.canonical.annealing import _parities

    return _parities(runs) or (None, None)


def population_pair(model, *, shuffle: float, b: Budget, **kw) -> tuple[CachedPopulation, CachedPopulation] | None:
    """``(R, R / 4)`` results of :func:`cached_population` for a network shuffled by ``shuffle``, or None where
    ``b`` does not anneal it (:meth:`~ising_nn.paper.Budget.anneals`); ``kw`` as :func:`cached_population`."""
    if not b.anneals(shuffle):
        return None
    return tuple(cached_population(model, shuffle=shuffle, b=b, check=chk, **kw) for chk in (False, True))


def pa_range(b: Budget, scale: float, shuffle: float) -> tuple[float, float]:
    """Population annealing's output range for couplings of scale ``scale`` (as
    :func:`~ising_nn.paper.budget.temperature_range`): from ``b.pa_tmin_shuffled`` (a whole shuffle) or
    ``b.pa_tmin_trained`` (otherwise) to ``b.canonical_tmax``."""
    f = scale / REFERENCE_SCALE
    tmin = b.pa_tmin_shuffled if shuffle == 1.0 else b.pa_tmin_trained
    return float(f"{tmin * f:.4g}"), float(f"{b.canonical_tmax * f:.4g}")


def cached_population(
    model="minilm",
    *,
    blocks: int | None = None,
    shuffle: float = 0.0,
    seed: int = 0,
    b: Budget | None = None,
    check: bool = False,
    out_dir: str | os.PathLike = DOS_DIR,
    force: bool = False,
    verbose: bool = True,
    progress: bool = False,
    scheduler: str | None = None,
) -> CachedPopulation:
    """Population annealing of a model (:func:`ising_nn.canonical.population_annealing`), read from ``out_dir``
    when computed before: ``b.pa_runs`` runs of ``b.pa_population`` replicas (``check``: of a quarter of it),
    ``b.pa_sweeps`` sweeps per step (``b.pa_sweeps_hot`` above the range), over :func:`pa_range`. The runs
    checkpoint into a folder under ``out_dir/.checkpoints`` as they go, so an interrupted call resumes; the
    folder is removed once the result is written. ``scheduler`` runs the runs as Dask tasks (as
    :func:`ising_nn.canonical.population_annealing`; the figures' sweep gives ``"worker"``): the same numbers.
    Other parameters as :func:`~ising_nn.paper.cached_thermo`."""
    from ising_nn.canonical import population_annealing, write_thermo
    from ising_nn.canonical.chain import precision_fields

    b = b or budget()
    blocks, shuffle, seed = check_inputs(blocks, shuffle, seed)
    if b.pa_population is None:
        raise IsingNNError("this budget has no pa_population: population annealing is not part of it")
    R = b.pa_population // 4 if check else b.pa_population
    tmin, tmax = pa_range(b, coupling_scale(model, blocks), shuffle)
    inputs = _inputs(model, blocks, shuffle, seed, sampler="population annealing", population=R, runs=b.pa_runs,
                     sweeps_per_step=b.pa_sweeps, tmin=f"{tmin:g}", tmax=f"{tmax:g}",
                     **({} if b.pa_sweeps_hot is None else dict(sweeps_above_tmax=b.pa_sweeps_hot)))
    inputs.update(precision_fields(b.precision))  # the header's own fields, written by the method
    path = population_path(model, blocks=blocks, shuffle=shuffle, seed=seed, check=check, out_dir=out_dir)
    if not force and header_matches(path, inputs) and path.with_suffix(".npz").is_file():
        _say(verbose, f"population: read {path}")
        return CachedPopulation.read(path)
    c, L, _ = _load(model, blocks, shuffle, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = _checkpoint(out_dir, model, f"pa_{path.stem}", inputs).with_suffix("")
    _say(verbose, f"population: computing {path} ({b.pa_runs} runs of {R} replicas, {b.pa_sweeps} sweeps per "
         f"step, T >= {tmin:g}, {c.n_spins} spins)" + (" from its checkpoints" if folder.is_dir() else ""))
    r = population_annealing(c, tmin=tmin, tmax=tmax, population=R, runs=b.pa_runs, sweeps=b.pa_sweeps,
                             hot_sweeps=b.pa_sweeps_hot, seed=seed, precision=b.precision, checkpoint=folder,
                             resume=True, progress=progress, scheduler=scheduler)
    with atomic_path(path.with_suffix(".npz"), suffix=".npz") as tmp:
        U_mpi, var_E_mpi = _parity_arrays(r.runs)
        np.savez_compressed(tmp, beta_i=r.beta_i, population=R, n_spins=c.n_spins, **{
            f"{k}_mi": np.stack([getattr(run, f"{k}_i") for run in r.runs]) for k in _RECORDS},
            **({} if U_mpi is None else dict(U_mpi=U_mpi, var_E_mpi=var_E_mpi)))
    write_thermo(r.curve, path, {**r.header, "model": c.provenance.model, "model_blocks": L, **inputs})
    shutil.rmtree(folder, ignore_errors=True)
    return CachedPopulation.read(path)
