"""A small numba-side random generator (xoshiro256**) with a bit-exact pure-Python twin.

Each Wang-Landau window owns one stream (4 uint64 words), seeded from ``numpy.random.SeedSequence(seed)``,
so a run is reproducible for a given seed whatever the thread scheduling, and :mod:`ising_nn.testing.reference`
can replay the very same stream in Python.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["seed_states", "next_u64", "uniform", "randbelow", "py_next_u64", "py_uniform", "py_randbelow"]

_M64 = (1 << 64) - 1
_U53 = 1.0 / 9007199254740992.0  # 2^-53


def seed_states(seed: int, n: int) -> np.ndarray:
    """``(n, 4)`` uint64 independent xoshiro256** states from one integer seed."""
    children = np.random.SeedSequence(int(seed)).spawn(int(n))
    out = np.empty((int(n), 4), dtype=np.uint64)
    for i, ch in enumerate(children):
        st = ch.generate_state(4, dtype=np.uint64)
        if not st.any():  # the all-zero state is a fixed point of xoshiro
            st[0] = 1
        out[i] = st
    return out


@nb.njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@nb.njit(cache=True, inline="always")
def next_u64(st):
    """Next 64-bit output of the stream ``st`` (uint64 array of 4, updated in place)."""
    s0 = st[0]
    s1 = st[1]
    s2 = st[2]
    s3 = st[3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    st[0] = s0
    st[1] = s1
    st[2] = s2
    st[3] = s3
    return result


@nb.njit(cache=True, inline="always")
def uniform(st):
    """Uniform float64 in [0, 1) with 53 random bits."""
    return np.float64(next_u64(st) >> np.uint64(11)) * _U53


@nb.njit(cache=True, inline="always")
def randbelow(st, n):
    """Integer in [0, n) for n < 2^32 (Lemire's multiply-shift; bias < n / 2^32)."""
    return np.int64(((next_u64(st) >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


# ------------------------------------------------------------------ pure-Python twins (tests, reference)
def _py_rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & _M64


def py_next_u64(st: list[int]) -> int:
    """Pure-Python :func:`next_u64` on a list of 4 ints (updated in place)."""
    s0, s1, s2, s3 = st
    result = (_py_rotl((s1 * 5) & _M64, 7) * 9) & _M64
    t = (s1 << 17) & _M64
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _py_rotl(s3, 45)
    st[:] = [s0, s1, s2, s3]
    return result


def py_uniform(st: list[int]) -> float:
    return float(py_next_u64(st) >> 11) * _U53


def py_randbelow(st: list[int], n: int) -> int:
    return ((py_next_u64(st) >> 32) * n) >> 32
