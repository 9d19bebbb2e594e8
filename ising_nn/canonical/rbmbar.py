"""MBAR on the exact marginal of one parity: U, C, F, S per spin on a grid, Rao-Blackwellised.

With the odd layers ``x`` held fixed the even spins are independent, so ``x`` has the exact marginal
``p_beta(x) ~ exp(L_beta(x))``, ``L_beta = sum_i ln cosh(beta h_i(x))`` over the even spins, with the conditional
moments ``M_beta(x) = E[E | x]`` and ``V_beta(x) = Var[E | x]`` (:mod:`ising_nn.kernels.marginal`). MBAR (Shirts
and Chodera 2008) over the rungs with reduced potentials ``u_k(x) = -L_{beta_k}(x)`` gives every rung's free
energy, and any temperature ``beta`` is then a reweighting of every sample ``x_n`` with weight
``exp(L_beta(x_n)) / sum_k N_k exp(f_k + L_{beta_k}(x_n))``, in which

    U = < M_beta >,    Var E = < V_beta > + < (M_beta - U)^2 >.

Against MBAR on raw energies (:mod:`.mbar`) this replaces the sampled spins of the even layers by their exact
average: on a full-size network C on the grid is an order of magnitude more precise (the raw energies'
variance is the noisiest estimator there is of it).

Each sample carries ``L``, ``M``, ``V`` only at the rungs (and grid points between them) where its weight can
matter. Since ``d L_beta / d beta = -M_beta``, the log-ratio of the marginals of rungs ``j`` and ``k`` varies
over samples with standard deviation about ``|beta_j - beta_k| sigma_M``, ``sigma_M`` the spread of ``M``
(not of E: the marginals overlap far more than the energy distributions that place the ladder, and a window
of six rungs biased C by 3 % on shuffled MiniLM). Rung ``j`` is in rung ``k``'s window when
``|beta_j - beta_k| max(sigma_M_j, sigma_M_k) <= SPREAD``; beyond it a typical sample's weight is below
``exp(-SPREAD^2 / 2)`` of its weight at home, and MBAR takes it as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ising_nn.canonical.mbar import _mbar, _peak
from ising_nn.results.thermo import ThermoCurve

__all__ = ["SPREAD", "Targets", "marginal_targets", "rb_mbar_curve"]

#: Width of a rung's window, in standard deviations of the log-ratio of marginals (module docstring).
SPREAD = 10.0


@dataclass(frozen=True)
class Targets:
    """Where each rung's samples evaluate their marginal.

    Attributes
    ----------
    beta_kj : ndarray, shape (K, J)
        Inverse temperatures, NaN where padded.
    index_kj : ndarray of int, shape (K, J)
        ``j < K``: rung ``j``; ``K + t``: grid point ``t``; -1: padding.
    beta_t : ndarray, shape (n_T,)
        Inverse temperatures of the output grid.
    """

    beta_kj: np.ndarray
    index_kj: np.ndarray
    beta_t: np.ndarray


def marginal_targets(beta_k: np.ndarray, beta_t: np.ndarray, sigma_M_k: np.ndarray,
                     spread: float = SPREAD) -> Targets:
    """Each rung's window (module docstring) and the grid points between its outermost rungs.

    Parameters
    ----------
    beta_k : ndarray, shape (K,)
        The ladder, ascending from 0.
    beta_t : ndarray, shape (n_T,)
        The output grid.
    sigma_M_k : ndarray, shape (K,)
        Standard deviation of the conditional mean energy ``M`` at each rung (an estimate: the window only
        needs its scale).
    spread : float
    """
    beta_k = np.asarray(beta_k, dtype=np.float64)
    beta_t = np.asarray(beta_t, dtype=np.float64)
    sigma = np.asarray(sigma_M_k, dtype=np.float64)
    K = len(beta_k)
    lists = []
    for k in range(K):
        near = np.flatnonzero(np.abs(beta_k - beta_k[k]) * np.maximum(sigma, sigma[k]) <= spread)
        lo, hi = int(near.min()), int(near.max())  # contiguous: sigma_M varies slowly along the ladder
        grid = np.flatnonzero((beta_t >= beta_k[lo]) & (beta_t <= beta_k[hi]))
        lists.append(np.concatenate([np.arange(lo, hi + 1), K + grid]))
    J = max(len(x) for x in lists)
    index = np.full((K, J), -1, dtype=np.int64)
    beta = np.full((K, J), np.nan)
    all_beta = np.concatenate([beta_k, beta_t])
    for k, x in enumerate(lists):
        index[k, : len(x)] = x
        beta[k, : len(x)] = all_beta[x]
    return Targets(beta, index, beta_t)


def _assemble(L, M, V, targets: Targets, keep, K_eq: int, t_out: np.ndarray):
    """Dense reduced potentials and observables of the kept samples.

    ``keep``: list over rungs ``k < K_eq`` of ``(l_idx, rec_idx)`` arrays of the samples used. Returns
    ``u_kn`` (K_eq, n), ``u_tn``, ``M_tn``, ``V_tn`` (n_out, n) and ``N_k``.
    """
    K = targets.beta_kj.shape[0]
    n_out = len(t_out)
    col_of = np.full(K + len(targets.beta_t), -1)
    col_of[:K_eq] = np.arange(K_eq)
    col_of[K + t_out] = K_eq + np.arange(n_out)
    N_k = np.array([len(rec) for _, rec in keep])
    n = int(N_k.sum())
    u = np.full((K_eq + n_out, n), np.inf)
    Mx = np.zeros((n_out, n))
    Vx = np.zeros((n_out, n))
    start = 0
    for k, (lad, rec) in enumerate(keep):
        idx = targets.index_kj[k]
        cols = np.where(idx >= 0, col_of[np.maximum(idx, 0)], -1)
        use = cols >= 0
        sl = slice(start, start + len(rec))
        u[cols[use], sl] = -L[rec, lad][:, k, use].T
        obs = use & (cols >= K_eq)
        Mx[cols[obs] - K_eq, sl] = M[rec, lad][:, k, obs].T
        Vx[cols[obs] - K_eq, sl] = V[rec, lad][:, k, obs].T
        start += len(rec)
    return u[:K_eq], u[K_eq:], Mx, Vx, N_k


def _curves(mbar, u_tn, M_tn, V_tn, beta_t, n_spins):
    f_k = np.asarray(mbar.f_k)
    N_k = np.asarray(mbar.N_k, dtype=np.float64)
    u_kn = np.asarray(mbar.u_kn)
    with np.errstate(divide="ignore"):
        log_D_n = logsumexp(np.log(N_k)[:, None] + f_k[:, None] - u_kn, axis=0)
    log_w = -u_tn - log_D_n[None, :]
    f_t = -logsumexp(log_w, axis=1)
    w = np.exp(log_w + f_t[:, None])
    U = (w * M_tn).sum(1)
    var = (w * V_tn).sum(1) + (w * (M_tn - U[:, None]) ** 2).sum(1)
    ln_Z = n_spins * math.log(2.0) - (f_t - f_k[0])
    T = 1.0 / beta_t
    F = -T * ln_Z / n_spins
    U = U / n_spins
    return U, beta_t**2 * var / n_spins, F, (U - F) / T


def rb_mbar_curve(L, M, V, targets: Targets, K_eq: int, step_lk, t_out, n_spins: int,
                  f_k_init=None, n_bootstrap: int = 40, seed: int = 0) -> ThermoCurve:
    """Thermodynamics per spin at the grid points ``t_out`` from the marginal sums of the equilibrated rungs.

    Parameters
    ----------
    L, M, V : ndarray, shape (n_records, 2, K, J)
        Marginal sums of every record, ladder and rung at ``targets.beta_kj``.
    targets : Targets
    K_eq : int
        Rungs ``0 .. K_eq - 1`` are used.
    step_lk : ndarray of int, shape (2, K)
        Every ``step``-th record of a ladder's rung is kept (decorrelation).
    t_out : ndarray of int
        Indices into ``targets.beta_t`` of the output temperatures, ascending in T.
    n_spins : int
    f_k_init : ndarray, shape (K_eq,), optional
        Starting free energies (from raw-energy MBAR: the same quantities).
    n_bootstrap, seed : int
        Bootstrap of the kept samples within each rung, every replicate re-solved.
    """
    L, M, V = (np.asarray(x) for x in (L, M, V))
    n_rec = L.shape[0]
    keep = []
    for k in range(K_eq):
        lad = np.concatenate([np.full(len(range(0, n_rec, int(step_lk[l, k]))), l) for l in range(2)])
        rec = np.concatenate([np.arange(0, n_rec, int(step_lk[l, k])) for l in range(2)])
        keep.append((lad, rec))
    u_kn, u_tn, M_tn, V_tn, N_k = _assemble(L, M, V, targets, keep, K_eq, np.asarray(t_out))
    beta_t = targets.beta_t[np.asarray(t_out)]
    T_t = 1.0 / beta_t
    mbar = _mbar(u_kn, N_k, f_k_init)
    est = _curves(mbar, u_tn, M_tn, V_tn, beta_t, n_spins)
    Tc, edge = _peak(T_t, est[1])
    rng = np.random.default_rng(seed)
    starts = np.concatenate([[0], np.cumsum(N_k)[:-1]])
    boots, tcs = [], []
    for _ in range(n_bootstrap):
        idx = np.concatenate([s + rng.integers(0, n, n) for s, n in zip(starts, N_k)])
        m = _mbar(u_kn[:, idx], N_k, mbar.f_k)
        b = _curves(m, u_tn[:, idx], M_tn[:, idx], V_tn[:, idx], beta_t, n_spins)
        boots.append(b)
        tcs.append(_peak(T_t, b[1])[0])
    err = np.std(np.asarray(boots), axis=0, ddof=1) if n_bootstrap > 1 else np.full((4, len(T_t)), np.nan)
    return ThermoCurve(T_t, est[0], err[0], est[1], err[1], est[2], err[2], est[3], err[3], Tc,
                       float(np.std(tcs, ddof=1)) if n_bootstrap > 1 else math.nan, edge)
