"""Couplings as fixed-point numbers of three int8 digits, for fields by exact int8 products (``int8x3``).

Matrix ``m`` is rounded to multiples of its own step ``delta 2^-k_m``: ``delta = max |J| / (126 * 2^16)`` over
every matrix, and ``k_m >= 0`` the largest power of two by which the matrix's largest coupling still stays
within ``max |J|`` (lowered where needed so that neighbouring matrices differ by at most :data:`MAX_STEP_RATIO`
halvings). Each matrix so keeps about 23 bits over its own largest coupling, not the network's. The integer
``q = J 2^k_m / delta`` is written in base 256 with signed digits, ``q = 65536 d0 + 256 d1 + d2``, each in
``[-128, 127]``.

The field of layer ``l`` is one int8 product of its neighbours' spins with its two matrices' digits. Its
unit is the finer of the two steps, ``delta_l = delta 2^-max(k_{l-1}, k_l)``; the coarser matrix's couplings
are whole multiples of it, so that neighbour's spins enter multiplied by ``2^|k_{l-1} - k_l|`` (at most 64:
still int8). With int32 accumulation the products are exact whatever the blocking or the number of threads,
and ``h = delta_l (65536 P0 + 256 P1 + P2)`` is formed in float64 (exact below 2^53) and rounded once to
float32. Both layers a coupling joins see the same value, so the heat bath samples one Boltzmann
distribution: that of the couplings so rounded.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = ["fixed_point_digits", "layer_steps", "combine_digits", "combine_digits_reference", "DIGIT_SCALE",
           "MAX_STEP_RATIO", "FIXED_POINT"]

#: Names this scheme in headers and checkpoints: another rounding of the couplings is another Hamiltonian.
FIXED_POINT = "three int8 digits, a power-of-two step per matrix"
#: ``|q| <= DIGIT_SCALE``: the top digit then stays within int8 after the two lower digits borrow.
DIGIT_SCALE = 126 * 65536
#: Largest difference of ``k`` between neighbouring matrices: spins times ``2^6 = 64`` stay within int8.
MAX_STEP_RATIO = 6


def _shifts(tops: list[float], top: float) -> list[int]:
    k = [max(0, math.floor(math.log2(top / t))) if t > 0 else 0 for t in tops]
    changed = True
    while changed:  # neighbours within MAX_STEP_RATIO: only ever lower a k (a coarser step still fits)
        changed = False
        for m in range(len(k) - 1):
            for a, b in ((m, m + 1), (m + 1, m)):
                if k[a] > k[b] + MAX_STEP_RATIO:
                    k[a] = k[b] + MAX_STEP_RATIO
                    changed = True
    return k


def fixed_point_digits(J_list: list[np.ndarray]) -> tuple[float, np.ndarray, list[np.ndarray]]:
    """``(delta, k_m, digits)``: the common step, each matrix's shift ``k_m`` (int64, shape (M,)) and, per
    matrix of shape (a, b), its digits as int8 of shape (3, a, b),
    ``J ~ delta 2^-k (65536 d[0] + 256 d[1] + d[2])`` with error at most ``delta 2^-k / 2``."""
    tops = [float(np.abs(j).max(initial=0.0)) for j in J_list]
    top = max(tops, default=0.0)
    delta = top / DIGIT_SCALE if top > 0 else 1.0
    k = _shifts(tops, top)
    out = []
    for m, j in enumerate(J_list):
        while True:  # floor(log2) of a rounded ratio may overshoot by one
            q = np.rint(j.astype(np.float64) * (2.0 ** k[m] / delta)).astype(np.int64)
            if k[m] == 0 or np.abs(q).max(initial=0) <= DIGIT_SCALE:
                break
            k[m] -= 1
        d2 = ((q + 128) & 255) - 128
        q = (q - d2) >> 8
        d1 = ((q + 128) & 255) - 128
        d0 = (q - d1) >> 8
        assert np.abs(d0).max(initial=0) <= 127
        out.append(np.stack([d0, d1, d2]).astype(np.int8))
    return delta, np.asarray(k, dtype=np.int64), out


def layer_steps(delta: float, k_m: np.ndarray, n_layers: int) -> tuple[np.ndarray, np.ndarray]:
    """``(delta_l, mult_l2)``: each layer's field unit ``delta 2^-max(k_{l-1}, k_l)`` (float64, (L,)) and the
    factors ``2^(k_max - k)`` of its neighbours' spins, below and above (int64, (L, 2); 1 where none)."""
    delta_l = np.empty(n_layers)
    mult = np.ones((n_layers, 2), dtype=np.int64)
    for l in range(n_layers):
        ks = [int(k_m[l - 1]) if l > 0 else None, int(k_m[l]) if l < len(k_m) else None]
        top = max(x for x in ks if x is not None)
        delta_l[l] = delta * 2.0**-top
        for side, x in enumerate(ks):
            if x is not None:
                mult[l, side] = 2 ** (top - x)
    return delta_l, mult


@nb.njit(cache=True, inline="always")
def _top2(P_rn, r, i, n):
    """``65536 P0 + 256 P1`` of site ``i`` (exact in float64) from products laid out ``[P0 | P1 | ...]``."""
    return np.float64(P_rn[r, i]) * 65536.0 + np.float64(P_rn[r, n + i]) * 256.0


@nb.njit(cache=True, inline="always")
def _field(P_rn3, delta, r, i, n):
    return np.float32(delta * (_top2(P_rn3, r, i, n) + np.float64(P_rn3[r, 2 * n + i])))


@nb.njit(cache=True, parallel=True)
def combine_digits(P_rn3, delta, out_rn):
    """``out_rn`` (float32, (R, n)) = the fields from the digit products ``P_rn3`` (int32, (R, 3n): the
    products with d0, d1, d2 side by side) in units of the layer's step ``delta``."""
    R, n = out_rn.shape
    for r in nb.prange(R):
        for i in range(n):
            out_rn[r, i] = _field(P_rn3, delta, r, i, n)


def combine_digits_reference(P_rn3: np.ndarray, delta: float) -> np.ndarray:
    """Pure-Python reference of :func:`combine_digits` (Python integers, one rounding)."""
    R, n3 = P_rn3.shape
    n = n3 // 3
    out = np.empty((R, n), np.float32)
    for r in range(R):
        for i in range(n):
            q = 65536 * int(P_rn3[r, i]) + 256 * int(P_rn3[r, n + i]) + int(P_rn3[r, 2 * n + i])
            out[r, i] = np.float32(delta * q)
    return out
