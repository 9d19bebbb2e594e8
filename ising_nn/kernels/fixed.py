"""Couplings as fixed-point numbers of three int8 digits, for fields by exact int8 products (``int8x3``).

Every coupling is rounded to a multiple of one step ``delta = max |J| / (126 * 2^16)`` (about 23 bits over
the largest coupling) and the integer ``q = J / delta`` is written in base 256 with signed digits,
``q = 65536 d0 + 256 d1 + d2``, each in ``[-128, 127]``. Spins are exact in int8, so the field of a layer is
three int8 products with int32 accumulation, exact whatever the blocking or the number of threads, then
``h = delta (65536 P0 + 256 P1 + P2)`` in float64 (exact below 2^53) rounded once to float32. One ``delta``
for every matrix: a coupling enters the fields of both layers it joins, and both must see the same value for
the heat bath to sample one Boltzmann distribution.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["fixed_point_digits", "combine_digits", "combine_digits_reference", "DIGIT_SCALE"]

#: ``|q| <= DIGIT_SCALE``: the top digit then stays within int8 after the two lower digits borrow.
DIGIT_SCALE = 126 * 65536


def fixed_point_digits(J_list: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
    """``(delta, digits)``: the common step and, per matrix of shape (a, b), its digits as int8 of shape
    (3, a, b), ``J ~ delta (65536 d[0] + 256 d[1] + d[2])`` with error at most ``delta / 2``."""
    top = max(float(np.abs(j).max()) for j in J_list)
    delta = top / DIGIT_SCALE if top > 0 else 1.0
    out = []
    for j in J_list:
        q = np.rint(j.astype(np.float64) / delta).astype(np.int64)
        d2 = ((q + 128) & 255) - 128
        q = (q - d2) >> 8
        d1 = ((q + 128) & 255) - 128
        d0 = (q - d1) >> 8
        assert np.abs(d0).max(initial=0) <= 127
        out.append(np.stack([d0, d1, d2]).astype(np.int8))
    return delta, out


@nb.njit(cache=True, inline="always")
def _field(P_rn3, delta, r, i, n):
    return np.float32(delta * ((np.float64(P_rn3[r, i]) * 65536.0 + np.float64(P_rn3[r, n + i]) * 256.0)
                               + np.float64(P_rn3[r, 2 * n + i])))


@nb.njit(cache=True, parallel=True)
def combine_digits(P_rn3, delta, out_rn):
    """``out_rn`` (float32, (R, n)) = the fields from the digit products ``P_rn3`` (int32, (R, 3n): the
    products with d0, d1, d2 side by side)."""
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
