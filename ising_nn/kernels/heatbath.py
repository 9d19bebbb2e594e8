"""The element-wise half of a layer heat-bath update, fused into one pass per replica (numba).

Given the fields ``h_rn`` of one layer for ``R`` replicas (a batched matrix product, done by torch), every
spin is drawn from ``P(s = +1) = (1 + tanh(beta h)) / 2`` and the replica's sums that the estimators need are
accumulated in float64 in the same pass:

    E_r -= sum_i s_i h_i,    m_r -= sum_i h_i tanh(beta h_i),    v_r += sum_i h_i^2 (1 - tanh^2(beta h_i)).

Done as separate torch operations this is a dozen passes over ``(R, n)`` arrays and as much time as the
matrix products; here it is one read of ``h`` and one write of ``s``. Each replica owns a xoshiro256**
stream (:mod:`.rng`), so a run is the same for a given seed whatever the number of threads, and the streams
stay with their slot when population annealing copies a replica's spins. ``tanh`` is evaluated as
``(1 - q) / (1 + q)`` with ``q = exp(-2 |beta h|)`` from a float32 polynomial (Cephes' ``expf``, relative
error ~1e-7) that vectorises, which libm's ``tanhf`` does not; ``1 - tanh^2 = 4 q / (1 + q)^2`` keeps its
relative precision where the spin is nearly frozen. :func:`draw_i8_two_digits` makes the same draws as
:func:`heat_bath_i8` without the sums, from two of the three int8 products (the third only where needed).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ising_nn.kernels.fixed import _field, _top2
from ising_nn.kernels.rng import next_u64

__all__ = ["heat_bath_f32", "heat_bath_bf16", "heat_bath_i8", "draw_i8_two_digits", "tanh_pair", "SECH2_LIPSCHITZ"]

_FM = {"reassoc", "nsz", "arcp", "contract"}


@intrinsic
def _i32_as_f32(typingctx, x):
    """Reinterpret the bits of an int32 as a float32."""
    if not isinstance(x, types.Integer) or x.bitwidth != 32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(x), codegen


@nb.njit(cache=True, inline="always", fastmath=_FM)
def _exp_nonpos(y):
    """``exp(y)`` in float32 for ``y <= 0`` (values below -87 give exp(-87))."""
    y = max(y, np.float32(-87.0))
    n = np.float32(np.floor(y * np.float32(1.44269504088896341) + np.float32(0.5)))
    x = y - n * np.float32(0.693359375) - n * np.float32(-2.12194440e-4)
    z = x * x
    p = np.float32(1.9875691500e-4)
    p = p * x + np.float32(1.3981999507e-3)
    p = p * x + np.float32(8.3334519073e-3)
    p = p * x + np.float32(4.1665795894e-2)
    p = p * x + np.float32(1.6666665459e-1)
    p = p * x + np.float32(5.0000001201e-1)
    p = p * z + x + np.float32(1.0)
    return p * _i32_as_f32(np.int32((np.int32(n) + np.int32(127)) << np.int32(23)))


@nb.njit(cache=True, inline="always", fastmath=_FM)
def tanh_pair(x):
    """``(tanh(x), 1 - tanh(x)^2)`` in float32."""
    q = _exp_nonpos(np.float32(-2.0) * abs(x))
    d = np.float32(1.0) / (np.float32(1.0) + q)
    t = (np.float32(1.0) - q) * d
    if x < 0:
        t = -t
    return t, np.float32(4.0) * q * d * d


@nb.njit(cache=True, inline="always")
def _uniforms(st, w, n):
    """``w[:n] = 2u - 1`` for 24-bit uniforms ``u`` (two per 64-bit draw of the stream ``st``)."""
    inv24 = np.float32(1.0 / 16777216.0)
    for i in range(0, n - 1, 2):
        x = next_u64(st)
        w[i] = np.float32(2.0) * np.float32(x >> np.uint64(40)) * inv24 - np.float32(1.0)
        w[i + 1] = np.float32(2.0) * np.float32((x >> np.uint64(16)) & np.uint64(0xFFFFFF)) * inv24 - np.float32(1.0)
    if n % 2:
        x = next_u64(st)
        w[n - 1] = np.float32(2.0) * np.float32(x >> np.uint64(40)) * inv24 - np.float32(1.0)


@nb.njit(cache=True, inline="always")
def _bf16(bits):
    return _i32_as_f32(np.int32(np.uint32(bits) << np.uint32(16)))


_PLUS, _MINUS = np.uint16(0x3F80), np.uint16(0xBF80)  # bfloat16 bits of +1 and -1


@nb.njit(cache=True, inline="always")
def _site(h, b, u):
    """One spin's heat-bath draw in the field ``h`` at ``b`` from the uniform ``u``: whether it is up, and its
    terms of the energy, of ``m`` and of ``v`` (float64)."""
    t, sech2 = tanh_pair(b * h)
    up = u < t
    return up, np.float64(h if up else -h), np.float64(h * t), np.float64(h * h * sech2)


@nb.njit(cache=True, parallel=True, fastmath=_FM)
def heat_bath_f32(h_rn, beta_r, state_r4, w_rn, s_rn, E_r, m_r, v_r):
    """Draw ``s_rn`` (float32 +-1, overwritten) from the fields ``h_rn`` (float32) at ``beta_r`` and add the
    replicas' sums to ``E_r``, ``m_r``, ``v_r`` (float64, shape (R,)). ``state_r4`` (uint64, (R, 4)): the
    replicas' streams, advanced in place; ``w_rn`` (float32, (R, >= n)): scratch for the uniforms."""
    R, n = h_rn.shape
    for r in nb.prange(R):
        w = w_rn[r]
        _uniforms(state_r4[r], w, n)
        b = beta_r[r]
        e = 0.0
        m = 0.0
        v = 0.0
        for i in range(n):  # vectorises
            up, de, dm, dv = _site(h_rn[r, i], b, w[i])
            s_rn[r, i] = np.float32(1.0) if up else np.float32(-1.0)
            e -= de
            m -= dm
            v += dv
        E_r[r] += e
        m_r[r] += m
        v_r[r] += v


@nb.njit(cache=True, parallel=True, fastmath=_FM)
def heat_bath_bf16(hi_rn, lo_rn, beta_r, state_r4, w_rn, s_rn, E_r, m_r, v_r):
    """:func:`heat_bath_f32` for a field given as the sum of two bfloat16 arrays (``uint16`` bits, the split
    products of :class:`ising_nn.canonical.chain.LayerChains`), spins written as bfloat16 bits."""
    R, n = hi_rn.shape
    for r in nb.prange(R):
        w = w_rn[r]
        _uniforms(state_r4[r], w, n)
        b = beta_r[r]
        e = 0.0
        m = 0.0
        v = 0.0
        for i in range(n):  # vectorises
            up, de, dm, dv = _site(_bf16(hi_rn[r, i]) + _bf16(lo_rn[r, i]), b, w[i])
            s_rn[r, i] = _PLUS if up else _MINUS
            e -= de
            m -= dm
            v += dv
        E_r[r] += e
        m_r[r] += m
        v_r[r] += v


@nb.njit(cache=True, parallel=True, fastmath=_FM)
def heat_bath_i8(P_rn3, delta, beta_r, state_r4, w_rn, s_rn, E_r, m_r, v_r):
    """:func:`heat_bath_f32` for a field given by the int32 digit products of :mod:`.fixed` (``P_rn3``, shape
    (R, 3n), and the step ``delta``), spins written as int8."""
    R, n = s_rn.shape
    for r in nb.prange(R):
        w = w_rn[r]
        _uniforms(state_r4[r], w, n)
        b = beta_r[r]
        e = 0.0
        m = 0.0
        v = 0.0
        for i in range(n):  # vectorises
            up, de, dm, dv = _site(_field(P_rn3, delta, r, i, n), b, w[i])
            s_rn[r, i] = np.int8(1) if up else np.int8(-1)
            e -= de
            m -= dm
            v += dv
        E_r[r] += e
        m_r[r] += m
        v_r[r] += v


#: ``|d sech^2(x) / dx| <= 4 / (3 sqrt 3)`` (at ``tanh^2 x = 1/3``), rounded up.
SECH2_LIPSCHITZ = 0.7699

# Absolute error allowed for the float32 ``tanh`` of :func:`tanh_pair` at two arguments (at most 1.2e-7 each over
# [-12, 12], ``tests/test_fixed.py``), with room to spare.
_TANH_SLACK = 4e-6


@nb.njit(cache=True, parallel=True, fastmath=_FM)
def draw_i8_two_digits(P_rn2, X_rk, D_nk, B_n, delta, beta_r, state_r4, w_rn, a_rn, s_rn, exact_r):
    """The draws of :func:`heat_bath_i8`, bit for bit, from the products of the top two digits only.

    With ``q2 = 65536 P0 + 256 P1`` the field is ``h = delta (q2 + P2)``, and ``|delta P2| <= B_n[i] = delta
    sum_k |D_nk[i, k] X_rk[r, k]|``, the same for every replica since the spins are +-1. So ``tanh(beta h)`` lies within
    ``Delta (sech^2(beta h2) + SECH2_LIPSCHITZ Delta)`` of ``tanh(beta h2)`` with ``Delta = beta B`` (plus the
    float32 roundings of ``h``, ``beta h`` and ``tanh``). Where the uniform ``u`` is farther than that from
    ``tanh(beta h2)`` the draw ``u < tanh(beta h)`` is already decided; elsewhere (a fraction of the sites of
    about ``beta B``) the third digit's product is taken for that site alone, ``P2 = D_nk[i] . X_rk[r]``, and
    the spin drawn exactly as :func:`heat_bath_i8` does. The replica's stream advances by the same uniforms,
    so a chain run with these draws is the chain run with :func:`heat_bath_i8`; no energy sums are taken.

    Parameters
    ----------
    P_rn2 : ndarray, shape (R, 2n), int32
        The neighbours' products with the digits d0 and d1, side by side.
    X_rk : ndarray, shape (R, K), int8
        The left factor of those products: the neighbours' spins, each neighbour's times its power of two
        (:mod:`.fixed`).
    D_nk : ndarray, shape (n, K), int8
        The third digit d2 of the layer's couplings, one row per spin of the layer.
    B_n : ndarray, shape (n,), float64
        The bound above.
    delta : float
        The fixed-point step.
    beta_r : ndarray, shape (R,), float32
    state_r4 : ndarray, shape (R, 4), uint64
        The replicas' streams, advanced in place.
    w_rn : ndarray, shape (R, >= n), float32
        Scratch for the uniforms.
    a_rn : ndarray, shape (R, >= n), int8
        Scratch: the sites left undecided by the two digits.
    s_rn : ndarray, shape (R, n), int8
        Output spins.
    exact_r : ndarray, shape (R,), int64
        Incremented by the number of sites that needed the third digit.
    """
    R, n = s_rn.shape
    K = X_rk.shape[1]
    for r in nb.prange(R):
        w = w_rn[r]
        a = a_rn[r]
        _uniforms(state_r4[r], w, n)
        b = beta_r[r]
        b64 = np.float64(b)
        for i in range(n):  # vectorises
            h2 = delta * _top2(P_rn2, r, i, n)
            x2 = b * np.float32(h2)
            t, sech2 = tanh_pair(x2)
            d = b64 * B_n[i] * (1.0 + 1e-6) + abs(np.float64(x2)) * 2.0**-20
            margin = d * (np.float64(sech2) + 1e-6 + SECH2_LIPSCHITZ * d) + _TANH_SLACK
            u = np.float64(w[i])
            t64 = np.float64(t)
            s_rn[r, i] = np.int8(1) if u < t64 - margin else np.int8(-1)
            a[i] = np.int8(1) if abs(u - t64) <= margin else np.int8(0)
        c = 0
        for i in range(n):
            if a[i]:
                c += 1
                acc = np.int32(0)
                Dv = D_nk[i]
                Xv = X_rk[r]
                for k in range(K):  # vectorises
                    acc += np.int32(np.int16(Dv[k]) * np.int16(Xv[k]))
                h = np.float32(delta * (_top2(P_rn2, r, i, n) + np.float64(acc)))  # as _field, with P2 = acc
                up, _, _, _ = _site(h, b, w[i])
                s_rn[r, i] = np.int8(1) if up else np.int8(-1)
        exact_r[r] += c
