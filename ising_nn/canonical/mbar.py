"""MBAR over every sampled temperature: U, C, F, S per spin on a fine grid, T_c, and ln g(E).

Shirts and Chodera, J. Chem. Phys. 129, 124105 (2008). The samples of all rungs, decorrelated (subsampled
by their statistical inefficiency), give the free energies ``f_k``; any other temperature is a reweighting
of all of them. The ladder's top rung is ``beta = 0``, where ``Z = 2^N`` exactly, which fixes F and S
absolutely, and its weights are ln g(E) (a uniform state falls in an energy bin with probability
g(bin) / 2^N). Errors and the error of T_c come from a bootstrap of the decorrelated samples within each rung,
every replicate re-solved. The equations are solved by :func:`ising_nn.canonical.banded.solve` (pymbar's own
protocol on the same objective, held to pymbar's dense solution by the tests).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeWarning
from scipy.special import logsumexp

logging.getLogger("pymbar").setLevel(logging.ERROR)
from pymbar import MBAR  # noqa: E402

from ising_nn.canonical import banded  # noqa: E402
from ising_nn.results.thermo import ThermoCurve  # noqa: E402

__all__ = ["ThermoCurve", "MBARSamples", "mbar_curve", "mbar_ln_g", "log_weights_beta0", "grid_edges"]


@dataclass(frozen=True)
class MBARSamples:
    """The decorrelated samples MBAR used and its solution: enough to rebuild it without resampling.

    Attributes
    ----------
    E_n : ndarray, shape (n,)
        Total energies grouped by rung.
    N_k : ndarray of int, shape (K,)
    beta_k : ndarray, shape (K,)
        ``beta_k[0] == 0``.
    f_k : ndarray, shape (K,)
        Dimensionless free energies (pymbar's ``f_k``, ``f_0 = 0``).
    """

    E_n: np.ndarray
    N_k: np.ndarray
    beta_k: np.ndarray
    f_k: np.ndarray


def _mbar(u_kn: np.ndarray, N_k: np.ndarray, f_k: np.ndarray | None) -> MBAR:
    """pymbar's MBAR (the tests' reference solution)."""
    # pymbar hands scipy's root finder options it does not take; the warning says nothing about the result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        return MBAR(u_kn, N_k, verbose=False, initial_f_k=f_k)


def _blocks(E_n: np.ndarray, N_k: np.ndarray, beta_k: np.ndarray) -> list[banded.Block]:
    """Every sample at every rung: one dense block per rung."""
    starts = np.concatenate([[0], np.cumsum(N_k)])
    return [banded.Block(0, np.multiply.outer(E_n[a:b], beta_k)) for a, b in zip(starts[:-1], starts[1:])]


def log_weights_beta0(s: MBARSamples) -> np.ndarray:
    """Each sample's MBAR log weight at ``beta = 0`` (rung 0, where ``u = 0``): ``-ln sum_k N_k exp(f_k - beta_k E_n)``,
    shape (n,)."""
    E_n = np.asarray(s.E_n, dtype=np.float64)
    return -np.concatenate(banded.log_denominators(_blocks(E_n, s.N_k, np.asarray(s.beta_k, np.float64)), s.N_k,
                                                   np.asarray(s.f_k, dtype=np.float64)))


def _peak(T_t: np.ndarray, C_t: np.ndarray) -> tuple[float, bool]:
    i = int(np.argmax(C_t))
    if i == 0 or i == len(T_t) - 1:
        return float(T_t[i]), True
    x, y = np.log(T_t[i - 1:i + 2]), C_t[i - 1:i + 2]
    den = y[0] - 2 * y[1] + y[2]
    shift = 0.0 if den >= 0 else 0.5 * (y[0] - y[2]) / den
    return float(np.exp(x[1] + shift * (x[2] - x[1]))), False


def _curves(f_k: np.ndarray, N_k: np.ndarray, blocks: list, E_n: np.ndarray, beta_t: np.ndarray, n_spins: int):
    """U, C, F, S per spin at ``beta_t``: each a reweighting of every sample by ``exp(-beta E_n - ln D_n)``."""
    log_D_n = np.concatenate(banded.log_denominators(blocks, N_k, f_k))
    f_0 = -logsumexp(-log_D_n)  # beta = 0 (u = 0): F and S are anchored there, as pymbar's Delta_f is
    log_w = -np.multiply.outer(beta_t, E_n) - log_D_n[None, :]
    f_t = -logsumexp(log_w, axis=1)
    w = np.exp(log_w + f_t[:, None])
    U = w @ E_n
    dE = E_n - E_n.mean()  # centred, so that the variance does not cancel digits
    m1 = w @ dE
    m2 = w @ (dE * dE)
    ln_Z = n_spins * math.log(2.0) - (f_t - f_0)
    T = 1.0 / beta_t
    F = -T * ln_Z / n_spins
    U = U / n_spins
    return U, beta_t**2 * (m2 - m1 * m1) / n_spins, F, (U - F) / T


def mbar_curve(E_n: np.ndarray, N_k: np.ndarray, beta_k: np.ndarray, T_t: np.ndarray, n_spins: int,
               n_bootstrap: int = 10, seed: int = 0, f_k_init: np.ndarray | None = None
               ) -> tuple[ThermoCurve, np.ndarray]:
    """Thermodynamics on ``T_t`` from decorrelated energies of every rung.

    Parameters
    ----------
    E_n : ndarray, shape (n_samples,)
        Total energies, grouped by rung in the order of ``beta_k``.
    N_k : ndarray of int, shape (K,)
        Samples of each rung.
    beta_k : ndarray, shape (K,)
        Inverse temperatures of the rungs; ``beta_k[0]`` must be 0 (``Z = 2^N`` anchors F and S).
    T_t : ndarray, shape (n_T,)
        Temperatures of the output grid.
    n_spins : int
    n_bootstrap : int
        Bootstrap replicates for the errors.
    seed : int
        Seed of the bootstrap.
    f_k_init : ndarray, shape (K,), optional
        Starting free energies for pymbar's solver (thermodynamic integration of the rungs' mean energies
        is within O(1) of the answer and saves most of the iterations).

    Returns
    -------
    curve : ThermoCurve
    f_k : ndarray, shape (K,)
        The rungs' dimensionless free energies (``f_0 = 0``).
    """
    E_n = np.asarray(E_n, dtype=np.float64)
    N_k = np.asarray(N_k, dtype=np.int64)
    beta_k = np.asarray(beta_k, dtype=np.float64)
    if beta_k[0] != 0.0:
        raise ValueError("the first rung must be beta = 0")
    beta_t = 1.0 / np.asarray(T_t, dtype=np.float64)
    blocks = _blocks(E_n, N_k, beta_k)
    f_k = banded.solve(blocks, N_k, f_k_init)
    est = _curves(f_k, N_k, blocks, E_n, beta_t, n_spins)
    Tc, edge = _peak(T_t, est[1])
    rng = np.random.default_rng(seed)
    starts = np.concatenate([[0], np.cumsum(N_k)[:-1]])
    boots, tcs = [], []
    for _ in range(n_bootstrap):
        idx = np.concatenate([s + rng.integers(0, n, n) for s, n in zip(starts, N_k)])
        blocks_b = _blocks(E_n[idx], N_k, beta_k)
        b = _curves(banded.solve(blocks_b, N_k, f_k), N_k, blocks_b, E_n[idx], beta_t, n_spins)
        boots.append(b)
        tcs.append(_peak(T_t, b[1])[0])
    err = np.std(np.asarray(boots), axis=0, ddof=1) if n_bootstrap > 1 else np.full((4, len(T_t)), np.nan)
    curve = ThermoCurve(np.asarray(T_t, dtype=np.float64), est[0], err[0], est[1], err[1], est[2], err[2],
                        est[3], err[3], Tc, float(np.std(tcs, ddof=1)) if n_bootstrap > 1 else math.nan, edge)
    return curve, f_k


def mbar_ln_g(samples: MBARSamples, n_spins: int, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ln g(E) per spin at the centres of the bins ``edges`` (ascending) that hold samples, from MBAR.

    At ``beta = 0`` every state is equally likely, so each sample's ``beta = 0`` weight ``w_n`` is its share
    of the 2^N states. Summing the ``w_n`` of a bin would count the states in the bin; but across a bin of
    width h, ln g rises by ~ beta h (12 on the figures' bins for gpt2 near its T_c), so that sum is set by the
    bin's few highest samples, and a thermodynamic sum that puts the bin's states at its centre is then noisy
    (C off by up to 5 standard errors at 65,280 spins). Each sample is therefore weighted by
    ``w_n exp(-beta_b (E_n - E_b))``, with ``beta_b`` the local inverse temperature d ln g / dE at the bin's
    centre E_b (interpolated between the rungs' mean energies): that sum estimates g(E_b) h, the midpoint rule
    for the bin's Boltzmann sums at every temperature near the bin's own.

    Parameters
    ----------
    samples : MBARSamples
        Rung 0 is ``beta = 0``.
    n_spins : int
    edges : ndarray, shape (n_bins + 1,)

    Returns
    -------
    E_b, ln_g_b : ndarray, shape (n_held,)
        Centres of the bins that hold samples; ln g / N there (natural log), normalised so that the sum of
        g over these bins is 2^N.
    """
    E_n = np.asarray(samples.E_n, dtype=np.float64)
    # log weights: at beta = 0 the low-energy samples weigh far less than 1e-308
    log_w_n = log_weights_beta0(samples)
    b_n = np.digitize(E_n, edges) - 1
    inside = (b_n >= 0) & (b_n < len(edges) - 1)
    E_n, log_w_n, b_n = E_n[inside], log_w_n[inside], b_n[inside]
    centre_n = 0.5 * (edges[b_n] + edges[b_n + 1])
    starts = np.concatenate([[0], np.cumsum(samples.N_k)])
    E_mean_k = np.array([samples.E_n[a:b].mean() for a, b in zip(starts[:-1], starts[1:])])
    o = np.argsort(E_mean_k)
    beta_n = np.interp(centre_n, E_mean_k[o], np.asarray(samples.beta_k, dtype=np.float64)[o])
    log_w_n = log_w_n - beta_n * (E_n - centre_n)
    order = np.argsort(b_n, kind="stable")
    b_sorted, w_sorted = b_n[order], log_w_n[order]
    bins, first = np.unique(b_sorted, return_index=True)
    ln_p_b = np.logaddexp.reduceat(w_sorted, first)
    ln_p_b -= logsumexp(ln_p_b)  # sum g = 2^N over the bins (the midpoint rule's sum)
    centres = 0.5 * (edges[bins] + edges[bins + 1])
    return centres, (n_spins * math.log(2.0) + ln_p_b) / n_spins


def grid_edges(E_n: np.ndarray, bin_width: float) -> np.ndarray:
    """Edges of bins of width ``bin_width`` centred on multiples of it, covering ``E_n``."""
    lo = math.floor(float(np.min(E_n)) / bin_width - 0.5) + 0.5
    hi = math.ceil(float(np.max(E_n)) / bin_width + 0.5) + 0.5
    return np.arange(lo, hi + 0.5) * bin_width
