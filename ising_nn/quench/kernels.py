"""Kernels of the low-energy search: the authors' single-spin quench (numba), block updates of whole layers
(float32 BLAS), and slow pure-Python references for the tests.

Spins within a layer do not interact, and every coupling joins an even layer to an odd one, so the chain is
bipartite: given the odd layers, every even layer can be set at once from its local fields
``h_l = s_{l-1} J_{l-1} + J_l s_{l+1}`` (and the other way round). The energy is then free:
``E = - sum_{even l} s_l . h_l`` counts every bond exactly once.

Batched spins are a list of float32 matrices ``S_l`` of shape ``(R, n_l)`` (R replicas), so one update of a
layer for all replicas is one matrix-matrix product per neighbour.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ising_nn.kernels.fields import flip_spin

__all__: list[str] = []  # private module: used by ising_nn.quench.search; references in _quench_reference


# ---------------------------------------------------------------- the authors' quench (dnnising.h mcmc_step)
@njit(cache=True, fastmath=True)
def authors_kernel(buffer, sizes, bond_off, spin_off, s, u_k, acc):
    """Greedy single-spin flips exactly as the authors' ``mcmc_step``: O(fan-in + fan-out) per attempt.

    Parameters
    ----------
    buffer : ndarray, shape (n_bonds,), float32
    sizes : ndarray, shape (L + 1,), int64
    bond_off : ndarray, shape (L + 1,), int64
    spin_off : ndarray, shape (L + 2,), int64
    s : ndarray, shape (N,), int8
        Spins, updated in place.
    u_k : ndarray, shape (2, K), float64
        Uniforms in [0, 1): ``u_k[0]`` picks the layer (among the L + 1), ``u_k[1]`` the spin in it.
    acc : ndarray, shape (2,), float64
        ``[energy, accepted flips]``, updated in place (the energy tracked as the authors do).

    Notes
    -----
    A fair baseline, not a handicapped one: float64 sums of float32 couplings, the row of ``J_l`` read
    contiguously (vectorised), the column of ``J_{l-1}`` read with stride ``n_l`` as in their
    ``J[l-1][j][i]``; that strided read is what costs most.
    """
    n_layers = sizes.size  # L + 1 layers of spins
    L = n_layers - 1
    e = acc[0]
    flips = acc[1]
    for k in range(u_k.shape[1]):
        l = int(u_k[0, k] * n_layers)
        n = sizes[l]
        i = int(u_k[1, k] * n)
        g = spin_off[l] + i
        h = 0.0
        if l > 0:
            J_prev = buffer[bond_off[l - 1] : bond_off[l]]
            s_prev = s[spin_off[l - 1] : spin_off[l]]
            for j in range(sizes[l - 1]):
                h += np.float64(J_prev[j * n + i]) * s_prev[j]
        if l < L:
            m = sizes[l + 1]
            J_row = buffer[bond_off[l] + i * m : bond_off[l] + (i + 1) * m]
            s_next = s[spin_off[l + 1] : spin_off[l + 2]]
            for j in range(m):
                h += np.float64(J_row[j]) * s_next[j]
        de = -s[g] * h  # the authors' "de": this spin's bond energy; flip if positive
        if de > 0.0:
            s[g] = -s[g]
            e -= 2.0 * de
            flips += 1.0
    acc[0] = e
    acc[1] = flips


# ---------------------------------------------------------------- the same descent, fields kept (O(1) tests)
@njit(cache=True)
def single_kernel(buffer, bufferT, sizes, bond_off, spin_off, s, h, u_k, acc):
    """:func:`authors_kernel` with a float64 field ``h`` kept for every spin: dE = 2 s_i h_i in O(1).

    Same uniforms, same picks, same decisions; an accepted flip updates the neighbouring fields through
    :func:`ising_nn.kernels.fields.flip_spin` (contiguous rows of ``buffer`` and ``bufferT``). ``acc`` as there.
    """
    n_layers = sizes.size
    e = acc[0]
    flips = acc[1]
    for k in range(u_k.shape[1]):
        l = int(u_k[0, k] * n_layers)
        g = spin_off[l] + int(u_k[1, k] * sizes[l])
        if s[g] * h[g] < 0.0:
            e += flip_spin(l, g - spin_off[l], buffer, bufferT, sizes, bond_off, spin_off, s, h)
            flips += 1.0
    acc[0] = e
    acc[1] = flips


@njit(cache=True)
def count_unstable(s, h):
    """Spins whose flip would lower the energy (``s_i h_i < 0``): 0 at a single-flip local minimum."""
    n = 0
    for g in range(s.shape[0]):
        if s[g] * h[g] < 0.0:
            n += 1
    return n


@njit(cache=True, fastmath=True, inline="always")
def _propagate(l, m, buffer, sizes, bond_off, spin_off, h, idx, d):
    """Update the fields of layers l - 1 and l + 1 after flips ``idx[:m]`` of layer l (``d = s_new - s_old``).

    Rows ``J_l[i, :]`` for the next layer; for the previous layer every row of ``J_{l-1}`` meets the
    change of layer l: a contiguous dot when many spins flipped (every cache line is needed anyway), a walk
    down the flipped columns when few (constant stride, which the prefetcher follows). No transposed copy.
    Clears ``d``.
    """
    L = sizes.size - 1
    n = sizes[l]
    if l < L:
        n_out = sizes[l + 1]
        h_next = h[spin_off[l + 1] : spin_off[l + 2]]
        for k in range(m):
            i = idx[k]
            J_row = buffer[bond_off[l] + i * n_out : bond_off[l] + (i + 1) * n_out]
            di = np.float64(d[i])
            for j in range(n_out):
                h_next[j] += di * J_row[j]
    if l > 0:
        h_prev = h[spin_off[l - 1] : spin_off[l]]
        J_prev = buffer[bond_off[l - 1] : bond_off[l]]
        if 8 * m > n:
            for j in range(sizes[l - 1]):
                J_row = J_prev[j * n : (j + 1) * n]
                t = 0.0
                for i in range(n):
                    t += np.float64(J_row[i]) * d[i]
                h_prev[j] += t
        else:
            for k in range(m):
                i = idx[k]
                di = np.float64(d[i])
                for j in range(sizes[l - 1]):
                    h_prev[j] += di * J_prev[j * n + i]
    for k in range(m):
        d[idx[k]] = 0.0


@njit(cache=True, fastmath=True)
def layer_half_kernel(buffer, sizes, bond_off, spin_off, parity, s, h, idx, d, acc):
    """Align every layer of one parity to its fields at once, keeping all fields up to date.

    Layers of one parity do not interact, so flipping all their misaligned spins together is the exact
    minimum over them given the other parity: the energy falls by ``2 |h_i|`` per flip. Fields of the
    neighbouring layers are updated from the flipped spins only (:func:`_propagate`): cost
    O(flips x fan-out + rows x min(flips, n_l)), not O(n_bonds).

    Parameters
    ----------
    parity : int
        0: even layers, 1: odd layers.
    s : ndarray, shape (N,), int8
    h : ndarray, shape (N,), float64
        Fields of ``s`` (:func:`ising_nn.kernels.fields.init_fields`); both updated in place.
    idx : ndarray, shape (max n_l,), int64
        Scratch.
    d : ndarray, shape (max n_l,), float32
        Scratch, all zero on entry and on return.
    acc : ndarray, shape (2,), float64
        ``[energy, spins changed]``, updated in place.
    """
    L = sizes.size - 1
    for l in range(parity, L + 1, 2):
        s_l = s[spin_off[l] : spin_off[l + 1]]
        h_l = h[spin_off[l] : spin_off[l + 1]]
        m = 0
        for i in range(sizes[l]):
            if s_l[i] * h_l[i] < 0.0:
                acc[0] -= 2.0 * abs(h_l[i])
                s_l[i] = -s_l[i]
                d[i] = 2.0 * s_l[i]  # s_new - s_old
                idx[m] = i
                m += 1
        acc[1] += m
        if m > 0:
            _propagate(l, m, buffer, sizes, bond_off, spin_off, h, idx, d)


_X_NEVER = 36.0  # exp(-36) < 2^-53, the smallest nonzero uniform: such a flip is never drawn


@njit(cache=True, fastmath=True)
def heat_half_kernel(buffer, sizes, bond_off, spin_off, parity, beta_l, s, h, u, idx, d, acc):
    """Heat-bath update of every layer of one parity with kept fields (the cold end of an anneal).

    Spin i flips with probability ``1 / (1 + exp(2 beta_l s_i h_i))`` (heat bath), decided by
    ``u < p``; spins of one parity do not interact, so the whole parity updates at once. Aligned spins
    with ``2 beta s h > 36`` have ``p < 2^-53`` and are skipped without an ``exp``: at low temperature
    the cost is the few flips, not N.

    Parameters
    ----------
    beta_l : ndarray, shape (L + 1,), float64
        Inverse temperature of each layer.
    u : ndarray, shape (spins of this parity,), float64
        Uniforms, consumed layer after layer.
    s, h, idx, d, acc
        As in :func:`layer_half_kernel`.
    """
    L = sizes.size - 1
    at = 0
    for l in range(parity, L + 1, 2):
        s_l = s[spin_off[l] : spin_off[l + 1]]
        h_l = h[spin_off[l] : spin_off[l + 1]]
        b2 = 2.0 * beta_l[l]
        m = 0
        for i in range(sizes[l]):
            x = b2 * s_l[i] * h_l[i]
            if x < _X_NEVER and u[at + i] * (1.0 + np.exp(x)) < 1.0:
                acc[0] += 2.0 * s_l[i] * h_l[i]
                s_l[i] = -s_l[i]
                d[i] = 2.0 * s_l[i]
                idx[m] = i
                m += 1
        at += sizes[l]
        acc[1] += m
        if m > 0:
            _propagate(l, m, buffer, sizes, bond_off, spin_off, h, idx, d)


# ---------------------------------------------------------------- block updates of whole layers (BLAS)
class LayerFields:
    """Local fields of whole layers for R replicas (float32 BLAS matrix products).

    Parameters
    ----------
    J_l : tuple of ndarray, shapes (n_l, n_{l+1}), float32
    """

    def __init__(self, J_l):
        self.J_l = J_l
        self.L = len(J_l)

    def __call__(self, S_l, l):
        """Fields ``h_l = S_{l-1} J_{l-1} + S_{l+1} J_l^T``, shape (R, n_l), float32."""
        if l == 0:
            return np.dot(S_l[1], self.J_l[0].T)
        h = np.dot(S_l[l - 1], self.J_l[l - 1])
        if l < self.L:
            h += np.dot(S_l[l + 1], self.J_l[l].T)
        return h


def heat_bath_half(fields, S_l, parity, beta_l, rng):
    """Heat-bath update of every layer of one parity for R replicas: ``P(s_i = +1) = (1 + tanh(beta h_i)) / 2``.

    ``beta_l`` (shape (L + 1,)) is the inverse temperature of each layer. Returns the energies ``E_r``
    (shape (R,)) after the update and the number of spins changed (all replicas).
    """
    R = S_l[0].shape[0]
    E_r = np.zeros(R)
    changed = 0
    for l in range(parity, len(S_l), 2):
        h = fields(S_l, l)
        u = rng.random(h.shape, dtype=np.float32)
        u *= 2.0
        u -= 1.0
        # tanh cannot overflow, unlike the logistic form
        new = np.where(u < np.tanh(h * np.float32(beta_l[l])), np.float32(1.0), np.float32(-1.0))
        changed += int(np.count_nonzero(new != S_l[l]))
        S_l[l] = new
        E_r -= np.einsum("rj,rj->r", new, h, dtype=np.float64)
    return E_r, changed
