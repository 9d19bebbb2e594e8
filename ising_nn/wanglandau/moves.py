"""Moves between chunks of the Wang-Landau walk: replica exchange, greedy descents, field re-verification."""

from __future__ import annotations

import math

import numba as nb

from ising_nn.kernels.fields import energy_from_fields, init_fields
from ising_nn.kernels.layout import _add_spin
from ising_nn.kernels.rng import uniform

__all__ = ["exchange", "descend_many", "fields_many"]


@nb.njit(cache=True)
def exchange(parity, by_energy, bin_off_w, spins_wi, h_wi, ln_g_b, visited_b, walker_w, rng, counts):
    """Replica exchange between neighbouring windows (pairs ``parity``, ``parity + 2``, ... of ``by_energy``).

    Walkers ``a`` (at global bin ``x_a``) and ``b`` swap configurations with probability
    ``min(1, g_a(x_a) g_b(x_b) / (g_a(x_b) g_b(x_a)))`` (each window's running ln g), which keeps every
    window's multicanonical distribution; it lets a walker confined to a narrow low-energy window receive
    configurations from other valleys. ``counts`` (W - 1, 2) int64: attempted and accepted swaps per pair.
    """
    W = by_energy.shape[0]
    N = spins_wi.shape[1]
    for p in range(parity, W - 1, 2):
        a = by_energy[p]
        b = by_energy[p + 1]
        wa = walker_w[a]
        wb = walker_w[b]
        ka = wa.k
        kb = wb.k
        if ka < 0 or ka > wa.hi or kb < 0 or kb > wb.hi:
            continue  # a walker still walking into its window
        a_in_b = wa.bin0 + ka - wb.bin0
        b_in_a = wb.bin0 + kb - wa.bin0
        if a_in_b < 0 or a_in_b > wb.hi or b_in_a < 0 or b_in_a > wa.hi:
            continue
        if visited_b[bin_off_w[b] + a_in_b] == 0 or visited_b[bin_off_w[a] + b_in_a] == 0:
            continue
        counts[p, 0] += 1
        la = ln_g_b[bin_off_w[a] : bin_off_w[a + 1]]
        lb = ln_g_b[bin_off_w[b] : bin_off_w[b + 1]]
        ln_acc = la[ka] + lb[kb] - la[b_in_a] - lb[a_in_b]
        if ln_acc >= 0.0 or uniform(rng) < math.exp(ln_acc):
            counts[p, 1] += 1
            for i in range(N):
                t8 = spins_wi[a, i]
                spins_wi[a, i] = spins_wi[b, i]
                spins_wi[b, i] = t8
                t = h_wi[a, i]
                h_wi[a, i] = h_wi[b, i]
                h_wi[b, i] = t
            t = wa.E
            wa.E = wb.E
            wb.E = t
            wa.k = b_in_a
            wb.k = a_in_b


@nb.njit(cache=True, parallel=True)
def descend_many(S, Hf, E_out, buffer, up, down, table, sizes, bond_off, spin_off, max_sweeps):
    """Greedy zero-temperature descents from the rows of ``S`` (in place), in parallel.

    ``buffer`` computes the fields; flips read ``up, down, table`` (:mod:`ising_nn.kernels.layout`).

    Sequential sweeps flip every spin with ``s_i h_i < 0`` (dE < 0) until a sweep flips none. Writes the
    final fields into ``Hf`` and energies into ``E_out`` (float64, (R,)).
    """
    for r in nb.prange(S.shape[0]):
        s = S[r]
        h = Hf[r]
        init_fields(buffer, sizes, bond_off, spin_off, s, h)
        for _ in range(max_sweeps):
            nflip = 0
            for l in range(sizes.shape[0]):
                base = spin_off[l]
                for g in range(base, base + sizes[l]):
                    if s[g] * h[g] < 0.0:
                        d = -2.0 * s[g]
                        s[g] = -s[g]
                        _add_spin(g, l, d, up, down, table, sizes, spin_off, h)
                        nflip += 1
            if nflip == 0:
                break
        E_out[r] = energy_from_fields(s, h)


@nb.njit(cache=True, parallel=True)
def fields_many(S, Hf, buffer, sizes, bond_off, spin_off):
    """Fresh fields for every row of ``S`` (in parallel) -- the checkpoint re-verification."""
    for r in nb.prange(S.shape[0]):
        init_fields(buffer, sizes, bond_off, spin_off, S[r], Hf[r])
