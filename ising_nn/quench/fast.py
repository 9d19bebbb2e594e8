"""Kernels of the ``fast`` quench: a short Metropolis anneal of whole layers, entirely inside one numba call.

Spins within a layer do not interact, so a layer updates all at once; the fields of the two neighbouring
layers are then updated from the flipped spins only, reading row ``i`` of ``J_l`` (``b16``) and row ``i``
of ``J_{l-1}^T`` (``b16T``): contiguous reads in both directions, and a sweep costs its flips, not a pass
over the couplings. A short schedule (about a dozen sweeps) followed by greedy sweeps until nothing
changes gets below the energy of the authors' 1,000,000-step quench at the cost of a few passes over the
couplings (benchmarked in ``bench/bench_quench.py``).

Why it is fast: rows are read from bfloat16 copies (:mod:`ising_nn.kernels.bf16`, half the bytes per flip);
fields are float32 (half the bytes of the read-modify-write, twice the SIMD width); the accept step is
branch-free (the decisions are coin tosses, which a branch mispredicts); rows are prefetched
:data:`ROWS_AHEAD` flips ahead and widened inside the loop that adds them. None of these changes a result;
their measured gains are in bench/HISTORY.md.

Acceptance is Metropolis at inverse temperature ``beta_l`` (per layer): spin i flips if
``2 beta_l x < -ln u`` with ``x = s_i h_i`` (always when ``x < 0``). The exponential variate ``-ln u`` is
read from a table of ``2^12`` values indexed by 12 bits of a xoshiro256** stream (four draws per 64-bit
output), so no ``exp`` or ``log`` is evaluated in the loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ising_nn.kernels.prefetch import prefetch
from ising_nn.kernels.rng import next_u64

__all__: list[str] = []  # private module: used by ising_nn.quench.methods; reference in _quench_reference

TABLE_BITS = 12
TABLE_SHIFT = 16  # four draws of 12 bits from each 64-bit output, 16 bits apart
DRAWS = 64 // TABLE_SHIFT
MASK = np.uint64((1 << TABLE_BITS) - 1)
# -ln u at the centres of 2^12 equal bins of u: an exponential variate from 12 random bits (16 KiB, in L1).
# The quantisation: flip probabilities are multiples of 2^-12, and a move with 2 beta x > ln(2^13) ~ 9.0
# (probability < 1.2e-4) never happens: irrelevant to a search.
EXP_TABLE = (-np.log((np.arange(1 << TABLE_BITS) + 0.5) / (1 << TABLE_BITS))).astype(np.float32)

# Rows prefetched ahead of the one being added: a row (0.75-3 KiB on MiniLM) is added in less time than a
# memory latency, so prefetching only the next one leaves the loop stalled on its loads.
ROWS_AHEAD = 4

# slots of ``out``
O_FLIPS, O_GREEDY_FLIPS, O_GREEDY_SWEEPS, O_CONVERGED = range(4)


@njit(cache=True, fastmath=True)
def ones_fields(b16, sizes, bond_off, spin_off, f, b, sq):
    """Fields of the all-+1 configuration (row and column sums of every ``J_l``) and ``sum J^2``, in one pass.

    Serial on purpose: measured on the 2-core machine, a parallel version halved this pass but the OpenMP
    worker left spinning afterwards slowed the single-threaded anneal that follows by more than that.

    Parameters
    ----------
    b16 : ndarray, shape (n_bonds,), uint16
        The couplings in bfloat16 (:func:`ising_nn.kernels.bf16.round_bf16`).
    sizes, bond_off, spin_off : int64 arrays (see :mod:`ising_nn.kernels.fields`)
    f, b : ndarray, shape (N,), float32
        Output: the field of every spin from the layer before (``f_i = sum_k J_{l-1}[k, i]``) and from the
        layer after (``b_i = sum_j J_l[i, j]``); the field is ``f + b``. Float32 sums, vectorised.
    sq : ndarray, shape (L,), float64
        Output: ``sum_ij J_l[i, j]^2`` of every matrix (for the typical field of each layer).
    """
    L = sizes.shape[0] - 1
    f[: spin_off[1]] = 0.0
    b[spin_off[L] :] = 0.0
    for l in range(L):
        n_out = sizes[l + 1]
        base = bond_off[l]
        b_in = b[spin_off[l] : spin_off[l + 1]]
        f_out = f[spin_off[l + 1] : spin_off[l + 2]]
        f_out[:] = 0.0
        tmp = np.empty(n_out, dtype=np.uint32)
        row = tmp.view(np.float32)
        q = 0.0
        for i in range(sizes[l]):
            r16 = b16[base + i * n_out : base + (i + 1) * n_out]
            t = np.float32(0.0)
            t2 = np.float32(0.0)
            for j in range(n_out):
                tmp[j] = np.uint32(r16[j]) << np.uint32(16)  # widened: bfloat16 bits -> float32 bits
                x = row[j]
                t += x
                t2 += x * x
                f_out[j] += x
            b_in[i] = t
            q += t2
        sq[l] = q


@njit(cache=True, fastmath=True, inline="always")
def _prefetch_row(rows, r, n):
    for q in range(0, n, 32):  # 32 bfloat16 = one 64-byte cache line
        prefetch(rows, r + q)


@njit(cache=True, fastmath=True, inline="always")
def _add_rows(m, idx, s_l, rows, base, n, h_to, tmp, row):
    # h_to += sum over flips t of (s_new - s_old) * rows[idx[t]], the row ROWS_AHEAD flips later prefetched
    for t in range(min(ROWS_AHEAD, m)):
        _prefetch_row(rows, base + idx[t] * n, n)
    for t in range(m):
        if t + ROWS_AHEAD < m:
            _prefetch_row(rows, base + idx[t + ROWS_AHEAD] * n, n)
        i = idx[t]
        d = np.float32(2.0) * np.float32(s_l[i])
        r16 = rows[base + i * n : base + (i + 1) * n]
        for j in range(n):
            tmp[j] = np.uint32(r16[j]) << np.uint32(16)  # widened into the scratch, read through its view
            h_to[j] += d * row[j]


@njit(cache=True, fastmath=True)
def anneal_layers(b16, b16T, sizes, bond_off, spin_off, s, h, two_beta, max_greedy, rng, table, idx, tmp, acc,
                  out):
    """Metropolis sweeps of whole layers (even layers, then odd) on schedule, then greedy sweeps.

    Parameters
    ----------
    b16, b16T : ndarray, shape (n_bonds,), uint16
        The couplings and their transposed copy in bfloat16 (:func:`ising_nn.kernels.copies.bf16_copies`).
    sizes, bond_off, spin_off : int64 arrays
    s : ndarray, shape (N,), int8
    h : ndarray, shape (N,), float32
        Spins and their fields; both updated in place. Each update adds an exact ``+-2 J`` (one rounding),
        so after the few hundred updates a field gets in a short run its error is ~1e-6 of its size: a
        near-tie may be decided otherwise than in exact arithmetic, which a heuristic search can afford (the
        energy a search reports is recomputed from the spins).
    two_beta : ndarray, shape (K, L + 1), float64
        ``2 beta_l`` of each layer at each of the K annealing sweeps (all > 0).
    max_greedy : int
        At most this many greedy sweeps (flip iff ``s_i h_i < 0``) after the schedule; they stop after the
        first sweep that changes nothing.
    rng : ndarray, shape (4,), uint64
        xoshiro256** state, advanced in place.
    table : ndarray, shape (2^12,), float32
        :data:`EXP_TABLE` (every entry > 0).
    idx : ndarray, shape (max n_l,), int64
    tmp : ndarray, shape (max n_l,), uint32
        Scratch.
    acc : ndarray, shape (1,), float64
        Energy, updated by ``-2 |h_i|`` or ``+2 s_i h_i`` per flip (float64 sum of the float32 fields).
    out : ndarray, shape (4,), int64
        Counters at the ``O_*`` slots (incremented).
    """
    L = sizes.shape[0] - 1
    K = two_beta.shape[0]
    row = tmp.view(np.float32)
    e = acc[0]
    for k in range(K + max_greedy):
        greedy = k >= K
        changed = 0
        for p in range(2):
            for l in range(p, L + 1, 2):
                a = spin_off[l]
                s_l = s[a : spin_off[l + 1]]
                h_l = h[a : spin_off[l + 1]]
                tb = two_beta[min(k, K - 1), l]
                m = 0
                if greedy:
                    for i in range(sizes[l]):
                        x = s_l[i] * h_l[i]
                        if x < 0.0:
                            e += 2.0 * x
                            s_l[i] = -s_l[i]
                            idx[m] = i
                            m += 1
                else:
                    # Branch-free: one table draw per spin (a spin with x < 0 flips whatever the draw, as
                    # table > 0), the flip applied arithmetically and idx compacted by m += flip. The flip
                    # decisions are coin tosses, which a branch would mispredict half the time.
                    bits = np.uint64(0)
                    for i in range(sizes[l]):
                        if i % DRAWS == 0:
                            bits = next_u64(rng)
                        r = np.int64(bits & MASK)
                        bits >>= np.uint64(TABLE_SHIFT)
                        x = s_l[i] * h_l[i]
                        flip = np.int64(tb * x < table[r])
                        e += flip * (2.0 * x)
                        s_l[i] = np.int8(s_l[i] * (1 - 2 * flip))
                        idx[m] = i
                        m += flip
                changed += m
                if l < L:
                    _add_rows(m, idx, s_l, b16, bond_off[l], sizes[l + 1], h[spin_off[l + 1] : spin_off[l + 2]],
                              tmp, row)
                if l > 0:
                    _add_rows(m, idx, s_l, b16T, bond_off[l - 1], sizes[l - 1], h[spin_off[l - 1] : a], tmp, row)
        if greedy:
            out[O_GREEDY_FLIPS] += changed
            out[O_GREEDY_SWEEPS] += 1
            if changed == 0:
                out[O_CONVERGED] = 1
                break
        else:
            out[O_FLIPS] += changed
    acc[0] = e
