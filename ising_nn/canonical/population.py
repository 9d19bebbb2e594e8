"""One population-annealing run: a population of replicas cooled from beta = 0, reweighted, resampled and
equilibrated by the layer heat bath at each temperature of a schedule.

At ``beta = 0`` independent uniform spins are an exact sample (``Z = 2^N``). A step to ``beta' > beta``
weighs replica ``r`` by ``w_r = exp(-(beta' - beta) E_r)``: ``Z(beta') / Z(beta)`` is estimated by the mean
of the ``w_r`` (so ln Z, hence F and S, comes from the normalisations), and the population is resampled in
proportion to the ``w_r`` by systematic resampling (one seeded uniform: each replica gets ``floor`` or
``ceil`` of its expected number of copies, the population size stays ``R``), then every replica takes
``sweeps`` heat-bath sweeps at ``beta'`` (``hot_sweeps`` while ``beta' < beta_hot``, above the range reported;
fewer there is cheaper, but copies that stay alike are culled alike, so the family statistic grows faster from
there on: measured in ``bench/README.md``). The measurements at ``beta'`` are Rao-Blackwellised over the last
sweep (:mod:`.chain`): each half sweep's exact marginal of the layers it drew (the even layers given the odd,
then the odd given the even) gives ``U_p = <m_p>`` and ``Var_p E = <v_p> + Var m_p`` over the population, both
recorded; ``U``, ``Var E`` are their mean (:func:`ising_nn.canonical.combine_runs` weights the two parities
instead, for the least variance of C). The sweeps before it take no sums (``half_sweep(measure=False)``: with
``int8x3`` fields, two thirds of the products, the same chain bit for bit).

Without a schedule the step is adaptive: ``beta'`` is the largest inverse temperature (up to the last one
asked) at which the reweighted population still overlaps the present one by ``overlap``,
``sum_r min(1 / R, w_r / sum w) >= overlap``.

Each replica keeps the index of its ancestor at ``beta = 0`` (its family): with ``n_f`` replicas of family
``f``, ``rho_t = R sum_f (n_f / R)^2`` and ``rho_s = R exp(sum_f (n_f / R) ln(n_f / R))`` measure how few
independent lineages the population rests on; its systematic errors scale as ``rho / R``.

References
----------
Hukushima and Iba, AIP Conf. Proc. 690, 200 (2003); Machta, Phys. Rev. E 82, 026704 (2010); Wang, Machta and
Katzgraber, Phys. Rev. E 92, 063307 (2015), arXiv:1508.05647; Ebert, Gessert and Weigel, arXiv:2207.05535.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from ising_nn.canonical.chain import LayerChains, precision_fields
from ising_nn.canonical.common import load_checkpoint, save_checkpoint
from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings

__all__ = ["PARun", "anneal_population", "next_beta", "systematic_resample", "family_sizes"]

#: What a run records at each step, one value per step (step 0 is beta = 0).
RECORDS = ("beta", "ln_Z", "U", "var_E", "rho_t", "rho_s", "families", "U_even", "U_odd", "var_E_even", "var_E_odd")
#: Records a checkpoint from before the parities were kept lacks (read back as NaN).
_PARITY_RECORDS = ("U_even", "U_odd", "var_E_even", "var_E_odd")


@dataclass(frozen=True)
class PARun:
    """One population-annealing run.

    Attributes
    ----------
    beta_i : ndarray, shape (n_steps,)
        Inverse temperatures, ascending from 0.
    ln_Z_i : ndarray, shape (n_steps,)
        Estimated ln Z (natural log, total, ``N ln 2`` at beta = 0).
    U_i : ndarray, shape (n_steps,)
        Mean energy per spin (Rao-Blackwellised population average, the mean of the two parities').
    var_E_i : ndarray, shape (n_steps,)
        Variance of the total energy (Rao-Blackwellised, the mean of the two parities').
    rho_t_i, rho_s_i : ndarray, shape (n_steps,)
        Family statistics (module docstring); ``families_i`` the number of surviving families.
    spins : ndarray, shape (R, N), int8
        The final population.
    E_r : ndarray, shape (R,)
        Its energies.
    n_replicas, sweeps : int
    complete : bool
        False when a time limit stopped the run before the last temperature.
    seconds : float
    U_pi, var_E_pi : ndarray, shape (2, n_steps), optional
        U per spin and Var E from the marginal of the even layers (p = 0) and of the odd layers (p = 1) alone
        (NaN at the steps of a run resumed from a checkpoint that predates them).
    """

    beta_i: np.ndarray
    ln_Z_i: np.ndarray
    U_i: np.ndarray
    var_E_i: np.ndarray
    rho_t_i: np.ndarray
    rho_s_i: np.ndarray
    families_i: np.ndarray
    spins: np.ndarray
    E_r: np.ndarray
    n_replicas: int
    sweeps: int
    complete: bool
    seconds: float
    U_pi: np.ndarray | None = None
    var_E_pi: np.ndarray | None = None

    @property
    def T_i(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return 1.0 / self.beta_i


def systematic_resample(log_w_r: np.ndarray, u: float) -> np.ndarray:
    """Indices (ascending, length R) of the replicas that fill the next population: replica r fills
    ``floor`` or ``ceil`` of ``R p_r`` slots, ``p_r = w_r / sum w``, decided by the one uniform ``u``."""
    R = len(log_w_r)
    p = np.exp(log_w_r - logsumexp(log_w_r))
    cum = np.cumsum(p)
    cum[-1] = 1.0  # rounding: every position must land on a replica
    return np.searchsorted(cum, (u + np.arange(R)) / R, side="right").clip(0, R - 1)


def _overlap(E_r: np.ndarray, dbeta: float) -> float:
    log_w = -dbeta * (E_r - E_r.min())
    p = np.exp(log_w - logsumexp(log_w))
    return float(np.minimum(p, 1.0 / len(E_r)).sum())


def next_beta(E_r: np.ndarray, beta: float, beta_max: float, overlap: float) -> float:
    """The largest ``beta' <= beta_max`` whose reweighted population overlaps the present one by at least
    ``overlap`` (bisection; the overlap falls monotonically with the step)."""
    if _overlap(E_r, beta_max - beta) >= overlap:
        return float(beta_max)
    lo, hi = 0.0, beta_max - beta
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _overlap(E_r, mid) >= overlap:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(beta_max, 1.0):
            break
    return float(beta + max(lo, 1e-15))


def family_sizes(family_r: np.ndarray) -> tuple[float, float, int]:
    """``(rho_t, rho_s, families)`` of a population whose replica r descends from ``family_r[r]``."""
    R = len(family_r)
    nu = np.unique(family_r, return_counts=True)[1] / R
    return float(R * (nu**2).sum()), float(R * math.exp((nu * np.log(nu)).sum())), int(len(nu))


@dataclass
class _State:
    chains: LayerChains
    rng: np.random.Generator
    family_r: np.ndarray
    E_r: np.ndarray
    rec: dict = field(default_factory=lambda: {k: [] for k in RECORDS})
    elapsed: float = 0.0

    @property
    def beta(self) -> float:
        return self.rec["beta"][-1]


def _record(st: _State, beta, ln_Z, U_p, var_p) -> None:
    """Append a step's records; ``U_p``, ``var_p``: (even, odd)."""
    rho_t, rho_s, fam = family_sizes(st.family_r)
    U, var_E = 0.5 * (U_p[0] + U_p[1]), 0.5 * (var_p[0] + var_p[1])
    for k, v in zip(RECORDS, (beta, ln_Z, U, var_E, rho_t, rho_s, fam, *U_p, *var_p), strict=True):
        st.rec[k].append(float(v))


def _step(st: _State, beta_new: float, sweeps: int, n_spins: int) -> None:
    """Reweight to ``beta_new``, resample, equilibrate, measure."""
    log_w = -(beta_new - st.beta) * st.E_r
    ln_Z = st.rec["ln_Z"][-1] + float(logsumexp(log_w)) - math.log(len(log_w))
    idx = systematic_resample(log_w, float(st.rng.random()))
    st.chains.take(idx)
    st.family_r = st.family_r[idx]
    for _ in range(sweeps - 1):  # only the last sweep is measured
        st.chains.half_sweep(0, beta_new, measure=False)
        st.chains.half_sweep(1, beta_new, measure=False)
    h0 = st.chains.half_sweep(0, beta_new)
    h1 = st.chains.half_sweep(1, beta_new)
    st.E_r = h1.E_r
    _record(st, beta_new, ln_Z, [h.m_r.mean() / n_spins for h in (h0, h1)],
            [h.v_r.mean() + h.m_r.var() for h in (h0, h1)])


def _save(path: Path, st: _State, params: dict) -> None:
    save_checkpoint(path, "population-annealing", params,
                    dict(rng=st.rng.bit_generator.state, elapsed=st.elapsed),
                    dict(spins=st.chains.spins(), gen=st.chains.generator_state(), family_r=st.family_r,
                         E_r=st.E_r, **{f"rec_{k}": np.asarray(v) for k, v in st.rec.items()}))


def _load(path: Path, c: Couplings, params: dict, device: str, precision: str) -> _State:
    meta, z = load_checkpoint(path, "population-annealing", params)
    try:
        ch = LayerChains(c, z["spins"], device, 0, precision)
        ch.set_generator_state(z["gen"])
        rng = np.random.default_rng()
        rng.bit_generator.state = meta["rng"]
        n = len(z["rec_beta"])
        rec = {k: [float(x) for x in z[f"rec_{k}"]] if f"rec_{k}" in z or k not in _PARITY_RECORDS
               else [math.nan] * n for k in RECORDS}
        st = _State(ch, rng, z["family_r"], z["E_r"], rec, float(meta["elapsed"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise IsingNNError(f"checkpoint {str(path)!r} is incomplete ({type(exc).__name__}: {exc}); remove it to "
                           "start afresh") from None
    if st.family_r.shape != (ch.n_replicas,) or len({len(v) for v in rec.values()}) != 1:
        raise IsingNNError(f"checkpoint {str(path)!r} is inconsistent; remove it to start afresh")
    return st


def anneal_population(
    c: Couplings,
    *,
    beta_max: float,
    population: int,
    sweeps: int,
    seed: int,
    hot_sweeps: int | None = None,
    beta_hot: float = 0.0,
    schedule: np.ndarray | None = None,
    overlap: float = 0.85,
    device: str = "cpu",
    precision: str = "float32",
    time_limit: float | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    checkpoint_every: float = 60.0,
    progress: bool = False,
    desc: str = "population annealing",
) -> PARun:
    """One population-annealing run from beta = 0 to ``beta_max`` (inputs checked by the caller,
    :func:`ising_nn.canonical.population_annealing`).

    Parameters
    ----------
    c : Couplings
    beta_max : float
        The last inverse temperature.
    population : int
        Replicas R.
    sweeps : int
        Heat-bath sweeps per temperature step.
    seed : int
        Seeds the initial spins, the heat bath's streams and the resampling.
    hot_sweeps : int, optional
        Sweeps per step to an inverse temperature below ``beta_hot`` (default ``sweeps``).
    beta_hot : float
        Where ``sweeps`` take over from ``hot_sweeps``.
    schedule : ndarray, optional
        Inverse temperatures to visit (ascending, from 0, ending at ``beta_max``); default adaptive, at a
        histogram overlap of ``overlap`` between successive steps.
    device, precision : str
        As :class:`LayerChains`.
    time_limit : float, optional
        Seconds; the run stops between steps (``complete=False``).
    checkpoint, resume, checkpoint_every
        State file written atomically every ``checkpoint_every`` seconds and at the end; ``resume`` continues
        from it (the inputs must match). A finished run's checkpoint holds its result.
    """
    t0 = time.perf_counter()
    N = c.n_spins
    seeds = [int(x) for x in np.random.SeedSequence(seed).generate_state(3)]
    sched = None if schedule is None else [float(b) for b in schedule]
    hot = int(sweeps) if hot_sweeps is None else int(hot_sweeps)
    params = dict(beta_max=float(beta_max), population=int(population), sweeps=int(sweeps), seed=int(seed),
                  **({} if hot == int(sweeps) else dict(hot_sweeps=hot, beta_hot=float(beta_hot))),
                  schedule=sched, overlap=None if sched is not None else float(overlap), **precision_fields(precision),
                  n_spins=N, n_bonds=c.n_bonds, coupling_sum=float(np.sum(c.buffer, dtype=np.float64)))
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if resume and ckpt is not None and ckpt.exists():
        st = _load(ckpt, c, params, device, precision)
    else:
        s0 = np.random.default_rng(seeds[0]).choice(np.array([-1, 1], np.int8), (int(population), N))
        st = _State(LayerChains(c, s0, device, seeds[1], precision), np.random.default_rng(seeds[2]),
                    np.arange(int(population)), np.empty(0))
        st.E_r = st.chains.energies()
        _record(st, 0.0, N * math.log(2.0), (0.0, 0.0), (float(c.sum_J2),) * 2)  # exact at beta = 0
    from tqdm.auto import tqdm

    complete = True
    t_start, last = time.perf_counter() - st.elapsed, time.perf_counter()
    total = None if sched is None else len(sched) - 1
    with tqdm(total=total, initial=len(st.rec["beta"]) - 1, disable=not progress, desc=desc, unit="step",
              leave=False) as bar:
        while st.beta < beta_max:
            k = len(st.rec["beta"])
            b = sched[k] if sched is not None else next_beta(st.E_r, st.beta, beta_max, overlap)
            _step(st, b, hot if b < beta_hot else int(sweeps), N)
            bar.update(1)
            bar.set_postfix(T=f"{1 / b:.3g}", rho_t=f"{st.rec['rho_t'][-1]:.3g}", refresh=False)
            now = time.perf_counter()
            st.elapsed = now - t_start
            if ckpt is not None and now - last >= checkpoint_every:
                _save(ckpt, st, params)
                last = now
            if time_limit is not None and now - t0 >= time_limit and st.beta < beta_max:
                complete = False
                break
    if ckpt is not None:
        _save(ckpt, st, params)
    r = {k: np.asarray(v) for k, v in st.rec.items()}
    return PARun(r["beta"], r["ln_Z"], r["U"], r["var_E"], r["rho_t"], r["rho_s"], r["families"].astype(int),
                 st.chains.spins(), np.asarray(st.E_r), int(population), int(sweeps), complete, st.elapsed,
                 np.stack([r["U_even"], r["U_odd"]]), np.stack([r["var_E_even"], r["var_E_odd"]]))
