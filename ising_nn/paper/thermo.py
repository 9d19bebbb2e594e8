"""Cached canonical thermodynamics (:func:`cached_thermo`): the engine's MBAR curve, per-rung estimates,
final states and samples, started cold from the cached ground state."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ising_nn.errors import IsingNNError
from ising_nn.paper.budget import Budget, budget, temperature_range
from ising_nn.paper.cache import _checkpoint, _drop_checkpoint, _inputs, _load, _quench_spins, _say
from ising_nn.paper.paths import DOS_DIR, check_inputs, model_key, rel, thermo_path
from ising_nn.results.quench import spins_beside
from ising_nn.results.textfile import atomic_path, header_matches
from ising_nn.results.thermo import ThermoCurve

__all__ = ["CachedThermo", "cached_thermo"]


def _thermo_key(b: Budget, shuffle: float) -> str:
    key = f"{b.sweeps_canonical(shuffle)} sweeps, T {b.canonical_tmin:g}-{b.canonical_tmax:g}"
    return key if b.precision == "float32" else f"{key}, {b.precision}"  # float32: the key before precisions


@dataclass(frozen=True, eq=False)
class CachedThermo:
    """A cached canonical-engine result: the MBAR curve and header (``.dat``), the per-rung estimates, the
    hot ladder's final states and MBAR's samples (``.npz`` beside it).

    Attributes
    ----------
    curve : ThermoCurve
    header : dict
    T_k, U_lk, U_err_lk, C_lk, C_err_lk, equilibrated_k : ndarray
        As :class:`ising_nn.canonical.RungStats` (ladder order: beta ascending).
    spins_k : ndarray, shape (K, N), int8
    samples : MBARSamples
    path : Path
    raw_curve : ThermoCurve
        MBAR on the raw energies of ``samples``: what a DOS joined to them reproduces
        (:attr:`ising_nn.canonical.CanonicalResult.raw_curve`).
    """

    curve: object
    header: dict
    T_k: np.ndarray
    U_lk: np.ndarray
    U_err_lk: np.ndarray
    C_lk: np.ndarray
    C_err_lk: np.ndarray
    equilibrated_k: np.ndarray
    spins_k: np.ndarray
    samples: object
    path: Path
    raw_curve: object = None

    @property
    def n_spins(self) -> int:
        return int(self.header["n_spins"])

    @property
    def _coldest(self) -> int:
        return int(np.flatnonzero(self.equilibrated_k)[-1])

    @property
    def E_coldest(self) -> float:
        """Mean total energy of the coldest equilibrated rung."""
        return float(self.U_lk.mean(0)[self._coldest] * self.n_spins)

    @property
    def sigma_coldest(self) -> float:
        """Its energy standard deviation, T sqrt(N C)."""
        k = self._coldest
        return float(self.T_k[k] * np.sqrt(self.n_spins * self.C_lk.mean(0)[k]))

    @classmethod
    def read(cls, path: Path) -> CachedThermo:
        from ising_nn.canonical import MBARSamples, read_thermo

        curve, header = read_thermo(path)
        z = np.load(path.with_suffix(".npz"))
        N = int(header["n_spins"])
        spins = (np.unpackbits(z["spins_bits"], axis=1)[:, :N].astype(np.int8) * 2 - 1)
        samples = MBARSamples(z["E_n"], z["N_k"], z["beta_k"], z["f_k"])
        with np.errstate(divide="ignore"):
            T_k = 1.0 / z["beta_rungs"]
        raw = ThermoCurve(*(z[f"raw_{k}"][()] for k in _CURVE_FIELDS))
        return cls(curve, header, T_k, z["U_lk"], z["U_err_lk"], z["C_lk"], z["C_err_lk"],
                   z["equilibrated_k"].astype(bool), spins, samples, path, raw)


_CURVE_FIELDS = tuple(ThermoCurve.__dataclass_fields__)
#: How the curve is estimated (an input of the cached file: results of another estimator are recomputed).
CURVE_ESTIMATOR = "MBAR on both parities' exact marginals, weighted"

_SCALES: dict[tuple[str, int | None], float] = {}


def coupling_scale(model, blocks: int | None = None) -> float:
    """sqrt(sum J^2 / N) of a model's couplings (of its first ``blocks`` blocks), computed once per process: a
    shuffle keeps it, so the cache can check a result's inputs without shuffling."""
    key = (model_key(model), blocks)
    if key not in _SCALES:
        c, _, _ = _load(model, blocks, 0.0, 0)
        _SCALES[key] = math.sqrt(c.sum_J2 / c.n_spins)
    return _SCALES[key]


def cached_thermo(
    model="minilm",
    *,
    blocks: int | None = None,
    shuffle: float = 0.0,
    seed: int = 0,
    b: Budget | None = None,
    out_dir: str | os.PathLike = DOS_DIR,
    force: bool = False,
    verbose: bool = True,
) -> CachedThermo:
    """Canonical thermodynamics of a model (:func:`ising_nn.canonical.canonical_thermo`), read from
    ``out_dir`` when computed before. The cold start is the state of the cached ground-state search of the
    same inputs (``b.quench_method``); ``b.sweeps_canonical(shuffle)`` and the range ``canonical_tmin`` to
    ``canonical_tmax``, scaled to the couplings by :func:`~ising_nn.paper.budget.temperature_range`, set the run
    (the header's ``input.tmin`` and ``input.tmax`` are the temperatures run). Other parameters as
    :func:`cached_dos`."""
    from ising_nn.canonical import canonical_thermo, write_thermo
    from ising_nn.canonical.chain import precision_fields

    b = b or budget()
    blocks, shuffle, seed = check_inputs(blocks, shuffle, seed)
    if b.canonical_sweeps is None:
        raise IsingNNError("this budget has no canonical_sweeps: the canonical engine is not part of it")
    sweeps = b.sweeps_canonical(shuffle)
    tmin, tmax = temperature_range(b, coupling_scale(model, blocks))
    inputs = _inputs(model, blocks, shuffle, seed, sampler="canonical", sweeps=sweeps,
                     tmin=f"{tmin:g}", tmax=f"{tmax:g}",
                     cold=f"quench {b.quench_method} {b.quench_restarts}", estimator=CURVE_ESTIMATOR)
    inputs.update(precision_fields(b.precision))  # the header's own fields, written by the engine
    path = thermo_path(model, blocks=blocks, shuffle=shuffle, seed=seed, out_dir=out_dir)
    if not force and header_matches(path, inputs) and path.with_suffix(".npz").is_file():
        _say(verbose, f"thermo: read {path}")
        return CachedThermo.read(path)
    c, L, full = _load(model, blocks, shuffle, seed)
    q, saved = _quench_spins(model, c, L, blocks, shuffle, seed, b.quench_method, b.quench_restarts, out_dir,
                             verbose)
    path.parent.mkdir(parents=True, exist_ok=True)
    ckpt = _checkpoint(out_dir, model, f"thermo_{path.stem}", inputs)
    _say(verbose, f"thermo: computing {path} (canonical engine, {sweeps} sweeps, {c.n_spins} spins)"
         + (" from its checkpoint" if ckpt.exists() else ""))
    r = canonical_thermo(c, tmin=tmin, tmax=tmax, sweeps=sweeps, seed=seed, precision=b.precision,
                         cold_spins=saved.spins, checkpoint=ckpt, resume=True, progress=False)
    rs = r.rungs
    N = c.n_spins
    with atomic_path(path.with_suffix(".npz"), suffix=".npz") as tmp:
        np.savez_compressed(
            tmp, spins_bits=np.packbits(r.spins_k > 0, axis=1), E_n=r.samples.E_n, N_k=r.samples.N_k,
            beta_k=r.samples.beta_k, f_k=r.samples.f_k, beta_rungs=rs.beta_k, U_lk=rs.U_lk, U_err_lk=rs.U_err_lk,
            C_lk=rs.C_lk, C_err_lk=rs.C_err_lk, equilibrated_k=rs.equilibrated_k, n_spins=N,
            **{f"raw_{k}": np.asarray(getattr(r.raw_curve, k)) for k in _CURVE_FIELDS})
    header = {**r.header, "model": c.provenance.model, "model_blocks": L,
              "cold_start": rel(q.spins_path or spins_beside(q.path)), **inputs}
    write_thermo(r.curve, path, header)
    _drop_checkpoint(ckpt)
    return CachedThermo.read(path)
