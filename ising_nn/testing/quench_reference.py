"""Slow pure-Python references of the quench kernels, for the tests: same inputs, same decisions.

Each transcribes its algorithm as plainly as possible (loops, float64 sums), so that a kernel agreeing with
it step for step on the same uniforms is doing what its docstring says.
"""

from __future__ import annotations

import numpy as np

__all__ = ["authors_reference", "layer_reference", "heat_reference", "fast_reference"]


def authors_reference(J_l, s_l, u_k):
    """Slow pure-Python transcription of the authors' quench for the tests (same uniforms, same order).

    Parameters
    ----------
    J_l : list of ndarray, shapes (n_l, n_{l+1})
    s_l : list of ndarray, shapes (n_l,), int
        Spins per layer, updated in place.
    u_k : ndarray, shape (2, K)

    Returns
    -------
    int
        Accepted flips.
    """
    n_layers = len(s_l)
    flips = 0
    for k in range(u_k.shape[1]):
        l = int(u_k[0, k] * n_layers)
        i = int(u_k[1, k] * len(s_l[l]))
        de = 0.0
        if l > 0:
            for j in range(len(s_l[l - 1])):
                de += -float(J_l[l - 1][j, i]) if s_l[l][i] == s_l[l - 1][j] else float(J_l[l - 1][j, i])
        if l < n_layers - 1:
            for j in range(len(s_l[l + 1])):
                de += -float(J_l[l][i, j]) if s_l[l][i] == s_l[l + 1][j] else float(J_l[l][i, j])
        if de > 0:
            s_l[l][i] = -s_l[l][i]
            flips += 1
    return flips


def _fields_of_layer(J_l, s_l, l):
    """Fresh float64 fields of layer ``l`` from its two neighbours."""
    h = np.zeros(len(s_l[l]))
    if l > 0:
        h += J_l[l - 1].astype(np.float64).T @ s_l[l - 1]
    if l < len(J_l):
        h += J_l[l].astype(np.float64) @ s_l[l + 1]
    return h


def heat_reference(J_l, s_l, parity, beta_l, u):
    """Slow pure-Python heat-bath half-sweep (float64 fields, same uniforms and rule as
    :func:`heat_half_kernel`); updates ``s_l`` in place and returns the spins changed."""
    fields = {l: _fields_of_layer(J_l, s_l, l) for l in range(parity, len(J_l) + 1, 2)}
    at, n = 0, 0
    for l, h in fields.items():
        for i in range(len(s_l[l])):
            x = 2.0 * beta_l[l] * s_l[l][i] * h[i]
            if x < 36.0 and u[at + i] * (1.0 + np.exp(x)) < 1.0:
                s_l[l][i] = -s_l[l][i]
                n += 1
        at += len(s_l[l])
    return n


def layer_reference(J_l, s_l, max_sweeps=1000):
    """Slow pure-Python greedy layer quench of one replica: even layers, then odd, until nothing changes.

    Fields in float64, ties (h_i = 0) keep the spin, as :func:`layer_half_kernel`.

    Parameters
    ----------
    J_l : list of ndarray, shapes (n_l, n_{l+1})
    s_l : list of ndarray, shapes (n_l,)
        Spins per layer, updated in place.

    Returns
    -------
    list of int
        Spins changed in every half-sweep (the last two are 0 unless ``max_sweeps`` was reached).
    """
    L = len(J_l)
    changes = []
    for _ in range(max_sweeps):
        for parity in (0, 1):
            new = {}
            for l in range(parity, L + 1, 2):
                h = np.zeros(len(s_l[l]))
                for i in range(len(s_l[l])):
                    if l > 0:
                        prev, Jp = s_l[l - 1], J_l[l - 1]
                        h[i] += sum(float(Jp[k, i]) * float(prev[k]) for k in range(len(prev)))
                    if l < L:
                        nxt, Jn = s_l[l + 1], J_l[l]
                        h[i] += sum(float(Jn[i, j]) * float(nxt[j]) for j in range(len(nxt)))
                new[l] = h
            n = 0
            for l, h in new.items():
                for i in range(len(s_l[l])):
                    if s_l[l][i] * h[i] < 0:
                        s_l[l][i] = -s_l[l][i]
                        n += 1
            changes.append(n)
        if changes[-1] == 0 and changes[-2] == 0:
            break
    return changes


def fast_reference(J_l, s_l, two_beta, max_greedy, state, table, draws=4, shift=16, bits=12):
    """Slow pure-Python transcription of :func:`ising_nn.quench.fast.anneal_layers` (same stream, same rule).

    Fields are recomputed from the spins in float64 before every layer update, so with couplings that are
    exact in bfloat16 and whose field sums are exact (small integers) every decision is the kernel's.

    Parameters
    ----------
    J_l : list of ndarray, shapes (n_l, n_{l+1})
    s_l : list of ndarray, shapes (n_l,), int
        Spins per layer, updated in place.
    two_beta : ndarray, shape (K, L + 1)
    max_greedy : int
    state : list of 4 int
        xoshiro256** state (:func:`ising_nn.kernels.rng.py_next_u64`), advanced in place.
    table : ndarray, float32
        The exponential-variate table.

    Returns
    -------
    energy_change, annealing_flips, greedy_flips, greedy_sweeps, converged
    """
    from ising_nn.kernels.rng import py_next_u64

    L = len(J_l)
    K = len(two_beta)
    mask = (1 << bits) - 1
    e, flips, g_flips, g_sweeps, conv = 0.0, 0, 0, 0, False
    for k in range(K + max_greedy):
        greedy = k >= K
        changed = 0
        for parity in (0, 1):
            for l in range(parity, L + 1, 2):
                h = _fields_of_layer(J_l, s_l, l)
                word = 0
                for i in range(len(s_l[l])):
                    x = float(s_l[l][i] * h[i])
                    if greedy:
                        flip = x < 0.0
                    else:
                        if i % draws == 0:
                            word = py_next_u64(state)
                        r = word & mask
                        word >>= shift
                        flip = float(two_beta[k][l]) * x < float(table[r])
                    if flip:
                        e += 2.0 * x
                        s_l[l][i] = -s_l[l][i]
                        changed += 1
        if greedy:
            g_flips += changed
            g_sweeps += 1
            if changed == 0:
                conv = True
                break
        else:
            flips += changed
    return e, flips, g_flips, g_sweeps, conv
