"""MBAR's free energies when each rung's samples are evaluated only at the states of its window.

Replica exchange evaluates a sample's reduced potential only at the rungs (and grid points) near its own
(:mod:`.rbmbar`); everywhere else it is ``+inf`` and the sample's weight there is zero. pymbar takes ``u_kn``
dense, so each of its solves spends its time in ``logsumexp`` over a matrix that is mostly ``+inf``
(``bench/MBAR.md``). Here the samples of a rung form
a :class:`Block` that holds only the contiguous range of states where any of them is finite, and the same
equations are solved on the blocks.

MBAR's estimate (Shirts and Chodera, J. Chem. Phys. 129, 124105 (2008)) minimises the convex

    Phi(f) = sum_n ln sum_k N_k exp(f_k - u_kn) - sum_k N_k f_k,

whose gradient and Hessian, with ``p_nk = N_k exp(f_k - u_kn) / sum_j N_j exp(f_j - u_jn)`` (each sample's
posterior over states), are

    g_k = sum_n p_nk - N_k,        H_kl = delta_kl sum_n p_nk - sum_n p_nk p_nl.

:func:`solve` iterates as pymbar's ``adaptive`` method does (its Appendix C.2; Shirts and Chodera 2008): each step
takes whichever of the Newton step and the self-consistent step ``f_k <- f_k - ln(sum_n p_nk / N_k)`` leaves the
smaller gradient, until the relative change of ``f`` is below ``tol`` and the two steps agree to ``sqrt(tol)``.
The tests hold it to pymbar's dense solution.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import root

__all__ = ["Block", "blocks_from_dense", "resample", "solve", "log_denominators"]


@dataclass(frozen=True)
class Block:
    """The samples of one rung, at the states ``lo .. lo + width - 1``.

    Attributes
    ----------
    lo : int
        First state of the block.
    u_nj : ndarray, shape (n_g, width)
        Reduced potentials of the block's samples at its states, ``+inf`` where a sample has no weight.
    """

    lo: int
    u_nj: np.ndarray


def blocks_from_dense(u_kn: np.ndarray, N_k: np.ndarray) -> list[Block]:
    """Split a dense ``u_kn`` (samples grouped by state, ``N_k`` of each) into one :class:`Block` per state.

    Parameters
    ----------
    u_kn : ndarray, shape (K, n)
    N_k : ndarray of int, shape (K,)
    """
    u_kn = np.asarray(u_kn, dtype=np.float64)
    N_k = np.asarray(N_k, dtype=np.int64)
    if u_kn.shape[1] != int(N_k.sum()):
        raise ValueError(f"u_kn has {u_kn.shape[1]} samples, N_k sums to {int(N_k.sum())}")
    blocks, start = [], 0
    for n in N_k:
        part = u_kn[:, start:start + n]
        finite = np.flatnonzero(np.isfinite(part).any(axis=1))
        lo, hi = (int(finite[0]), int(finite[-1])) if len(finite) else (0, -1)
        blocks.append(Block(lo, np.ascontiguousarray(part[lo:hi + 1].T)))
        start += n
    return blocks


def resample(blocks: list[Block], rows: list[np.ndarray]) -> list[Block]:
    """The blocks with each one's samples replaced by ``rows[g]`` of them (a bootstrap within each rung)."""
    return [Block(b.lo, b.u_nj[r]) for b, r in zip(blocks, rows)]


def _log_posterior(b: Block, log_c_k: np.ndarray):
    """``ln p_nj`` of a block's samples over its states, and ``ln D_n = ln sum_k N_k exp(f_k - u_kn)``."""
    with np.errstate(invalid="ignore"):
        a = log_c_k[b.lo:b.lo + b.u_nj.shape[1]][None, :] - b.u_nj
    m = a.max(axis=1)
    log_D = m + np.log(np.exp(a - m[:, None]).sum(axis=1))
    return a - log_D[:, None], log_D


def _log_c(f_k, N_k):
    with np.errstate(divide="ignore"):
        return np.log(N_k.astype(np.float64)) + f_k


def _sums(blocks, N_k, f_k, hessian: bool):
    """``sum_n p_nk`` and, if asked, ``sum_n p_nk p_nl``."""
    K = len(N_k)
    S_k = np.zeros(K)
    P_kl = np.zeros((K, K)) if hessian else None
    log_c = _log_c(f_k, N_k)
    for b in blocks:
        if b.u_nj.shape[0] == 0:
            continue
        p = np.exp(_log_posterior(b, log_c)[0])
        hi = b.lo + p.shape[1]
        S_k[b.lo:hi] += p.sum(axis=0)
        if hessian:
            P_kl[b.lo:hi, b.lo:hi] += p.T @ p
    return S_k, P_kl


def _log_sums(blocks, N_k, f_k):
    """``ln sum_n p_nk``, finite where the sum underflows (the self-consistent step needs it far from the
    solution)."""
    out = np.full(len(N_k), -np.inf)
    log_c = _log_c(f_k, N_k)
    with np.errstate(divide="ignore", invalid="ignore"):
        for b in blocks:
            if b.u_nj.shape[0]:
                lp = _log_posterior(b, log_c)[0]
                m = lp.max(axis=0)
                part = m + np.log(np.exp(lp - m[None, :]).sum(axis=0))
                sl = slice(b.lo, b.lo + lp.shape[1])
                out[sl] = np.logaddexp(out[sl], np.where(np.isfinite(m), part, -np.inf))
    return out


def log_denominators(blocks: list[Block], N_k: np.ndarray, f_k: np.ndarray) -> list[np.ndarray]:
    """``ln sum_k N_k exp(f_k - u_kn)`` of every sample, block by block (MBAR's weight of a sample is
    ``exp(-u_n - ln D_n)`` at any state whose reduced potential is ``u_n``)."""
    log_c = _log_c(np.asarray(f_k, dtype=np.float64), np.asarray(N_k))
    return [_log_posterior(b, log_c)[1] for b in blocks]


def _norm2(g):
    """Squared norm of a gradient; infinite where a step left the finite numbers."""
    d = float(np.dot(g, g))
    return d if math.isfinite(d) else math.inf


def _hybr(blocks, N_k, f, tol):
    """pymbar's first solver: Powell's hybrid method (scipy's ``root``) on the gradient with the Hessian as
    Jacobian, ``f_0 = 0``; returns ``f`` unchanged where it fails (the adaptive steps then start from there)."""
    cache = {}

    def sums(x):
        key = x.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = _sums(blocks, N_k, np.concatenate([[0.0], x]), hessian=True)
        return cache[key]

    def grad(x):
        return (sums(x)[0] - N_k)[1:]

    def hess(x):
        S, P = sums(x)
        return (np.diag(S) - P)[1:, 1:]

    with warnings.catch_warnings(), np.errstate(invalid="ignore", over="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = root(grad, f[1:], jac=hess, method="hybr", tol=tol)
    x = np.concatenate([[0.0], res.x])
    return x if np.all(np.isfinite(x)) else f


def solve(blocks: list[Block], N_k: np.ndarray, f_k_init: np.ndarray | None = None, tol: float = 1e-12,
          maxiter: int = 1000) -> np.ndarray:
    """MBAR's dimensionless free energies ``f_k`` (``f_0 = 0``) from samples in blocks.

    Parameters
    ----------
    blocks : list of Block
        One per state that has samples, in state order (:func:`blocks_from_dense`).
    N_k : ndarray of int, shape (K,)
        Samples of each state; every state must have some (as in pymbar after it drops empty ones).
    f_k_init : ndarray, shape (K,), optional
        Starting point (default zeros).
    tol : float
        Relative change of ``f`` at which to stop (pymbar's ``adaptive`` criterion and default).
    maxiter : int

    Returns
    -------
    f_k : ndarray, shape (K,)

    Raises
    ------
    RuntimeError
        If it has not converged after ``maxiter`` steps.
    """
    N_k = np.asarray(N_k, dtype=np.int64)
    if np.any(N_k <= 0):
        raise ValueError("every state needs samples")
    K = len(N_k)
    f = np.zeros(K) if f_k_init is None else np.asarray(f_k_init, dtype=np.float64) - f_k_init[0]
    log_N = np.log(N_k.astype(np.float64))
    f = _hybr(blocks, N_k, f, tol)
    S, P = _sums(blocks, N_k, f, hessian=True)
    gn = _norm2(S - N_k)
    max_delta = math.inf
    for _ in range(maxiter):
        H = np.diag(S) - P
        step = np.zeros(K)
        # f_0 = 0 removes H's null direction (a constant shift); least squares, as pymbar, where a far start
        # leaves a state without weight and H singular
        step[1:] = np.linalg.lstsq(H[1:, 1:], (S - N_k)[1:], rcond=None)[0]
        f_sc = f - (_log_sums(blocks, N_k, f) - log_N)
        f_sc -= f_sc[0]
        div = np.maximum(np.abs(f[1:]), 1.0)
        with np.errstate(invalid="ignore", over="ignore"):  # a candidate that overflows is not taken
            S_sc, P_sc = _sums(blocks, N_k, f_sc, hessian=True)
            gn_sc = _norm2(S_sc - N_k)
            # the Newton direction lowers |g|^2 for a short enough step (its derivative is -2 |g|^2): halve it
            # until it does, unless the step is already at the level of rounding
            t = 1.0
            while True:
                f_nr = f - t * step
                S_nr, P_nr = _sums(blocks, N_k, f_nr, hessian=True)
                gn_nr = _norm2(S_nr - N_k)
                if gn_nr <= gn or t < 1e-3 or np.max(t * np.abs(step[1:]) / div, initial=0.0) < 1e-9:
                    break
                t *= 0.5
        f_old = f
        if gn_sc < gn_nr:
            f, S, P, gn = f_sc, S_sc, P_sc, gn_sc
        else:
            f, S, P, gn = f_nr, S_nr, P_nr, gn_nr
        div = np.abs(f[1:])
        div[div < min(1e-8, tol)] = 1.0
        max_delta = np.max(np.abs(f[1:] - f_old[1:]) / div, initial=0.0)
        max_diff = np.max(np.abs(f_sc[1:] - f_nr[1:]) / div, initial=0.0)
        if max_delta < tol and max_diff < math.sqrt(tol):
            return f
    raise RuntimeError(f"MBAR did not converge in {maxiter} steps (last relative change {max_delta:.3g})")
