"""MBAR on the exact marginal of each parity: U, C, F, S per spin on a grid, Rao-Blackwellised.

With the odd layers ``x`` held fixed the even spins are independent, so ``x`` has the exact marginal
``p_beta(x) ~ exp(L_beta(x))``, ``L_beta = sum_i ln cosh(beta h_i(x))`` over the even spins, with the conditional
moments ``M_beta(x) = E[E | x]`` and ``V_beta(x) = Var[E | x]`` (:mod:`ising_nn.kernels.marginal`). MBAR (Shirts
and Chodera 2008) over the rungs with reduced potentials ``u_k(x) = -L_{beta_k}(x)`` gives every rung's free
energy, and any temperature ``beta`` is then a reweighting of every sample ``x_n`` with weight
``exp(L_beta(x_n)) / sum_k N_k exp(f_k + L_{beta_k}(x_n))``, in which

    U = < M_beta >,    Var E = < V_beta > + < (M_beta - U)^2 >.

Against MBAR on raw energies (:mod:`.mbar`) this replaces the sampled spins of the even layers by their exact
average: on a full-size network C on the grid is an order of magnitude more precise (the raw energies'
variance is the noisiest estimator there is of it). The same holds with the roles swapped (the odd layers summed,
the even held). Both estimates come from the same records and both are exact in expectation, so any fixed
weighting of the two is too; the curve takes the weight that makes C's bootstrap variance least
(:func:`parity_weight`; ``rb_mbar_curve(..., other=...)``). Which parity is the better depends on the network:
on shuffled MiniLM the one that sums out the 1,536-wide layers, by 2x in C's error; on trained MiniLM neither
(``bench/PARITY.md``).

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

from ising_nn.canonical.banded import Block, log_denominators, resample, solve
from ising_nn.canonical.mbar import _peak
from ising_nn.results.thermo import ThermoCurve

__all__ = ["SPREAD", "Targets", "marginal_targets", "parity_weight", "rb_mbar_curve"]

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


@dataclass(frozen=True)
class _Part:
    """One parity's kept samples, rung by rung: reduced potentials at the rungs of each window (``rungs``), and
    reduced potentials, ``M`` and ``V`` at the output temperatures inside it (``grid``, ``M``, ``V``; a block's
    ``lo`` counts output temperatures)."""

    rungs: list
    grid: list
    M: list
    V: list

    def resample(self, rows: list) -> _Part:
        return _Part(resample(self.rungs, rows), resample(self.grid, rows),
                     [m[r] for m, r in zip(self.M, rows)], [v[r] for v, r in zip(self.V, rows)])


def _assemble(L, M, V, targets: Targets, keep, K_eq: int, t_out: np.ndarray) -> tuple[_Part, np.ndarray]:
    """The kept samples of the equilibrated rungs as blocks (:mod:`.banded`), and ``N_k``.

    ``keep``: list over rungs ``k < K_eq`` of ``(l_idx, rec_idx)`` arrays of the samples used.
    """
    K = targets.beta_kj.shape[0]
    pos_of = np.full(len(targets.beta_t), -1)
    pos_of[np.asarray(t_out)] = np.arange(len(t_out))
    rungs, grid, Ms, Vs = [], [], [], []
    for k, (lad, rec) in enumerate(keep):
        idx = targets.index_kj[k]
        at_rung = (idx >= 0) & (idx < K_eq)
        pos = np.where(idx >= K, pos_of[np.clip(idx - K, 0, None)], -1)
        at_grid = pos >= 0
        L_nj, M_nj, V_nj = (x[rec, lad, k] for x in (L, M, V))
        cols = idx[at_rung]
        lo = int(cols.min())
        u = np.full((len(rec), int(cols.max()) - lo + 1), np.inf)
        u[:, cols - lo] = -L_nj[:, at_rung]
        rungs.append(Block(lo, u))
        pts = pos[at_grid]
        t_lo = int(pts.min()) if len(pts) else 0
        width = int(pts.max()) - t_lo + 1 if len(pts) else 0
        ut = np.full((len(rec), width), np.inf)
        Mx, Vx = np.zeros((len(rec), width)), np.zeros((len(rec), width))
        ut[:, pts - t_lo] = -L_nj[:, at_grid]
        Mx[:, pts - t_lo] = M_nj[:, at_grid]
        Vx[:, pts - t_lo] = V_nj[:, at_grid]
        grid.append(Block(t_lo, ut))
        Ms.append(Mx)
        Vs.append(Vx)
    return _Part(rungs, grid, Ms, Vs), np.array([len(rec) for _, rec in keep])


def _curves(f_k, N_k, part: _Part, beta_t, n_spins):
    n_T = len(beta_t)
    log_w = [-g.u_nj - d[:, None] for g, d in zip(part.grid, log_denominators(part.rungs, N_k, f_k))]
    lse_t = np.full(n_T, -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for g, a in zip(part.grid, log_w):
            if a.size:
                sl = slice(g.lo, g.lo + a.shape[1])
                lse_t[sl] = np.logaddexp(lse_t[sl], logsumexp(a, axis=0))
    f_t = -lse_t
    w = [np.exp(a + f_t[g.lo:g.lo + a.shape[1]]) for g, a in zip(part.grid, log_w)]
    U, var = np.zeros(n_T), np.zeros(n_T)
    for g, w_nj, M_nj in zip(part.grid, w, part.M):
        U[g.lo:g.lo + w_nj.shape[1]] += (w_nj * M_nj).sum(0)
    for g, w_nj, M_nj, V_nj in zip(part.grid, w, part.M, part.V):
        sl = slice(g.lo, g.lo + w_nj.shape[1])
        var[sl] += (w_nj * V_nj).sum(0) + (w_nj * (M_nj - U[sl]) ** 2).sum(0)
    ln_Z = n_spins * math.log(2.0) - (f_t - f_k[0])
    T = 1.0 / beta_t
    F = -T * ln_Z / n_spins
    U = U / n_spins
    return U, beta_t**2 * var / n_spins, F, (U - F) / T


def parity_weight(boot_C_bpt: np.ndarray) -> float:
    """Weight of the first parity in the combination of two (module docstring), from bootstrap replicates of C.

    Per temperature the variance of ``w a + (1 - w) b`` is least at ``w = (var b - cov) / (var a + var b - 2 cov)``;
    one weight for the whole curve (the median over temperatures, clipped to [0, 1]) keeps the per-temperature
    noise of 40 replicates out of it and every relation between U, C, F and S linear.

    Parameters
    ----------
    boot_C_bpt : ndarray, shape (B, 2, n_T)
        C of each bootstrap replicate, parity and temperature.
    """
    a, b = boot_C_bpt[:, 0], boot_C_bpt[:, 1]
    da, db = a - a.mean(0), b - b.mean(0)
    va, vb, cab = (da * da).mean(0), (db * db).mean(0), (da * db).mean(0)
    den = va + vb - 2.0 * cab
    ok = den > 1e-300
    if not ok.any():
        return 0.5
    w = (vb[ok] - cab[ok]) / den[ok]
    return float(np.clip(np.median(w), 0.0, 1.0))


def rb_mbar_curve(L, M, V, targets: Targets, K_eq: int, step_lk, t_out, n_spins: int,
                  f_k_init=None, n_bootstrap: int = 40, seed: int = 0, other=None) -> tuple[ThermoCurve, float]:
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
    other : tuple of three ndarrays, optional
        ``(L, M, V)`` of the same records for the other parity. Each parity's estimate is exact in expectation;
        the curve is ``w first + (1 - w) other`` with ``w`` from :func:`parity_weight`, and the bootstrap
        resamples the same records for both, so its error includes their correlation.

    Returns
    -------
    curve : ThermoCurve
    weight : float
        ``w``, the weight of the first parity (1 without ``other``).
    """
    sets = [tuple(np.asarray(x) for x in (L, M, V))]
    if other is not None:
        sets.append(tuple(np.asarray(x) for x in other))
        if any(a.shape != b.shape for a, b in zip(*sets)):
            raise ValueError("the two parities' marginal sums must have the same shape")
    n_rec = sets[0][0].shape[0]
    keep = []
    for k in range(K_eq):
        lad = np.concatenate([np.full(len(range(0, n_rec, int(step_lk[l, k]))), l) for l in range(2)])
        rec = np.concatenate([np.arange(0, n_rec, int(step_lk[l, k])) for l in range(2)])
        keep.append((lad, rec))
    parts = [_assemble(*lmv, targets, keep, K_eq, np.asarray(t_out)) for lmv in sets]
    N_k = parts[0][1]
    beta_t = targets.beta_t[np.asarray(t_out)]
    T_t = 1.0 / beta_t
    solved = [solve(part.rungs, N_k, f_k_init) for part, _ in parts]

    def estimate(rows):
        """(P, 4, n_T): U, C, F, S of every parity; ``rows``: the resampled samples of each rung, or None."""
        out = []
        for (part, _), f0 in zip(parts, solved):
            if rows is None:
                f = f0
            else:
                part = part.resample(rows)
                f = solve(part.rungs, N_k, f0)
            out.append(_curves(f, N_k, part, beta_t, n_spins))
        return np.asarray(out)

    est_p = estimate(None)
    rng = np.random.default_rng(seed)
    boots_p = np.asarray([estimate([rng.integers(0, n, n) for n in N_k])
                          for _ in range(n_bootstrap)]).reshape(n_bootstrap, len(sets), 4, len(T_t))
    w = parity_weight(boots_p[:, :, 1]) if len(sets) == 2 and n_bootstrap > 1 else (1.0 if len(sets) == 1 else 0.5)
    wp = np.array([w, 1.0 - w])[: len(sets)]
    est = np.tensordot(wp, est_p, axes=1)
    boots = np.tensordot(boots_p, wp, axes=([1], [0]))  # (B, 4, n_T)
    Tc, edge = _peak(T_t, est[1])
    tcs = [_peak(T_t, b[1])[0] for b in boots]
    err = np.std(boots, axis=0, ddof=1) if n_bootstrap > 1 else np.full((4, len(T_t)), np.nan)
    curve = ThermoCurve(T_t, est[0], err[0], est[1], err[1], est[2], err[2], est[3], err[3], Tc,
                        float(np.std(tcs, ddof=1)) if n_bootstrap > 1 else math.nan, edge)
    return curve, w
