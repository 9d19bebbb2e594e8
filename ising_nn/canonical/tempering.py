"""Replica exchange: pilot, ladder, replica-exchange heat bath from a hot and a cold start, analysis.

Two ladders run side by side in one batch of replicas: the *hot* one starts from independent uniform spins,
the *cold* one from a low-energy state (the ground-state search's). A rung's numbers are used only where the
two agree within their errors, rung by rung and over windows of rungs (:mod:`.rungs`); MBAR then combines both
ladders' samples over the equilibrated rungs: U, C, F, S on the grid from the exact marginals of the odd and of
the even layers, weighted for the least variance of C (:mod:`.rbmbar`, sampled every ``stride`` sweeps), ln g(E)
from the raw energies (:mod:`.mbar`).

Agreeing hot and cold starts are necessary for equilibrium, not sufficient: both ladders can sit in the same
too-high energies at low T. On networks of 16,512 to 65,280 spins population annealing found a lower U where the
two ladders still agreed (``bench/CROSSCHECK*.md``, ``bench/SHUFFLES.md``), so a low-temperature result wants a
second method (:mod:`.annealing`; :func:`ising_nn.paper.criticality.certify` compares the two).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ising_nn import validate
from ising_nn._version import __version__
from ising_nn.canonical.chain import LayerChains, precision_fields
from ising_nn.canonical.common import check_device, check_range, cold_state, load_checkpoint, params_of, save_checkpoint
from ising_nn.canonical.estimators import rb_moments
from ising_nn.canonical.exchange import exchange
from ising_nn.canonical.ladder import MIN_ACCEPTANCE, place_ladder, refine_ladder
from ising_nn.canonical.mbar import MBARSamples, ThermoCurve, grid_edges, mbar_curve, mbar_ln_g
from ising_nn.canonical.rbmbar import SPREAD, Targets, marginal_targets, rb_mbar_curve
from ising_nn.canonical.rungs import RungStats, rung_stats
from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings

__all__ = ["canonical_thermo", "CanonicalResult"]

SERIES = ("E", "m1", "v1", "m2", "v2")
#: The odd layers' marginal at every rung's targets (:mod:`.rbmbar`), rows of shape (2, K, J).
MARGINAL = ("L", "M", "V")
#: The even layers' marginal, the same shape.
MARGINAL_EVEN = ("L_even", "M_even", "V_even")
HOT, COLD = 0, 1
#: Pairs measured below MIN_ACCEPTANCE + REFINE_MARGIN over a tuning round get a rung between them: a round's
#: acceptance is a count over ~50 attempts (standard deviation ~0.07), and production must stay above the minimum.
REFINE_MARGIN = 0.1
#: Bootstrap replicates of MBAR on raw energies (:attr:`CanonicalResult.raw_curve`, what ln g rests on).
RAW_BOOTSTRAP = 10
#: Rounds of re-placing the rungs from measured energy spreads after the pilot's placement (then insertions).
TUNE_ROUNDS = 2


@dataclass(frozen=True)
class CanonicalResult:
    """Outcome of :func:`canonical_thermo`.

    Attributes
    ----------
    curve : ThermoCurve
        MBAR thermodynamics per spin over the equilibrated part of ``[tmin, tmax]``, Rao-Blackwellised
        (:mod:`.rbmbar`).
    rungs : RungStats
    T_equilibrated : float
        Lowest rung temperature from which every hotter rung passes the hot/cold test (inf if none): a
        necessary condition for equilibrium, not a sufficient one (module docstring).
    failed_T : list of float
        Rung temperatures that failed the test.
    E_b, ln_g_b : ndarray
        ln g(E) per spin over the energies the equilibrated rungs sampled (MBAR, :func:`mbar_ln_g`), on bins
        a third of the smallest canonical energy spread of those rungs wide.
    samples : MBARSamples
        What MBAR used (to rebuild ln g on other bins: :func:`ising_nn.canonical.hybrid_dos`).
    spins_k : ndarray, shape (K, N), int8
        The hot ladder's final configuration at every rung (typical states of each temperature).
    E_spins_k : ndarray, shape (K,)
        Their energies.
    header : dict
        Inputs, ladder, diagnostics: what :func:`~ising_nn.canonical.write_thermo` writes.
    raw_curve : ThermoCurve
        MBAR on the raw energies of :attr:`samples` (``RAW_BOOTSTRAP`` replicates) on the same grid: what a
        DOS joined to :func:`mbar_ln_g` reproduces (its C about ten times noisier than :attr:`curve`'s at full
        size).
    """

    curve: ThermoCurve
    rungs: RungStats
    T_equilibrated: float
    failed_T: list
    E_b: np.ndarray
    ln_g_b: np.ndarray
    spins_k: np.ndarray
    E_spins_k: np.ndarray
    n_spins: int
    samples: MBARSamples
    header: dict = field(default_factory=dict)
    raw_curve: ThermoCurve | None = None


# ---------------------------------------------------------------------------------------------- state
@dataclass
class _State:
    """Everything a checkpoint holds: the ladder, both ladders' slots, counters, series, generators."""

    beta_k: np.ndarray
    slot_lk: np.ndarray  # (2, K): replica slot holding rung k of ladder l
    chains: LayerChains
    rng: np.random.Generator
    stage: str = "burn"  # then "prod"
    done: int = 0  # sweeps done in the current stage
    sweep: int = 0  # sweeps since the ladder was fixed (the exchange parity)
    accepted_lk: np.ndarray | None = None
    attempted_lk: np.ndarray | None = None
    series: dict = field(default_factory=dict)  # name -> list of (2, K) rows, (2, K, J) for MARGINAL
    elapsed: float = 0.0
    targets: Targets | None = None  # where the marginal is recorded (set for production)
    stride: int = 1  # production sweeps between marginal records
    sigma_M_k: np.ndarray | None = None  # spread of the conditional mean energy per rung (sizes the windows)

    def reset_counters(self) -> None:
        K = len(self.beta_k)
        self.accepted_lk = np.zeros((2, K - 1), dtype=np.int64)
        self.attempted_lk = np.zeros((2, K - 1), dtype=np.int64)


def _beta_slots(st: _State) -> np.ndarray:
    R = st.chains.n_replicas
    b = np.empty(R)
    for l in range(2):
        b[st.slot_lk[l]] = st.beta_k
    return b


def _sweep(st: _State, record: bool, marginal: bool = False) -> None:
    beta_r = _beta_slots(st)
    if marginal:
        K = len(st.beta_k)
        rung_r = np.empty(st.chains.n_replicas, dtype=np.int64)
        for l in range(2):
            rung_r[st.slot_lk[l]] = np.arange(K)
        beta_rj = st.targets.beta_kj[rung_r]
        for names, parity in ((MARGINAL, 0), (MARGINAL_EVEN, 1)):
            for name, x in zip(names, st.chains.marginal(beta_rj, parity)):
                st.series.setdefault(name, []).append(x[st.slot_lk])
    h0 = st.chains.half_sweep(0, beta_r)
    h1 = st.chains.half_sweep(1, beta_r)
    if record:
        for name, x in (("E", h1.E_r), ("m1", h0.m_r), ("v1", h0.v_r), ("m2", h1.m_r), ("v2", h1.v_r)):
            st.series.setdefault(name, []).append(x[st.slot_lk])
    for l in range(2):
        exchange(st.beta_k, st.slot_lk[l], h1.E_r, st.sweep % 2, st.rng, st.accepted_lk[l], st.attempted_lk[l])
    st.sweep += 1


# ---------------------------------------------------------------------------------------------- checks
def _check(tmin, tmax, sweeps, burn_in, time_limit, device, precision, seed, points) -> tuple[int, str, str]:
    check_range(tmin, tmax)
    if isinstance(sweeps, bool) or not isinstance(sweeps, (int, np.integer)) or sweeps < 80:
        raise IsingNNError(f"sweeps must be an integer of at least 80 (the errors use 20 blocks), got {sweeps!r}")
    validate.integer("burn_in", burn_in, 0, optional=True)
    validate.seconds("time limit", time_limit)
    validate.integer("seed", seed, 0)
    validate.integer("points", points, 3)
    device, precision = check_device(device, precision)
    return int(seed), device, precision


# ---------------------------------------------------------------------------------------------- stages
def _pilot(c, cold, tmin, tmax, sweeps, seeds, device, precision) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse temperatures of a ladder placed from a short pilot run of both starts (no exchange); and the
    pilot's inverse temperatures with the spread of the conditional mean energy there (both starts' larger)."""
    beta_p = np.concatenate([[0.0], 1.0 / np.geomspace(16 * tmax, tmin, 24)])
    P, N = len(beta_p), c.n_spins
    rng = np.random.default_rng(seeds[0])
    s = np.concatenate([rng.choice(np.array([-1, 1], np.int8), (P, N)), np.tile(cold, (P, 1))])
    ch = LayerChains(c, s, device, seeds[1], precision)
    beta_r = np.tile(beta_p, 2)
    rows = []
    for i in range(sweeps):
        h0, h1 = ch.half_sweep(0, beta_r), ch.half_sweep(1, beta_r)
        if i >= sweeps // 2:
            rows.append((h0.m_r, h0.v_r, h1.m_r, h1.v_r))
    m1, v1, m2, v2 = (np.asarray(x) for x in zip(*rows))
    _, var = rb_moments(beta_r, m1, v1, m2, v2)
    sigma = np.sqrt(np.maximum(var[:P], var[P:]))
    sigma[0] = math.sqrt(c.sum_J2)  # exact at beta = 0
    sigma_M = np.sqrt(np.maximum(m1[:, :P].var(0), m1[:, P:].var(0)))
    return place_ladder(beta_p, sigma, 1.0 / tmin), beta_p, sigma_M


def _new_state(c, beta_k, spins_lk, device, precision, chain_seed, swap_seed) -> _State:
    """A state whose slots hold ``spins_lk`` (shape (2, K, N)) in rung order."""
    K = len(beta_k)
    ch = LayerChains(c, spins_lk.reshape(2 * K, -1), device, chain_seed, precision)
    st = _State(np.asarray(beta_k, dtype=np.float64), np.arange(2 * K).reshape(2, K), ch,
                np.random.default_rng(swap_seed))
    st.reset_counters()
    return st


def _tune(c, st: _State, sweeps: int, device, precision, seeds) -> _State:
    """Run with swaps, re-place the rungs from the energy spreads measured at every rung (Rao-Blackwellised:
    precise after a few dozen sweeps, unlike the swap counts); then insert a rung wherever a pair still swaps
    less than :data:`MIN_ACCEPTANCE`."""
    for rnd in range(TUNE_ROUNDS + 4):
        st.reset_counters()
        st.series = {}
        for _ in range(sweeps):
            _sweep(st, record=True)
        acc = st.accepted_lk.sum(0) / np.maximum(st.attempted_lk.sum(0), 1)
        if rnd < TUNE_ROUNDS:
            half = {k: np.asarray(v)[sweeps // 2:] for k, v in st.series.items()}  # (n, 2, K)
            var = [rb_moments(st.beta_k, *(half[k][:, l] for k in ("m1", "v1", "m2", "v2")))[1] for l in (HOT, COLD)]
            new = place_ladder(st.beta_k, np.sqrt(np.maximum(var[0], var[1])), st.beta_k[-1])
        else:
            new = refine_ladder(st.beta_k, acc, MIN_ACCEPTANCE + REFINE_MARGIN)
            if len(new) == len(st.beta_k):
                break
        spins = st.chains.spins()[st.slot_lk]  # (2, K, N) in rung order
        # a new rung starts from the configuration of the old rung nearest below it in temperature
        idx = np.searchsorted(st.beta_k, new, side="left").clip(0, len(st.beta_k) - 1)
        st = _new_state(c, new, spins[:, idx], device, precision, seeds[2] + rnd + 1, seeds[3] + rnd + 1)
    st.reset_counters()
    st.series = {}
    return st


# ---------------------------------------------------------------------------------------------- checkpoint
def _save(path: Path, st: _State, params: dict, cold_energy: str) -> None:
    series = {f"series_{k}": np.asarray(v) for k, v in st.series.items()}
    meta = dict(stage=st.stage, done=st.done, sweep=st.sweep, elapsed=st.elapsed, rng=st.rng.bit_generator.state,
                cold_start_energy_per_spin=cold_energy)
    save_checkpoint(path, "replica-exchange", params, meta,
                    dict(beta_k=st.beta_k, slot_lk=st.slot_lk, spins=st.chains.spins(), sigma_M_k=st.sigma_M_k,
                         gen=st.chains.generator_state(), accepted_lk=st.accepted_lk, attempted_lk=st.attempted_lk,
                         **series))


def _load(path: Path, c: Couplings, params: dict, device: str, precision: str) -> tuple[_State, str]:
    meta, z = load_checkpoint(path, "replica-exchange", params)
    try:
        ch = LayerChains(c, z["spins"], device, 0, precision)
        ch.set_generator_state(z["gen"])
        rng = np.random.default_rng()
        rng.bit_generator.state = meta["rng"]
        st = _State(z["beta_k"], z["slot_lk"], ch, rng, meta["stage"], meta["done"], meta["sweep"],
                    z["accepted_lk"], z["attempted_lk"], elapsed=meta["elapsed"], sigma_M_k=z["sigma_M_k"])
        st.series = {k: list(z[f"series_{k}"]) for k in SERIES + MARGINAL + MARGINAL_EVEN
                     if f"series_{k}" in z}
        cold_energy = str(meta["cold_start_energy_per_spin"])
    except (KeyError, ValueError, TypeError) as exc:
        raise IsingNNError(f"checkpoint {str(path)!r} is incomplete ({type(exc).__name__}: {exc}); remove it to "
                           "start afresh") from None
    return st, cold_energy


# ---------------------------------------------------------------------------------------------- analysis
def _mbar_samples(st: _State, rungs: RungStats, max_samples: int):
    """Decorrelated energies of the equilibrated rungs, both ladders, at most ``max_samples`` per ladder."""
    E = np.asarray(st.series["E"])  # (n, 2, K)
    K_eq = int(rungs.equilibrated_k.sum())
    parts, N_k = [], []
    for k in range(K_eq):
        chunk = []
        for l in range(2):
            x = E[:, l, k]
            step = max(1, int(math.ceil(rungs.g_lk[l, k])), int(math.ceil(len(x) / max_samples)))
            chunk.append(x[::step])
        parts.append(np.concatenate(chunk))
        N_k.append(len(parts[-1]))
    return np.concatenate(parts), np.asarray(N_k), st.beta_k[:K_eq]


def _analyse(st: _State, c: Couplings, tmin, tmax, points, n_bootstrap, max_samples, seed, header):
    t0 = time.perf_counter()
    N = c.n_spins
    rungs = rung_stats(st.series, st.beta_k, st.accepted_lk, st.attempted_lk, N)
    K_eq = int(rungs.equilibrated_k.sum())
    T_eq = float(rungs.T_k[K_eq - 1]) if K_eq >= 2 else math.inf
    failed = [float(t) for t, ok in zip(rungs.T_k, rungs.equilibrated_k) if not ok]
    if K_eq < 2 or T_eq >= tmax:
        raise IsingNNError(
            f"the hot and cold starts disagree above tmax = {tmax} (equilibrated down to T = {T_eq:.4g} only): "
            "give more sweeps or a higher tmax")
    E_n, N_k, beta_eq = _mbar_samples(st, rungs, max_samples)
    U_k = N * rungs.U_lk.mean(0)[:K_eq]
    f_ti = np.concatenate([[0.0], np.cumsum(0.5 * (U_k[1:] + U_k[:-1]) * np.diff(beta_eq))])
    T_grid = 1.0 / st.targets.beta_t
    t_out = np.flatnonzero(T_grid >= T_eq * (1 - 1e-12))
    raw, f_k = mbar_curve(E_n, N_k, beta_eq, T_grid[t_out], N, n_bootstrap=RAW_BOOTSTRAP, seed=seed, f_k_init=f_ti)
    step_lk = np.maximum(1, np.ceil(rungs.g_lk / st.stride)).astype(int)
    # a checkpoint written before the even layers' marginal was recorded resumes with the odd layers' alone
    both = len(st.series.get("L_even", [])) == len(st.series["L"])
    curve, weight = rb_mbar_curve(
        *(np.asarray(st.series[k]) for k in MARGINAL), st.targets, K_eq, step_lk, t_out, N,
        f_k_init=f_k, n_bootstrap=n_bootstrap, seed=seed,
        other=tuple(np.asarray(st.series[k]) for k in MARGINAL_EVEN) if both else None)
    spread = float(np.min(np.sqrt(rungs.C_lk.mean(0)[1:K_eq] * N) * rungs.T_k[1:K_eq]))
    bin_width = spread / 3.0
    samples = MBARSamples(E_n, N_k, beta_eq, f_k)
    E_b, ln_g_b = mbar_ln_g(samples, N, grid_edges(E_n, bin_width))
    spins = st.chains.spins()
    spins_k = spins[st.slot_lk[HOT]]
    E_spins = st.chains.energies()[st.slot_lk[HOT]]
    header = dict(header)
    header.update(
        T_c=f"{curve.Tc:.4f}", T_c_err=f"{curve.Tc_err:.4f}", T_c_at_edge=curve.Tc_at_edge,
        T_equilibrated=f"{T_eq:.4f}", failed_T=" ".join(f"{t:.4f}" for t in failed) or "none",
        rungs=len(st.beta_k), rungs_equilibrated=K_eq,
        ladder_T=" ".join("inf" if b == 0 else f"{1 / b:.4f}" for b in st.beta_k),
        swap_acceptance_min=f"{rungs.acceptance_k.min():.3f}",
        tau_int_max=f"{0.5 * (rungs.g_lk[:, :K_eq].max() - 1):.2f}",
        ess_min=f"{rungs.ess_lk[:, :K_eq].min():.0f}",
        mbar_samples=int(N_k.sum()), mbar_bootstrap=int(n_bootstrap), ln_g_bin_width=f"{bin_width:.4f}",
        curve_estimator=("MBAR on the odd and on the even layers' exact marginals, weighted (Rao-Blackwellised)"
                         if both else "MBAR on the odd layers' exact marginal (Rao-Blackwellised)"),
        marginal_weight_odd=f"{weight:.4f}",
        marginal_stride=st.stride, marginal_spread=f"{SPREAD:g}", marginal_targets_max=st.targets.beta_kj.shape[1],
        marginal_samples=int(
            sum(np.ceil(len(st.series["L"]) / step_lk[l, k]) for l in range(2) for k in range(K_eq))),
        # ``seconds`` is the sampling; the MBAR solves of the bootstrap come on top (a third of a run on MiniLM)
        analysis_seconds=f"{time.perf_counter() - t0:.1f}",
    )
    return CanonicalResult(curve, rungs, T_eq, failed, E_b, ln_g_b, spins_k, E_spins, N, samples, header, raw)


# ---------------------------------------------------------------------------------------------- driver
def canonical_thermo(
    c: Couplings,
    *,
    tmin: float = 1.0,
    tmax: float = 10.0,
    sweeps: int = 2000,
    burn_in: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    precision: str = "auto",
    cold_spins: np.ndarray | None = None,
    time_limit: float | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    checkpoint_every: float = 60.0,
    progress: bool = True,
    points: int = 200,
    n_bootstrap: int = 40,
    max_samples: int = 150,
    pilot_sweeps: int = 60,
    tune_sweeps: int | None = None,
) -> CanonicalResult:
    """Canonical thermodynamics of a layered Ising model by replica-exchange heat bath and MBAR.

    Parameters
    ----------
    c : Couplings
    tmin, tmax : float
        Temperature range of the output (k_B = 1, the couplings' energy units). The ladder runs from
        ``beta = 0`` (exact: ``Z = 2^N``) down to ``tmin``; rungs are inserted until every neighbouring pair
        swaps with at least 20 % acceptance.
    sweeps : int
        Production sweeps (each: every even layer, every odd layer, one round of swaps). A count, not a
        time, so that reruns on other machines give the same numbers.
    burn_in : int, optional
        Sweeps discarded after the ladder is fixed (default ``sweeps // 4``).
    seed : int
        Seeds the hot start, the heat bath's uniforms, the swaps and the bootstrap.
    device : str
        Torch device; ``"cuda"`` runs the same code on a GPU.
    precision : str
        Of the fields: ``"auto"``, ``"float32"``, ``"split-bf16"`` or ``"int8x3"``
        (:mod:`ising_nn.canonical.chain`); the header's ``precision`` says which ran.
    cold_spins : ndarray, shape (N,), optional
        The cold start (default: ``quench(c, "fast", seed=seed)``).
    time_limit : float, optional
        Seconds; the run stops between sweeps and the header says ``stop_reason: time limit``.
    checkpoint, resume, checkpoint_every
        State file (``.npz``) written atomically every ``checkpoint_every`` seconds and at the end;
        ``resume=True`` continues from it (the inputs must match).
    progress : bool
        tqdm progress bar on stderr.
    points : int
        Temperatures of the output grid, geometric over ``[tmin, tmax]``; the curve holds those at or above
        ``T_equilibrated``.
    n_bootstrap, max_samples : int
        MBAR bootstrap replicates (a standard deviation from ``n`` replicates is itself uncertain by about
        ``1 / sqrt(2 (n - 1))``: 24 % at 10, 11 % at 40); samples kept per rung and ladder: raw energies
        (decorrelated) for ln g, and the marginal recorded every ``ceil(sweeps / max_samples)`` sweeps.

    Returns
    -------
    CanonicalResult

    References
    ----------
    Hukushima and Nemoto, J. Phys. Soc. Jpn. 65, 1604 (1996) (replica exchange); Shirts and Chodera,
    J. Chem. Phys. 129, 124105 (2008) (MBAR); Flyvbjerg and Petersen, J. Chem. Phys. 91, 461 (1989) (blocking).
    """
    seed, device, precision = _check(tmin, tmax, sweeps, burn_in, time_limit, device, precision, seed, points)
    burn = sweeps // 4 if burn_in is None else int(burn_in)
    tune = max(50, sweeps // 20) if tune_sweeps is None else int(tune_sweeps)
    t0 = time.perf_counter()
    params = params_of(c, tmin=float(tmin), tmax=float(tmax), sweeps=int(sweeps), burn_in=burn, seed=seed,
                       pilot_sweeps=int(pilot_sweeps), tune_sweeps=tune, **precision_fields(precision),
                       points=int(points),
                       max_samples=int(max_samples))
    seeds = [int(x) for x in np.random.SeedSequence(seed).generate_state(4)]
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if resume and ckpt is not None and ckpt.exists():
        st, cold_energy = _load(ckpt, c, params, device, precision)
    else:
        cold = cold_state(c, cold_spins, seed)
        cold_energy = f"{float(c.energy(cold)) / c.n_spins:.6f}"
        beta_k, beta_p, sigma_M_p = _pilot(c, cold, tmin, tmax, int(pilot_sweeps), seeds, device, precision)
        K = len(beta_k)
        rng = np.random.default_rng(seeds[0] + 1)
        hot = rng.choice(np.array([-1, 1], np.int8), (K, c.n_spins))
        st = _new_state(c, beta_k, np.stack([hot, np.tile(cold, (K, 1))]), device, precision, seeds[2], seeds[3])
        st = _tune(c, st, tune, device, precision, seeds)
        st.sigma_M_k = np.interp(st.beta_k, beta_p, sigma_M_p)
    st.targets = marginal_targets(st.beta_k, 1.0 / np.geomspace(tmin, tmax, points), st.sigma_M_k)
    st.stride = max(1, math.ceil(sweeps / max_samples))
    stop_reason = "sweeps"
    t_start, last_ckpt = time.perf_counter() - st.elapsed, time.perf_counter()
    from tqdm.auto import tqdm

    total = burn + sweeps
    done_before = st.done + (burn if st.stage == "prod" else 0)
    with tqdm(total=total, initial=done_before, disable=not progress, desc="canonical", unit="sweep",
              leave=False) as bar:
        for stage, n in (("burn", burn), ("prod", sweeps)):
            if st.stage == "prod" and stage == "burn":
                continue
            if st.stage != stage:
                st.stage, st.done = stage, 0
                st.reset_counters()
            while st.done < n:
                prod = stage == "prod"
                _sweep(st, record=prod, marginal=prod and st.done % st.stride == 0)
                st.done += 1
                bar.update(1)
                now = time.perf_counter()
                st.elapsed = now - t_start
                if ckpt is not None and now - last_ckpt >= checkpoint_every:
                    _save(ckpt, st, params, cold_energy)
                    last_ckpt = now
                if time_limit is not None and now - t0 >= time_limit:
                    stop_reason = "time limit"
                    break
            if stop_reason != "sweeps":
                break
    if ckpt is not None:
        _save(ckpt, st, params, cold_energy)
    n_prod = len(st.series.get("E", []))
    if n_prod < 80:
        raise IsingNNError(f"the time limit stopped the run after {n_prod} production sweeps (at least 80 are "
                           "needed); give more time, or --checkpoint and --resume")
    import torch

    header = dict(method="replica-exchange layer heat bath + MBAR", n_spins=c.n_spins,
                  n_bonds=c.n_bonds, tmin=tmin, tmax=tmax, sweeps=int(sweeps), production_sweeps=n_prod,
                  burn_in=burn, seed=seed, device=device, **precision_fields(precision), stop_reason=stop_reason,
                  cold_start_energy_per_spin=cold_energy,
                  seconds=f"{time.perf_counter() - t0:.1f}",
                  **(dict(threads=torch.get_num_threads()) if device == "cpu" else {}),
                  version=f"ising-nn {__version__}")
    header.update(c.provenance.as_header())
    return _analyse(st, c, tmin, tmax, points, n_bootstrap, max_samples, seed, header)
