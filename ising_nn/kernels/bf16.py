"""bfloat16 copies of the couplings for the ``fast`` quench: half the bytes per row read.

bfloat16 keeps the sign, the 8 exponent bits and the top 7 mantissa bits of a float32 (relative rounding
error <= 2^-9 = 0.2 %), stored here as ``uint16``. Widening back is exact and cheap: ``bits << 16``
reinterpreted as float32, which the kernels of :mod:`ising_nn.quench.fast` do into a small scratch array read
through a float32 view, inside the loop that uses the values (it vectorises). Only the quick search uses
these copies: it runs on couplings rounded by at most 0.2 % and every energy it reports is recomputed from
the spins with the float32 couplings.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["round_bf16"]


@njit(cache=True, inline="always")
def _rne(u):
    # round to nearest, ties to even, on the top 16 bits of a float32's bit pattern (finite values)
    return np.uint16((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16))


@njit(cache=True)
def _round_into(src_u32, dst):
    for i in range(src_u32.size):
        dst[i] = _rne(src_u32[i])


def round_bf16(buffer: np.ndarray) -> np.ndarray:
    """bfloat16 bits (``uint16``, same shape) of a float32 array, rounded to nearest even."""
    buffer = np.ascontiguousarray(buffer, dtype=np.float32)
    out = np.empty(buffer.shape, dtype=np.uint16)
    _round_into(buffer.reshape(-1).view(np.uint32), out.reshape(-1))
    return out
