"""Numba kernels of the Wang-Landau sampler: one window's random walk and the parallel chunk of all windows.

State of window ``w`` (all arrays; :class:`ising_nn.wanglandau.state.WLState` owns them):

- ``s`` int8 ``(N,)``, ``h`` float64 ``(N,)``: spins and their local fields (:mod:`ising_nn.kernels.fields`).
- the window's own bins (a slice of flat arrays): ``ln_g`` float64 running ln g; ``hist`` int64 visits since
  the last reset; ``visited`` uint8 bins visited at least once (bins never visited have no known states and
  are left out of the flatness test, so gaps between levels and the unknown low end do not stall it).
- ``rng`` uint64 ``(4,)``: the window's xoshiro256** stream.
- ``walker``: one record of dtype :data:`WALKER` (its bin, its refinement, its counters).

The walk's settings, shared by all windows, are one record of dtype :data:`SETTINGS`. The couplings come as
``up, down, table`` (either layout of :mod:`ising_nn.kernels.layout`), with ``sizes``, ``spin_off`` and
``layer_idx`` (:mod:`ising_nn.kernels.fields`).

Bins: the global bin of energy ``E`` is ``k = round(E / w - align / 2)`` with ties rounded away from zero, so
that ``k(-E) = -k(E)`` (``align = 0``: a bin centred on E = 0) or ``-k(E) - 1`` (``align = 1``: a bin edge at
0). A window holds global bins ``bin0 .. bin0 + hi``; its walker's ``k`` counts from ``bin0``. Bin centre:
``(k + align/2) w``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ising_nn.kernels.layout import _add_spin, _pending_coupling, _prefetch_reads
from ising_nn.kernels.rng import randbelow, uniform

__all__ = ["wl_chunk", "run_window", "kglob", "WALKER", "SETTINGS", "MAX_RUN_LENGTH", "HALVING", "ONE_OVER_T",
           "DONE", "MODE_FIELDS", "MODE_RECOMPUTE", "MODE_RECOMPUTE_T", "MODE_IMMEDIATE"]

#: One window's walker, one record per window.
WALKER = np.dtype([
    ("bin0", np.int64),  # global index of the window's first bin
    ("k", np.int64),  # the walker's bin, from bin0 (outside [lo, hi] while it walks into the window)
    ("lo", np.int64),
    ("hi", np.int64),  # the window's bins, from bin0: lo = 0 .. hi
    ("stage", np.int64),  # HALVING, ONE_OVER_T or DONE
    ("steps", np.int64),  # attempts inside the window: the clock of the 1/t stage
    ("attempts", np.int64),
    ("accepted", np.int64),
    ("since_check", np.int64),  # attempts since the last flatness check
    ("n_visited", np.int64),
    ("floor_hits", np.int64),  # proposals below the window's lowest bin (the driver extends the range)
    ("ceiling_hits", np.int64),
    ("couplings_read", np.int64),
    ("next_spin", np.int64),  # the candidate of the next attempt, drawn one ahead; -1: none drawn yet
    ("out_of_band", np.int64),  # proposals that jumped farther than the band of the counts
    ("E", np.float64),
    ("ln_f", np.float64),
])
#: The walk's settings: sampling bin width, flatness threshold, final ln f; bin alignment (0: a
#: bin centred on E = 0, 1: an edge at 0), attempts between flatness checks, mode (``MODE_*``), band D of the
#: proposal counts (bins a flip can jump), run length R.
SETTINGS = np.dtype([
    ("bin_width", np.float64),
    ("flatness", np.float64),
    ("ln_f_final", np.float64),
    ("align", np.int64),
    ("check", np.int64),
    ("mode", np.int64),
    ("band", np.int64),
    ("run_length", np.int64),
])
# Runs of R attempts: attempt t (counted over the window's life) proposes a uniformly random spin when t is a
# multiple of R, else the spin after the last one in memory order (a random one at the end of the network).
# R = 1 is the authors' scheme. Why any R is exact: each attempt is a Metropolis step for one given spin,
# min(1, g(E) / g(E')), which keeps the weights 1 / g(E) by itself, and which spins are proposed depends only on
# the run's random draws, never on the state. Given those draws the steps are a fixed sequence of such kernels,
# so a state with the weights 1 / g(E) at the run's start keeps them at every attempt, independently of the
# spin proposed. The transition-matrix counts stay unbiased too: flipping one given spin is an involution, so
# for any state-independent choice of spins the counts E -> E' and E' -> E balance as g(E) to g(E').
# R > 1 flips read consecutive records (ising_nn.kernels.layout), which the hardware prefetcher streams. Runs
# longer than 16 are refused: on MiniLM they began to change the walk (bench/HISTORY.md); R = 1 is the
# default because runs were not more accurate per second on every test network (bench/RUNS.md).
MAX_RUN_LENGTH = 16
# stages
HALVING, ONE_OVER_T, DONE = 0, 1, 2
# modes: MODE_FIELDS = kept fields (ours); MODE_RECOMPUTE = recompute h_i at every attempt, column read strided
# (the authors'; the "rows" layout only); MODE_RECOMPUTE_T = recompute with the transposed copy (contiguous
# reads) -- the baselines of the benchmark; MODE_IMMEDIATE = kept fields updated at once, without the deferral
# and prefetch of run_window's docstring (the same walk, bit for bit: the benchmark's measure of the deferral,
# and the tests' check of it).
MODE_FIELDS, MODE_RECOMPUTE, MODE_RECOMPUTE_T, MODE_IMMEDIATE = 0, 1, 2, 3
# An accepted flip's reads (its down row then its up row, n_{l-1} + n_{l+1} floats) are prefetched in pieces:
# the first PREFETCH_FIRST floats when it is accepted, then PREFETCH_STEP more at each following attempt until
# it is applied at the next accepted flip, so that the memory streams it while the attempts compute and few
# prefetches wait at once. Nothing of a mere candidate is prefetched (four in ten are rejected). The sizes and
# the alternatives tried are in bench/HISTORY.md; `make bench` measures the deferral against immediate updates.
PREFETCH_FIRST = 256
PREFETCH_STEP = 256


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
def run_window(n_att, s, h, lng, hist, vis, cm, rng, walker, up, down, table, sizes, spin_off, layer_idx,
               settings):
    """Advance one window by ``n_att`` attempts (or until its ln f reaches the final value).

    Besides the Wang-Landau walk, every proposal inside the window is counted in ``cm`` (int64,
    ``(n_w * (2 D + 1),)``, row ``k`` = current bin, column ``D + kn - k`` = proposed bin): the transition-
    matrix (broad-histogram) estimator of :mod:`ising_nn.wanglandau.tm` turns these into ln g.

    An accepted flip is applied to the fields one accepted flip late: its spin flips at once, its rows are
    prefetched piece by piece over the following attempts (see ``PREFETCH_FIRST``), and they are streamed into
    the fields after the next flip is accepted, so the memory traffic of one flip's rows overlaps the attempts
    up to the next one. Until then the field of an attempted spin adjacent to the pending flip is corrected
    by their one coupling, which rounds exactly as the update itself: the walk is the same, bit for bit, as
    with immediate updates (tested against the reference).
    In runs of consecutive spins (``cfg.run_length > 1``) updates are immediate and nothing is prefetched.
    """
    N = s.shape[0]
    n_mat = sizes.shape[0] - 1
    cfg = settings[0]
    w = cfg.bin_width
    flatness = cfg.flatness
    lnf_final = cfg.ln_f_final
    b0 = walker.bin0
    align = cfg.align
    check = cfg.check
    mode = cfg.mode
    D = cfg.band
    run = cfg.run_length
    nd = 2 * D + 1
    over = walker.out_of_band
    k = walker.k
    lo = walker.lo
    hi = walker.hi
    stage = walker.stage
    steps = walker.steps
    att = walker.attempts
    acc = walker.accepted
    since = walker.since_check
    nvis = walker.n_visited
    floor_hits = walker.floor_hits
    ceil_hits = walker.ceiling_hits
    nread = walker.couplings_read
    g_next = walker.next_spin
    E = walker.E
    lnf = walker.ln_f
    fields = mode == MODE_FIELDS or mode == MODE_IMMEDIATE
    # In runs (R > 1) the next flips read the next records: the hardware prefetcher streams them, and the
    # software prefetches and the deferral only cost time.
    immediate = mode == MODE_IMMEDIATE or run > 1
    pend = -1  # the accepted flip whose rows are not yet in the fields: spin, layer, s_new - s_old
    l_pend = 0
    d_pend = 0.0
    pf_done = 0  # floats of the pending flip's reads prefetched so far, of pf_end
    pf_end = 0
    for _ in range(n_att):
        if stage == DONE:
            break
        # The candidate of the next attempt is drawn one attempt ahead (a negative next_spin means none drawn
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
    walker.k = k
    walker.stage = stage
    walker.steps = steps
    walker.attempts = att
    walker.accepted = acc
    walker.since_check = since
    walker.n_visited = nvis
    walker.floor_hits = floor_hits
    walker.ceiling_hits = ceil_hits
    walker.couplings_read = nread
    walker.next_spin = g_next
    walker.out_of_band = over
    walker.E = E
    walker.ln_f = lnf


@nb.njit(cache=True, parallel=True)
def wl_chunk(n_att, order_w, bin_off_w, spins_wi, h_wi, ln_g_b, hist_b, visited_b, counts_bd, rng_w, walker_w, up,
             down, table, sizes, spin_off, layer_idx, settings):
    """Advance every window ``w`` by ``n_att[w]`` attempts, windows in parallel (independent streams).

    ``order_w`` (int64, (W,)) is the order in which ``prange`` hands out the windows; window ``w`` owns
    ``ln_g_b[bin_off_w[w]:bin_off_w[w + 1]]`` (likewise ``hist_b``, ``visited_b``; ``counts_bd`` with
    2 D + 1 entries per bin). ``walker_w``: (W,) records of :data:`WALKER`; ``settings``: (1,) of
    :data:`SETTINGS`.
    """
    cfg = settings[0]
    nd = 2 * cfg.band + 1
    for j in nb.prange(spins_wi.shape[0]):
        w = order_w[j]
        a = bin_off_w[w]
        b = bin_off_w[w + 1]
        run_window(n_att[w], spins_wi[w], h_wi[w], ln_g_b[a:b], hist_b[a:b], visited_b[a:b],
                   counts_bd[a * nd : b * nd], rng_w[w], walker_w[w], up, down, table, sizes, spin_off, layer_idx,
                   settings)
