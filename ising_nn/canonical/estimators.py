"""Per-temperature estimators from heat-bath time series: means, blocking (jackknife) errors, autocorrelation.

The series of one rung come from one half-sweep pair per sweep: ``m1, v1`` the Rao-Blackwellised conditional
mean and variance of E given the odd layers, ``m2, v2`` given the even layers (see :mod:`.chain`). Then

    U = < (m1 + m2) / 2 >,    Var(E) = < v1 > + Var(m1)  ( = < v2 > + Var(m2) ),

both exact identities of conditional expectation, with less variance than the raw energy's moments.
Errors: delete-one-block jackknife over ``n_blocks`` contiguous blocks, which accounts for autocorrelation
as long as a block is much longer than the integrated autocorrelation time (reported beside it).
"""

from __future__ import annotations

import logging

import numpy as np

logging.getLogger("pymbar").setLevel(logging.ERROR)
from pymbar import timeseries  # noqa: E402

__all__ = ["jackknife", "jackknife_error", "rb_moments", "statistical_inefficiency", "N_BLOCKS"]

#: Blocks of the jackknife.
N_BLOCKS = 20


def jackknife(fn, arrays: tuple[np.ndarray, ...], n_blocks: int = N_BLOCKS) -> tuple[np.ndarray, np.ndarray]:
    """Estimate ``fn(*arrays)`` and its delete-one-block jackknife error.

    ``arrays`` share their first axis (time); ``fn`` maps arrays of shape ``(n, ...)`` to an array ``(...)``.
    """
    n = arrays[0].shape[0]
    b = max(2, min(n_blocks, n))
    edges = np.linspace(0, n, b + 1).astype(int)
    full = np.asarray(fn(*arrays))
    reps = []
    for i in range(b):
        keep = np.r_[0:edges[i], edges[i + 1]:n]
        reps.append(fn(*(a[keep] for a in arrays)))
    return full, jackknife_error(np.asarray(reps))


def jackknife_error(reps: np.ndarray) -> np.ndarray:
    """The jackknife error from delete-one replicates, shape ``(n, ...)``: ``sqrt((n - 1) / n sum (r - mean)^2)``
    over the first axis."""
    reps = np.asarray(reps, dtype=float)
    n = reps.shape[0]
    return np.sqrt((n - 1) / n * ((reps - reps.mean(0)) ** 2).sum(0))


def rb_moments(beta_k: np.ndarray, m1, v1, m2, v2):
    """``(U_k, Var_k)``: Rao-Blackwellised mean and variance of E per rung from series of shape ``(n, K)``."""
    U = 0.5 * (m1.mean(0) + m2.mean(0))
    var = 0.5 * (v1.mean(0) + m1.var(0) + v2.mean(0) + m2.var(0))
    return U, var


def statistical_inefficiency(x_nk: np.ndarray) -> np.ndarray:
    """``g_k = 1 + 2 tau_int`` of each column (pymbar's estimator); 1 for a constant series."""
    g = np.ones(x_nk.shape[1])
    for k in range(x_nk.shape[1]):
        x = x_nk[:, k]
        if np.ptp(x) > 0 and x.size >= 8:
            g[k] = timeseries.statistical_inefficiency(x)
    return g
