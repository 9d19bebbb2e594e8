"""Sums over the spins of one parity that make the other parity's marginal distribution exact (numba).

The layer chain is bipartite: with the layers of one parity ``x`` held fixed, the energy is linear in the
other spins, ``E = - sum_i h_i(x) s_i``, and summing them out gives the marginal of ``x`` at any ``beta``,

    p_beta(x) = prod_i 2 cosh(beta h_i(x)) / Z(beta),

with the conditional mean and variance of E given ``x``,

    M(beta) = - sum_i h_i tanh(beta h_i),    V(beta) = sum_i h_i^2 (1 - tanh^2(beta h_i)).

So a sample of ``x`` taken at one temperature reweights to any other exactly, and its energy observables are
Rao-Blackwellised there too: ``L(beta) = sum_i ln cosh(beta h_i)`` (zero at beta = 0) is minus the reduced
potential that MBAR needs (:mod:`ising_nn.canonical.rbmbar`).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ising_nn.kernels.heatbath import _FM, _exp_nonpos

__all__ = ["marginal_sums", "marginal_sums_reference"]

_LN2 = math.log(2.0)


@nb.njit(cache=True, inline="always", fastmath=_FM)
def _log1p_unit(q):
    """``ln(1 + q)`` for ``0 <= q <= 1`` in float32: ``2 atanh(s)``, ``s = q / (2 + q) <= 1/3``, by its series
    to ``s^15`` (truncation below 4e-9)."""
    s = q / (np.float32(2.0) + q)
    z = s * s
    p = np.float32(1.0 / 15.0)
    p = p * z + np.float32(1.0 / 13.0)
    p = p * z + np.float32(1.0 / 11.0)
    p = p * z + np.float32(1.0 / 9.0)
    p = p * z + np.float32(1.0 / 7.0)
    p = p * z + np.float32(1.0 / 5.0)
    p = p * z + np.float32(1.0 / 3.0)
    p = p * z + np.float32(1.0)
    return np.float32(2.0) * s * p


@nb.njit(cache=True, parallel=True, fastmath=_FM)
def marginal_sums(h_rn, beta_rj, L_rj, M_rj, V_rj):
    """Add ``L``, ``M``, ``V`` (module docstring) of the fields ``h_rn`` (float32, shape (R, n)) at the inverse
    temperatures ``beta_rj`` (float64, (R, J); NaN entries are skipped) to ``L_rj``, ``M_rj``, ``V_rj``
    (float64, (R, J)). Each spin's terms in float32 (``exp`` and ``ln(1 + q)`` by polynomials that
    vectorise), their sums in float64."""
    R, n = h_rn.shape
    J = beta_rj.shape[1]
    for r in nb.prange(R):
        for j in range(J):
            if beta_rj[r, j] != beta_rj[r, j]:
                continue
            b = np.float32(beta_rj[r, j])
            lc = 0.0
            m = 0.0
            v = 0.0
            for i in range(n):  # vectorises
                h = abs(h_rn[r, i])
                a = b * h
                q = _exp_nonpos(np.float32(-2.0) * a)
                d = np.float32(1.0) / (np.float32(1.0) + q)
                lc += np.float64(a + _log1p_unit(q))
                m -= np.float64(h * (np.float32(1.0) - q) * d)  # h tanh(b h) = |h| tanh(b |h|)
                v += np.float64(h * h * np.float32(4.0) * q * d * d)
            L_rj[r, j] += lc - n * _LN2
            M_rj[r, j] += m
            V_rj[r, j] += v


def marginal_sums_reference(h_rn, beta_rj, L_rj, M_rj, V_rj) -> None:
    """Pure-Python reference of :func:`marginal_sums` (for the tests)."""
    R, n = h_rn.shape
    for r in range(R):
        for j in range(beta_rj.shape[1]):
            b = float(beta_rj[r, j])
            if math.isnan(b):
                continue
            for i in range(n):
                h = float(h_rn[r, i])
                L_rj[r, j] += math.log(math.cosh(b * h))
                M_rj[r, j] -= h * math.tanh(b * h)
                V_rj[r, j] += h * h * (1.0 - math.tanh(b * h) ** 2)
