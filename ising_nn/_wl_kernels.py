"""Numba kernels of the Wang-Landau sampler: one window's random walk, the parallel chunk, greedy descents.

State of window ``w`` (all arrays; the Python driver in :mod:`ising_nn.wanglandau` owns them):

- ``s`` int8 ``(N,)``, ``h`` float64 ``(N,)``: spins and their local fields (:mod:`ising_nn._fields`).
- the window's own bins (a slice of flat arrays): ``lng`` float64 running ln g; ``hist`` int64 visits since
  the last reset; ``vis`` uint8 bins visited at least once (bins never visited have no known states and are
  left out of the flatness test, so gaps between levels and the unknown low end do not stall it).
- ``rng`` uint64 ``(4,)``: the window's xoshiro256** stream.
- ``ist`` int64 ``(NI,)`` and ``fst`` float64 ``(NF,)``: the scalars, at the indices ``I_*`` and ``F_*``.

The couplings come as ``up, down, table`` (either layout of :mod:`ising_nn._layout`), with
``sizes``, ``spin_off`` and ``layer_idx`` (:mod:`ising_nn._fields`).

Bins: the global bin of energy ``E`` is ``k = round(E / w - align / 2)`` with ties rounded away from zero, so
that ``k(-E) = -k(E)`` (``align = 0``: a bin centred on E = 0) or ``-k(E) - 1`` (``align = 1``: a bin edge at
0). Window ``w`` holds global bins ``ist[I_B0] + 0 .. ist[I_B0] + n_w - 1``. Bin centre: ``(k + align/2) w``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._layout import _add_spin, _pending_coupling, _prefetch_reads
from ._rng import randbelow, uniform

__all__ = ["wl_chunk", "run_window", "kglob", "NI", "NF", "NQ", "MAX_RUN_LENGTH"]

# integer state slots
(I_K, I_LO, I_HI, I_STAGE, I_STEPS, I_ATT, I_ACC, I_SINCE, I_NVIS, I_FLOOR, I_CEIL, I_READ, I_NEXT, I_B0,
 I_OVER) = range(15)
NI = 15
# float state slots
F_E, F_LNF = range(2)
NF = 2
# params (float64): bin width, flatness, final ln f; iparams (int64): align, check interval, mode, band D of
# the proposal counts (bins a flip can jump), run length R
P_W, P_FLAT, P_LNF_FINAL = range(3)
Q_ALIGN, Q_CHECK, Q_MODE, Q_BAND, Q_RUN = range(5)
NQ = 5
# Runs of R attempts: attempt t (counted over the window's life) proposes a uniformly random spin when t is a
# multiple of R, else the spin after the last one in memory order (a random one at the end of the network).
# R = 1 is the authors' scheme. Why any R is exact: each attempt is a Metropolis step for one given spin,
# min(1, g(E) / g(E')), which keeps the weights 1 / g(E) by itself, and which spins are proposed depends only on
# the run's random draws, never on the state. Given those draws the steps are a fixed sequence of such kernels,
# so a state with the weights 1 / g(E) at the run's start keeps them at every attempt, independently of the
# spin proposed. The transition-matrix counts stay unbiased too: flipping one given spin is an involution, so
# for any state-independent choice of spins the counts E -> E' and E' -> E balance as g(E) to g(E').
# R > 1 flips read consecutive records (ising_nn._layout), which the hardware prefetcher streams: runs of 16
# give nearly all the speed of longer ones. Longer runs are refused because on MiniLM (60 s, seed 0, default
# settings) they began to change the walk: the acceptance was 0.480 (R = 1), 0.479 (R = 16), 0.471 (R = 64)
# and 0.238 for a whole sweep in memory order, which also left 344 of 838 windows never flat and ln g / N off
# by up to 0.13 from the random order's. Exact, but not better in general: against exact g(E), 20 seeds x 30 s
# each (bench/RUNS_*_seeds10-29.md, before the piece-by-piece prefetch below sped random spins up more than
# runs), runs of 16 made 1.5-1.6x the sweeps, and their mean error was 0.61x the
# random order's on the width-8 network (95 % interval 0.46-0.82) but 1.19x (1.01-1.40) on the rank-one
# network, whose max error was 1.38x. Hence R = 1 by default.
MAX_RUN_LENGTH = 16
# stages
HALVING, ONE_OVER_T, DONE = 0, 1, 2
# modes: 0 = kept fields (ours); 1 = recompute h_i at every attempt, column read strided (the authors'; the
# "rows" layout only);
# 2 = recompute with the transposed copy (contiguous reads) -- the baselines of the benchmark; 3 = kept fields
# updated at once, without the deferral and prefetch of run_window's docstring (the same walk, bit for bit:
# the benchmark's measure of the deferral, and the tests' check of it).
MODE_FIELDS, MODE_RECOMPUTE, MODE_RECOMPUTE_T, MODE_IMMEDIATE = 0, 1, 2, 3
# An accepted flip's reads (its down row then its up row, n_{l-1} + n_{l+1} floats) are prefetched in pieces:
# the first PREFETCH_FIRST floats when it is accepted, then PREFETCH_STEP more at each following attempt until
# it is applied at the next accepted flip, so the memory streams it while the attempts compute (1.7 attempts
# per flip on MiniLM) and few prefetches wait at once. Nothing of a mere candidate is prefetched (four in ten
# are rejected). Measured on MiniLM, 2 threads, medians of 9 repeats in one process (2026-11-24), against the
# kernel before (the first 128 floats of each row of the next candidate, and 512 of each row of an accepted
# flip at once): 256 / 256 at 1.12-1.24x in nine comparisons on the records layout, 1.10x on rows; in one
# sweep 128 / 128 1.16x, 384 / 384 1.10x, 0 / 256 1.04x; with the candidate's 32 floats kept 1.13x, its 128
# 1.0x. The same walk bit for bit (a prefetch changes no result).
PREFETCH_FIRST = 256
PREFETCH_STEP = 256
# (One accepted flip is kept pending. Keeping 2, 4 or 8, the oldest applied when one more is accepted, was
# measured on MiniLM: 1.00x, 0.94x and 0.79x: the rows are not late, and every attempt checks every pending
# flip; 2 again with the pieces above, prefetched oldest first: 0.95x. Nor did applying the older of two
# pending flips in chunks of 128-4,096 couplings, one chunk per attempt, so that the attempts overlap its
# memory traffic: 0.86-0.97x, the same walk bit for bit; nor keeping two and streaming both flips' rows in one
# loop, two streams in flight: 0.89x, bit for bit.)


@nb.njit(cache=True, inline="always")
def kglob(E, w, align):
    """Global bin index of energy ``E`` (symmetric rounding, see the module docstring)."""
    x = E / w
    if align == 0:
        if x >= 0.0:
            return np.int64(math.floor(x + 0.5))
        return -np.int64(math.floor(-x + 0.5))
    if x >= 0.0:
        return np.int64(math.floor(x))
    return -np.int64(math.floor(-x)) - 1


@nb.njit(cache=True, inline="always")
def _dist(k, lo, hi):
    if k < lo:
        return lo - k
    if k > hi:
        return k - hi
    return 0


@nb.njit(cache=True)
def _flat(hist, vis, lo, hi, flatness):
    n = 0
    tot = 0.0
    mn = np.int64(1) << 62
    for b in range(lo, hi + 1):
        if vis[b]:
            n += 1
            tot += hist[b]
            if hist[b] < mn:
                mn = hist[b]
    return n > 0 and mn > 0 and mn >= flatness * tot / n


@nb.njit(cache=True, fastmath=True)
def _field_recompute(mode, g, l, s, up, down, table, sizes, spin_off):
    # The baseline: O(fan-in + fan-out) work per attempt. fastmath lets LLVM vectorise the float32 sums,
    # which only makes the baseline faster (a conservative speed-up ratio).
    n_mat = sizes.shape[0] - 1
    i = g - spin_off[l]
    acc = np.float32(0.0)
    if l < n_mat:
        n_out = sizes[l + 1]
        row = table[l, 0] + i * table[l, 1]
        b = spin_off[l + 1]
        for j in range(n_out):
            acc += up[row + j] * np.float32(s[b + j])
    if l > 0:
        n_prev = sizes[l - 1]
        n_l = sizes[l]
        a = spin_off[l - 1]
        if mode == MODE_RECOMPUTE:
            # column i of J_{l-1}, strided: the "rows" layout only, where up is the couplings' buffer and
            # J_{l-1} starts at table[l - 1, 0] (the up row of the first spin of layer l - 1)
            base = table[l - 1, 0] + i
            for k in range(n_prev):
                acc += up[base + k * n_l] * np.float32(s[a + k])
        else:
            row = table[l, 2] + i * table[l, 3]
            for k in range(n_prev):
                acc += down[row + k] * np.float32(s[a + k])
    return np.float64(acc)


@nb.njit(cache=True)
def run_window(n_att, s, h, lng, hist, vis, cm, rng, ist, fst, up, down, table, sizes, spin_off,
               layer_idx, params, iparams):
    """Advance one window by ``n_att`` attempts (or until its ln f reaches the final value).

    Besides the Wang-Landau walk, every proposal inside the window is counted in ``cm`` (int64,
    ``(n_w * (2 D + 1),)``, row ``k`` = current bin, column ``D + kn - k`` = proposed bin): the transition-
    matrix (broad-histogram) estimator of :mod:`ising_nn._wl_tm` turns these into ln g.

    An accepted flip is applied to the fields one accepted flip late: its spin flips at once, its rows are
    prefetched piece by piece over the following attempts (see ``PREFETCH_FIRST``), and they are streamed into
    the fields after the next flip is accepted, so the memory traffic of one flip's rows overlaps the attempts
    up to the next one. Until then the field of an attempted spin adjacent to the pending flip is corrected
    by their one coupling, which rounds exactly as the update itself: the walk is the same, bit for bit, as
    with immediate updates (tested against the reference).
    In runs of consecutive spins (``iparams[Q_RUN] > 1``) updates are immediate and nothing is prefetched.
    """
    N = s.shape[0]
    n_mat = sizes.shape[0] - 1
    w = params[P_W]
    flatness = params[P_FLAT]
    lnf_final = params[P_LNF_FINAL]
    b0 = ist[I_B0]
    align = iparams[Q_ALIGN]
    check = iparams[Q_CHECK]
    mode = iparams[Q_MODE]
    D = iparams[Q_BAND]
    run = iparams[Q_RUN]
    nd = 2 * D + 1
    over = ist[I_OVER]
    k = ist[I_K]
    lo = ist[I_LO]
    hi = ist[I_HI]
    stage = ist[I_STAGE]
    steps = ist[I_STEPS]
    att = ist[I_ATT]
    acc = ist[I_ACC]
    since = ist[I_SINCE]
    nvis = ist[I_NVIS]
    floor_hits = ist[I_FLOOR]
    ceil_hits = ist[I_CEIL]
    nread = ist[I_READ]
    g_next = ist[I_NEXT]
    E = fst[F_E]
    lnf = fst[F_LNF]
    fields = mode == MODE_FIELDS or mode == MODE_IMMEDIATE
    # In runs (R > 1) the next flips read the next records: the hardware prefetcher streams them, and the
    # software prefetches and the deferral only cost time (measured on MiniLM, in one process against the
    # sequential walk with them: 1.14x and 1.28x the attempts/s without them, in two comparisons).
    immediate = mode == MODE_IMMEDIATE or run > 1
    pend = -1  # the accepted flip whose rows are not yet in the fields: spin, layer, s_new - s_old
    l_pend = 0
    d_pend = 0.0
    pf_done = 0  # floats of the pending flip's reads prefetched so far, of pf_end
    pf_end = 0
    for _ in range(n_att):
        if stage == DONE:
            break
        # The candidate of the next attempt is drawn one attempt ahead (a negative I_NEXT means none drawn
        # yet; kept from when its rows were prefetched, so that checkpoints and the reference's stream stay
        # as they were). This attempt is number att.
        g = g_next if g_next >= 0 else randbelow(rng, N)
        if run > 1 and (att + 1) % run != 0 and g + 1 < N:  # (no division for the default R = 1)
            g_next = g + 1
        else:
            g_next = randbelow(rng, N)
        if pf_done < pf_end:
            q1 = min(pf_done + PREFETCH_STEP, pf_end)
            _prefetch_reads(pend, l_pend, pf_done, q1, up, down, table, sizes, spin_off)
            pf_done = q1
        l = layer_idx[g]
        if fields:
            hg = h[g]
            if pend >= 0:
                hg += _pending_coupling(g, l, pend, l_pend, d_pend, up, down, table, spin_off)
        else:
            hg = _field_recompute(mode, g, l, s, up, down, table, sizes, spin_off)
        fan = (sizes[l + 1] if l < n_mat else 0) + (sizes[l - 1] if l > 0 else 0)
        if not fields:
            nread += fan
        En = E + 2.0 * s[g] * hg
        kn = kglob(En, w, align) - b0
        att += 1
        inside = lo <= k <= hi
        if not inside:
            # Walk into the window: accept any move that does not take the walker farther away.
            accept = _dist(kn, lo, hi) <= _dist(k, lo, hi)
        else:
            d = kn - k
            if -D <= d <= D:
                cm[k * nd + D + d] += 1
            else:
                over += 1
            accept = False
            if kn < lo:
                floor_hits += 1
            elif kn > hi:
                ceil_hits += 1
            else:
                if vis[kn] == 0:
                    # First visit: start from the ln g of the bin the walker comes from (an extrapolation
                    # along the slope behind it was tried: over multi-bin jumps it can overshoot by 1e5 and
                    # trap the walker for good).
                    lng[kn] = lng[k]
                    vis[kn] = 1
                    nvis += 1
                    for b in range(lo, hi + 1):
                        hist[b] = 0
                dl = lng[k] - lng[kn]
                accept = dl >= 0.0 or uniform(rng) < math.exp(dl)
        if accept:
            s_old = s[g]
            s[g] = -s_old
            if fields and immediate:
                _add_spin(g, l, -2.0 * s_old, up, down, table, sizes, spin_off, h)
                nread += fan
            elif fields:
                pf_done = min(PREFETCH_FIRST, fan)
                pf_end = fan
                _prefetch_reads(g, l, 0, pf_done, up, down, table, sizes, spin_off)
                if pend >= 0:
                    _add_spin(pend, l_pend, d_pend, up, down, table, sizes, spin_off, h)
                pend = g
                l_pend = l
                d_pend = -2.0 * s_old
                nread += fan
            E = En
            k = kn
            acc += 1
        if not inside:
            if accept and lo <= k <= hi and vis[k] == 0:
                vis[k] = 1
                nvis += 1
                lng[k] = 0.0
            continue
        lng[k] += lnf
        hist[k] += 1
        steps += 1
        since += 1
        if since >= check:
            since = 0
            if stage == HALVING and _flat(hist, vis, lo, hi, flatness):
                lnf *= 0.5
                for b in range(lo, hi + 1):
                    hist[b] = 0
                if lnf * steps < nvis:  # ln f < 1/t with t = steps / bins: switch to 1/t
                    stage = ONE_OVER_T
            if stage == ONE_OVER_T:
                lnf = nvis / steps
                if lnf <= lnf_final:
                    stage = DONE
    if pend >= 0:
        _add_spin(pend, l_pend, d_pend, up, down, table, sizes, spin_off, h)
    ist[I_K] = k
    ist[I_STAGE] = stage
    ist[I_STEPS] = steps
    ist[I_ATT] = att
    ist[I_ACC] = acc
    ist[I_SINCE] = since
    ist[I_NVIS] = nvis
    ist[I_FLOOR] = floor_hits
    ist[I_CEIL] = ceil_hits
    ist[I_READ] = nread
    ist[I_NEXT] = g_next
    ist[I_OVER] = over
    fst[F_E] = E
    fst[F_LNF] = lnf


@nb.njit(cache=True, parallel=True)
def wl_chunk(n_att, order, boff, S, Hf, LNG, HIST, VIS, CM, RNG, IST, FST, up, down, table, sizes,
             spin_off, layer_idx, params, iparams):
    """Advance every window ``w`` by ``n_att[w]`` attempts, windows in parallel (independent streams).

    ``order`` (int64, (W,)) is the order in which ``prange`` hands out the windows; window ``w`` owns
    ``LNG[boff[w]:boff[w + 1]]`` (likewise ``HIST``, ``VIS``; ``CM`` with 2 D + 1 entries per bin).
    """
    nd = 2 * iparams[Q_BAND] + 1
    for j in nb.prange(S.shape[0]):
        w = order[j]
        a = boff[w]
        b = boff[w + 1]
        run_window(n_att[w], S[w], Hf[w], LNG[a:b], HIST[a:b], VIS[a:b], CM[a * nd : b * nd], RNG[w], IST[w],
                   FST[w], up, down, table, sizes, spin_off, layer_idx, params, iparams)
