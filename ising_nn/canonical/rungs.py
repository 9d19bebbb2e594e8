"""The hot/cold test of replica exchange: per-rung estimates of both ladders and where they agree.

A rung's numbers count only where the ladder started hot (uniform spins) and the one started cold (a low-energy
state) agree within their errors: rung by rung (:func:`equilibration_test`) and over windows of neighbouring
rungs (:func:`window_test`), so that a small difference consistent over many rungs is caught too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

from ising_nn.canonical.estimators import N_BLOCKS, jackknife, rb_moments, statistical_inefficiency

__all__ = ["RungStats", "rung_stats", "equilibration_test", "window_test", "EQ_ALPHA", "EQ_WINDOW"]

#: Family-wise false-alarm rate of the hot/cold test over all rungs and both observables (Bonferroni), half
#: of it for single rungs and half for windows of ``EQ_WINDOW`` neighbouring rungs.
EQ_ALPHA = 0.01
#: Rungs averaged by the window test: a hot/cold difference of two errors at every rung passes every
#: single-rung test (the threshold is ~3.8 errors) but not a window of 8 (5.7 errors of the average).
EQ_WINDOW = 8


@dataclass(frozen=True)
class RungStats:
    """Per-rung estimates of both ladders; rung k has ``beta_k`` ascending (rung 0 is beta = 0).

    Attributes
    ----------
    beta_k : ndarray, shape (K,)
    U_lk, U_err_lk : ndarray, shape (2, K)
        Rao-Blackwellised energy per spin and its jackknife error, ladder 0 hot, ladder 1 cold.
    C_lk, C_err_lk : ndarray, shape (2, K)
        Specific heat per spin and its jackknife error.
    z_k : ndarray, shape (K,)
        Largest |hot - cold| / combined error over U and C.
    equilibrated_k : ndarray of bool, shape (K,)
        This rung and every hotter one pass the hot/cold test (:func:`equilibration_test`), and no window of rungs
        from the hot end down to this one fails (:func:`window_test`).
    g_lk : ndarray, shape (2, K)
        Statistical inefficiency 1 + 2 tau_int of the energy series (in sweeps).
    acceptance_k : ndarray, shape (K - 1,)
        Swap acceptance of the pair (k, k+1), both ladders pooled, over the production sweeps.
    z_window_i : ndarray, shape (K - EQ_WINDOW + 1,)
        Largest |hot - cold| / combined error over U and C of the mean over rungs ``i .. i + EQ_WINDOW - 1``
        (its error a jackknife of the mean, so that neighbouring rungs' correlations count).
    """

    beta_k: np.ndarray
    U_lk: np.ndarray
    U_err_lk: np.ndarray
    C_lk: np.ndarray
    C_err_lk: np.ndarray
    z_k: np.ndarray
    equilibrated_k: np.ndarray
    g_lk: np.ndarray
    acceptance_k: np.ndarray
    z_window_i: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def T_k(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return 1.0 / self.beta_k

    @property
    def ess_lk(self) -> np.ndarray:
        """Effective sample size of each rung's energy series."""
        return self.n_sweeps / self.g_lk

    n_sweeps: int = 0


def equilibration_test(U_lk, U_err_lk, C_lk, C_err_lk, alpha: float = EQ_ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """``(z_k, equilibrated_k)``: hot against cold start per rung, rungs ordered hot (beta = 0) to cold.

    A rung passes if U and C of both starts agree within ``z_crit`` combined standard errors, ``z_crit`` the
    two-sided Bonferroni threshold for a family-wise false-alarm rate ``alpha`` over all the comparisons;
    ``equilibrated_k`` also needs every hotter rung to pass.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        zU = np.abs(U_lk[0] - U_lk[1]) / np.hypot(U_err_lk[0], U_err_lk[1])
        zC = np.abs(C_lk[0] - C_lk[1]) / np.hypot(C_err_lk[0], C_err_lk[1])
    zU = np.where(np.isnan(zU), 0.0, zU)  # identical constant series (beta = 0 has C = 0 in both)
    zC = np.where(np.isnan(zC), 0.0, zC)
    z = np.maximum(zU, zC)
    z_crit = norm.isf(alpha / (2 * 2 * len(z)))
    return z, np.cumprod(z <= z_crit).astype(bool)


def window_test(Uw_li, Uw_err_li, Cw_li, Cw_err_li, K: int, alpha: float = EQ_ALPHA / 2,
                dof: int = N_BLOCKS - 1) -> tuple[np.ndarray, np.ndarray]:
    """``(z_i, equilibrated_k)``: hot against cold start for the means over windows of neighbouring rungs.

    ``*_li`` (shape (2, n_windows)): each ladder's mean of U and C per spin over rungs ``i .. i + w - 1`` and
    its jackknife error. A consistent small difference, within every single rung's threshold, adds up over a
    window. Window ``i`` passes if both differences are within Student's t threshold (``dof``) for a
    family-wise rate ``alpha`` over all windows and both observables; a failing window fails its own rungs
    and every colder one.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        zU = np.abs(Uw_li[0] - Uw_li[1]) / np.hypot(Uw_err_li[0], Uw_err_li[1])
        zC = np.abs(Cw_li[0] - Cw_li[1]) / np.hypot(Cw_err_li[0], Cw_err_li[1])
    z = np.maximum(np.nan_to_num(zU), np.nan_to_num(zC))
    ok = np.ones(K, dtype=bool)
    if len(z):
        bad = np.flatnonzero(z > student_t.isf(alpha / (2 * 2 * len(z)), dof))
        if bad.size:
            ok[bad[0]:] = False
    return z, ok


def rung_stats(series: dict, beta_k: np.ndarray, accepted_lk: np.ndarray, attempted_lk: np.ndarray,
               n_spins: int) -> RungStats:
    """Both ladders' per-rung estimates and the hot/cold tests, from the production series.

    Parameters
    ----------
    series : dict of array-like, each of shape (n_sweeps, 2, K)
        ``E``, ``m1``, ``v1``, ``m2``, ``v2`` per sweep, ladder and rung (:class:`ising_nn.canonical.chain.HalfSweep`).
    beta_k : ndarray, shape (K,)
    accepted_lk, attempted_lk : ndarray, shape (2, K - 1)
        Swap counts of each pair of neighbouring rungs, per ladder.
    n_spins : int
    """
    s = {k: np.asarray(series[k]) for k in ("E", "m1", "v1", "m2", "v2")}  # (n, 2, K)
    beta = np.asarray(beta_k)
    K = len(beta)
    U, Ue, C, Ce, g = (np.empty((2, K)) for _ in range(5))
    w = min(EQ_WINDOW, K)
    Uw, Uwe, Cw, Cwe = (np.empty((2, K - w + 1)) for _ in range(4))

    def U_of(a, b):
        return 0.5 * (a.mean(0) + b.mean(0)) / n_spins

    def C_of(*x):
        return beta**2 * rb_moments(beta, *x)[1] / n_spins

    def window(x):
        return np.convolve(x, np.ones(w) / w, mode="valid")

    for l in range(2):
        m1, v1, m2, v2 = (s[k][:, l] for k in ("m1", "v1", "m2", "v2"))
        U[l], Ue[l] = jackknife(U_of, (m1, m2))
        C[l], Ce[l] = jackknife(C_of, (m1, v1, m2, v2))
        Uw[l], Uwe[l] = jackknife(lambda a, b: window(U_of(a, b)), (m1, m2))
        Cw[l], Cwe[l] = jackknife(lambda *x: window(C_of(*x)), (m1, v1, m2, v2))
        g[l] = statistical_inefficiency(s["E"][:, l])
    z, ok = equilibration_test(U, Ue, C, Ce, alpha=EQ_ALPHA / 2)
    zw, ok_w = window_test(Uw, Uwe, Cw, Cwe, K)
    ok = ok & ok_w
    acc = accepted_lk.sum(0) / np.maximum(attempted_lk.sum(0), 1)
    return RungStats(beta, U, Ue, C, Ce, z, ok, g, acc, zw, n_sweeps=len(s["E"]))
