"""Wang-Landau run state: set-up (descent, bins, windows) and range extension.

Everything a run needs to continue bit-for-bit lives in :class:`WLState`: the arrays the kernels advance
plus a few scalars (checkpoints: :mod:`ising_nn._wl_checkpoint`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._fields import energy_direct, init_fields
from ._rng import seed_states
from ._version import __version__
from ._wl_kernels import (
    F_E,
    F_LNF,
    HALVING,
    I_B0,
    I_CEIL,
    I_FLOOR,
    I_HI,
    I_K,
    I_LO,
    I_NEXT,
    I_NVIS,
    I_STAGE,
    NF,
    NI,
    NQ,
    Q_ALIGN,
    Q_BAND,
    Q_CHECK,
    Q_MODE,
    Q_RUN,
    kglob,
)
from ._wl_moves import descend_many
from .couplings import Couplings
from .errors import IsingNNError

__all__ = ["WLState", "Arrays", "setup_state", "extend_range", "mirror_spins", "fingerprint", "proposal_band",
           "field_scales"]

#: Target width of a window in typical single-flip |dE| (and at least this many sampling bins): the time to
#: walk across a window grows as its width squared, but a window only a few flips wide confines its walker to
#: the states it can reach without leaving it, which on a small network (few states per bin) fall apart into
#: islands: the walk is then not ergodic and whole levels go missing.
WINDOW_FLIPS = 16
#: Memory for the windows' spins and fields (9 N bytes each) that caps the number of windows.
WINDOW_MEMORY = 1.5e9
#: Target wall time of one chunk (all windows advance, then neighbours try to exchange configurations).
CHUNK_SECONDS = 0.05
#: ln f of the lowest window after bins were added below it
EXTEND_LNF = 0.1
#: Memory for the proposal counts (int64, 2 D + 1 per sampling bin) above which the set-up refuses the binning.
COUNTS_MEMORY = 1.5e9


@dataclass
class Arrays:
    """The couplings as kernel arguments: the buffer (for fresh fields and energies) and the rows the flips
    read, in either layout of :mod:`ising_nn._layout` (``up``, ``down`` and the per-layer ``table``)."""

    buffer: np.ndarray
    sizes: np.ndarray
    bond_off: np.ndarray
    spin_off: np.ndarray
    layer_idx: np.ndarray
    up: np.ndarray
    down: np.ndarray
    table: np.ndarray
    layout: str

    @classmethod
    def of(cls, c: Couplings, layout: str = "auto") -> Arrays:
        """Kernel arrays of ``c`` in ``layout`` ("auto", "rows" or "records"); derived copies are kept with
        ``c`` (:meth:`ising_nn.couplings.Couplings._derived`), so later calls share them."""
        from ._fields import layer_index
        from ._layout import build_records, choose_layout, row_table

        sizes, bond_off, spin_off = c.sizes_array, c.bond_offsets, c.spin_offsets
        layout = choose_layout(layout, c.n_bonds)
        if layout == "records":
            R, table = c._derived("records", lambda: build_records(c.buffer, sizes, bond_off))
            up, down = R, R
        else:
            up, down, table = c.buffer, c.transposed_buffer(), row_table(sizes, bond_off)
        return cls(c.buffer, sizes, bond_off, spin_off, layer_index(spin_off), up, down, table, layout)

    def args(self) -> tuple:
        """The couplings' arguments of :func:`ising_nn._wl_kernels.wl_chunk`."""
        return (self.up, self.down, self.table, self.sizes, self.spin_off, self.layer_idx)


@dataclass
class WLState:
    """Arrays advanced by :func:`ising_nn._wl_kernels.wl_chunk` and the run's scalars.

    Shapes: ``S`` int8 (W, N); ``Hf`` float64 (W, N); ``LNG`` float64, ``HIST`` int64, ``VIS`` uint8 (B,)
    with window ``w`` owning ``[boff[w], boff[w + 1])``; ``CM`` int64 (B * (2 D + 1),) proposal
    counts; ``RNG`` uint64 (W, 4); ``IST`` int64 (W, NI);
    ``FST`` float64 (W, NF); ``params`` float64 (3,); ``iparams`` int64 (NQ,); ``order`` int64 (W,)
    (windows interleaved so that the static split of ``prange`` gives each thread a mix of cheap
    low-energy and costly high-energy windows); ``boff`` int64 (W + 1,); ``RNGX`` uint64 (4,): the stream of
    the replica exchanges; ``XCH`` int64 (W - 1, 2): exchanges attempted and accepted per neighbour pair.
    """

    S: np.ndarray
    Hf: np.ndarray
    LNG: np.ndarray
    HIST: np.ndarray
    VIS: np.ndarray
    CM: np.ndarray
    RNG: np.ndarray
    IST: np.ndarray
    FST: np.ndarray
    params: np.ndarray
    iparams: np.ndarray
    order: np.ndarray
    boff: np.ndarray
    RNGX: np.ndarray
    XCH: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def n_windows(self) -> int:
        return int(self.S.shape[0])

    def kernel_args(self) -> tuple:
        return (self.order, self.boff, self.S, self.Hf, self.LNG, self.HIST, self.VIS, self.CM, self.RNG,
                self.IST, self.FST)


def fingerprint(c: Couplings) -> list[float]:
    """A cheap checksum of the couplings: sizes and two float64 sums of a strided sample."""
    x = c.buffer[:: max(1, c.n_bonds // 200_000)].astype(np.float64)
    w = np.arange(1, x.size + 1, dtype=np.float64)
    return [float(c.n_spins), float(c.n_bonds), float(x.sum()), float((w * x).sum())]


def mirror_spins(s: np.ndarray, spin_off: np.ndarray) -> np.ndarray:
    """Flip every odd layer: maps E to -E on the bipartite chain of layers."""
    out = s.copy()
    for l in range(1, len(spin_off) - 1, 2):
        out[..., spin_off[l] : spin_off[l + 1]] *= -1
    return out


def _abs_sum(buffer: np.ndarray, chunk: int = 1 << 24) -> float:
    return float(sum(np.abs(buffer[i : i + chunk], dtype=np.float64).sum() for i in range(0, buffer.size, chunk)))


def descend(c: Couplings, a: Arrays, seed: int, restarts: int, start_spins=None) -> tuple[float, np.ndarray]:
    """Lowest energy and configuration of ``restarts`` greedy descents from random spins (and ``start_spins``)."""
    N = c.n_spins
    rng = np.random.default_rng([int(seed), 1])
    S = (rng.integers(0, 2, size=(restarts, N), dtype=np.int8) * 2 - 1).astype(np.int8)
    Hf = np.empty((restarts, N))
    E = np.empty(restarts)
    descend_many(S, Hf, E, a.buffer, a.up, a.down, a.table, a.sizes, a.bond_off, a.spin_off, 10_000)
    r = int(np.argmin(E))
    best_E, best_s = float(E[r]), S[r].copy()
    if start_spins is not None:
        s0 = np.asarray(start_spins)
        if s0.shape != (N,) or not np.isin(s0, (-1, 1)).all():
            raise IsingNNError(f"start_spins must be an array of {N} values in {{-1, +1}}, got shape {s0.shape}")
        s0 = s0.astype(np.int8)
        E0 = energy_direct(a.buffer, a.sizes, a.bond_off, a.spin_off, s0)
        if E0 < best_E:
            best_E, best_s = float(E0), s0
    return best_E, best_s


def window_layout(k_lo: int, k_hi: int, n_windows: int, overlap: float) -> list[tuple[int, int]]:
    """``n_windows`` equal windows of bins covering ``[k_lo, k_hi]``, neighbours sharing ~``overlap`` of a width."""
    n = k_hi - k_lo + 1
    W = max(1, min(n_windows, n // 8))
    if W == 1:
        return [(k_lo, k_hi)]
    width = max(8, math.ceil(n / (W - (W - 1) * overlap)))
    starts = [k_lo + round(j * (n - width) / (W - 1)) for j in range(W)]
    return [(s0, min(s0 + width - 1, k_hi)) for s0 in starts]


def field_scales(c: Couplings) -> tuple[float, float]:
    """The largest possible |h_i| and the typical |h_i| of a random state, from one pass over the couplings.

    Largest: the largest sum of |J| over one spin's bonds (bounds |dE| / 2 of a flip). Typical: the mean over
    spins of ``sqrt(2 / pi) sqrt(sum_j J_ij^2)``, the expected |h_i| of uniformly random spins when h_i is
    near Gaussian (on MiniLM within 1.5 % of one random state's mean |h|). It used to be one random state's
    mean |h|, drawn from the seed; on low-rank couplings a whole layer's fields are then one random number:
    on ``rank_one_network([32, 32, 32])`` seeds 0-9 gave a typical |dE| from 2.5 to 18.5 (this formula: 10.3).
    The low draw (seed 7) cut the grid into 29 windows instead of 5-9, too narrow for their walkers to reach
    their states: every window flat, ln f 3e-5 after 30 s, yet ln g off by up to 5.6 in the tails.
    """
    absum = [np.zeros(n) for n in c.layer_sizes]
    sqsum = [np.zeros(n) for n in c.layer_sizes]
    for l, J in enumerate(c.J):
        aJ = np.abs(J)
        absum[l] += aJ.sum(axis=1, dtype=np.float64)
        absum[l + 1] += aJ.sum(axis=0, dtype=np.float64)
        aJ *= aJ
        sqsum[l] += aJ.sum(axis=1, dtype=np.float64)
        sqsum[l + 1] += aJ.sum(axis=0, dtype=np.float64)
    largest = max(float(r.max()) for r in absum)
    typical = math.sqrt(2.0 / math.pi) * float(np.mean(np.sqrt(np.concatenate(sqsum))))
    return largest, typical


def proposal_band(max_field: float, w: float) -> int:
    """Bins a single flip can jump at most on a grid of width ``w``: the band D of the proposal counts.

    A flip changes E by ``2 |h_i| <= 2 max_field`` (``max_field`` from :func:`field_scales`), and the rounding
    to bins adds at most one. The band must hold every possible jump: the transition-matrix fit uses each bin's
    counts normalised by all its proposals, and a bin whose every move is a long jump (a deep minimum of a
    small network, where each flip costs much more than a bin) would otherwise have no counts at all and drop
    out of the estimate.
    """
    return math.ceil(2.0 * max_field / w) + 1


def setup_state(c: Couplings, a: Arrays, *, bin_width, bins, seed, windows, threads, overlap, flatness,
                ln_f_final, symmetric, margin, start_spins, restarts, refine=None, run_length=1,
                window_spins=None, window_flips=WINDOW_FLIPS, memory=WINDOW_MEMORY,
                memory_counts=COUNTS_MEMORY) -> WLState | float:
    """Descend, lay out bins and windows, start every window; returns the degenerate energy if all E equal."""
    N = c.n_spins
    E_q, s_q = descend(c, a, seed, restarts, start_spins)
    sum_abs = _abs_sum(c.buffer)
    if not E_q < -1e-12 * max(sum_abs, 1e-300):
        return 0.0  # all couplings zero: every state has E = 0
    w_out = float(bin_width) if bin_width is not None else 2.0 * abs(E_q) / float(bins)
    # Grid alignment: put the lowest energy found at a bin centre (exact for integer energy lattices).
    x = E_q / w_out
    align = 0 if abs(x - round(x)) <= abs(x - 0.5 - round(x - 0.5)) else 1
    # Sampling bins: an output bin is split into an odd number m of bins no wider than a typical |dE|. Within
    # a bin the walk is unbiased, so across a bin much wider than one flip the entropy gradient would pin the
    # walker to the bin's upper edge and it could never step down: the walk needs ln g to change by O(1) per
    # bin. With m odd the sampling grid has the same alignment and its bins tile the output bins exactly.
    max_field, typical_field = field_scales(c)
    dE_typ = 2.0 * typical_field
    m = int(refine) if refine is not None else max(1, math.ceil(w_out / max(dE_typ, 1e-300)))
    m += 1 - m % 2
    w = w_out / m
    mirror = lambda k: -k - align  # noqa: E731
    k_q = int(kglob(E_q, w, align))
    k_bound = int(kglob(-sum_abs, w, align))
    k_floor = max(k_bound, min(k_q - 2, k_q - math.ceil(margin * abs(k_q))))
    k_mid = 0 if align == 0 else -1  # the highest bin of the sampled half
    n_live = (k_mid - k_q + 1) if symmetric else (mirror(k_q) - k_q + 1)
    w_cap = max(threads, int(memory // (9 * N)))
    if windows is not None:
        W = windows
    else:
        # windows of ~window_flips typical flips; more windows (down to half that width) to keep every core busy
        wb = max(window_flips, round(window_flips * dE_typ / w))
        W = max(round(n_live / wb), min(threads, n_live // math.ceil(wb / 2)))
    W = max(1, min(W, w_cap))
    if symmetric:
        extra = max(2, math.ceil(overlap * n_live / W))  # bins above 0 for the symmetry check
        lay = window_layout(k_q, k_mid + extra, W, overlap)
    else:
        lay = window_layout(k_q, mirror(k_q), W, overlap)
        lay[-1] = (lay[-1][0], mirror(k_floor))
    # The lowest window reaches up to the top of the third: near a deep local minimum a narrow window only
    # holds states a few flips from it, and its walker needs room to climb out and fall into other valleys.
    lay[0] = (k_floor, lay[2][1] if len(lay) >= 4 else lay[0][1])
    W = len(lay)
    n_bins = sum(hi - lo + 1 for lo, hi in lay)
    band = proposal_band(max_field, w)
    if 8.0 * n_bins * (2 * band + 1) > memory_counts:
        raise IsingNNError(
            f"{n_bins} sampling bins of width {w:.4g}, with single flips jumping up to {band} bins, need "
            f"{8e-9 * n_bins * (2 * band + 1):.1f} GB of proposal counts (at most {memory_counts / 1e9:.1f} GB): "
            "give a larger bin_width (or fewer bins, or a smaller refine)"
        )
    s_m = mirror_spins(s_q, a.spin_off)
    h_q, h_m = np.empty(N), np.empty(N)  # one pass over the couplings each, copied into every window
    init_fields(a.buffer, a.sizes, a.bond_off, a.spin_off, s_q, h_q)
    init_fields(a.buffer, a.sizes, a.bond_off, a.spin_off, s_m, h_m)
    S = np.empty((W, N), dtype=np.int8)
    Hf = np.empty((W, N))
    IST = np.zeros((W, NI), dtype=np.int64)
    FST = np.zeros((W, NF))
    boff = np.concatenate([[0], np.cumsum([hi - lo + 1 for lo, hi in lay])]).astype(np.int64)
    VIS = np.zeros(boff[-1], dtype=np.uint8)
    starts = _window_starts(a, s_q, h_q, E_q, s_m, h_m, window_spins)
    E_start = np.array([x[2] for x in starts])
    from_pool = 0
    for j, (lo, hi) in enumerate(lay):
        centre = 0.5 * (lo + hi)
        # start from the candidate state nearest the window (the lowest state, its mirror image or, given
        # window_spins, an equilibrium state of some temperature): the walk-in phase carries it into the window
        i = int(np.argmin(np.abs(E_start - centre * w)))
        from_pool += i >= 2
        S[j], Hf[j], E0 = starts[i]
        k = int(kglob(E0, w, align)) - lo
        IST[j, I_B0], IST[j, I_K], IST[j, I_LO], IST[j, I_HI], IST[j, I_NEXT] = lo, k, 0, hi - lo, -1
        if 0 <= k <= hi - lo:
            VIS[boff[j] + k] = 1
            IST[j, I_NVIS] = 1
        FST[j, F_E] = E0
        FST[j, F_LNF] = 1.0
    width = max(hi - lo + 1 for lo, hi in lay)
    params = np.array([w, flatness, ln_f_final], dtype=np.float64)
    iparams = np.zeros(NQ, dtype=np.int64)
    iparams[Q_ALIGN], iparams[Q_MODE], iparams[Q_CHECK], iparams[Q_BAND] = align, 0, max(N, 20 * width), band
    iparams[Q_RUN] = run_length
    # chunk of attempts per window: ~CHUNK_SECONDS of work per thread from a size-only cost model (so the
    # chunking, hence the run, does not depend on timing); replica exchanges happen between chunks
    fan = 2.0 * c.n_bonds / N
    chunk = int(np.clip(CHUNK_SECONDS * 1e9 * threads / (W * (50.0 + 0.5 * fan)), 1000, 1 << 26))
    meta = dict(seed=int(seed), symmetric=bool(symmetric), e_quench=E_q, k_bound=k_bound, margin=float(margin),
                threads=int(threads), chunk=chunk, elapsed=0.0, chunks=0, fingerprint=fingerprint(c),
                version=__version__, restarts=int(restarts), refine=m, out_width=w_out, dE_typical=dE_typ,
                run_length=int(run_length), windows_from_pool=int(from_pool))
    CM = np.zeros(boff[-1] * (2 * band + 1), dtype=np.int64)
    streams = seed_states(seed, W + 1)  # children of one SeedSequence: window j's stream does not depend on W
    return WLState(S, Hf, np.zeros(boff[-1]), np.zeros(boff[-1], dtype=np.int64), VIS, CM, streams[:W].copy(),
                   IST, FST, params, iparams, np.array(_interleave(W), dtype=np.int64), boff, streams[W].copy(),
                   np.zeros((max(W - 1, 0), 2), dtype=np.int64), meta)


def _window_starts(a: Arrays, s_q, h_q, E_q, s_m, h_m, window_spins) -> list[tuple]:
    """Candidate starting states ``(spins, fields, energy)``: the lowest state, its mirror image, then every
    state of ``window_spins`` (shape (M, N)) and its mirror image.

    A walker confined to a narrow window never decorrelates from the state it entered with; entering from
    the lowest state, the windows of the lower half all sampled the neighbourhood of that one state, which is
    not typical of their energies (on trained MiniLM this biased ln g). Equilibrium states of the canonical
    engine at the temperature whose mean energy lies in a window are typical of it.
    """
    out = [(s_q, h_q, E_q), (s_m, h_m, -E_q)]
    if window_spins is None:
        return out
    pool = np.asarray(window_spins)
    N = s_q.size
    if pool.ndim != 2 or pool.shape[1] != N or not np.isin(pool, (-1, 1)).all():
        raise IsingNNError(f"window_spins must be an array (M, {N}) of values in {{-1, +1}}, got shape {pool.shape}")
    for s in pool.astype(np.int8):
        for x in (s, mirror_spins(s, a.spin_off)):
            h = np.empty(N)
            init_fields(a.buffer, a.sizes, a.bond_off, a.spin_off, x, h)
            out.append((x, h, -0.5 * float(np.dot(x.astype(np.float64), h))))
    return out


def _interleave(W: int) -> list[int]:
    """0, W-1, 1, W-2, ...: contiguous halves of this list mix low and high windows."""
    out, i, j = [], 0, W - 1
    while i <= j:
        out.append(i)
        if j != i:
            out.append(j)
        i, j = i + 1, j - 1
    return out


def extend_range(st: WLState) -> int:
    """Add bins below the floor if the lowest window tried to go below it (mirrored above if unsymmetric).

    Returns the number of bins added at the bottom (0 if none).
    """
    low = int(np.argmin(st.IST[:, I_B0]))
    top = int(np.argmax(st.IST[:, I_B0] + st.IST[:, I_HI]))
    hit = st.IST[low, I_FLOOR] > 0 or ((not st.meta["symmetric"]) and st.IST[top, I_CEIL] > 0)
    st.IST[low, I_FLOOR] = 0
    st.IST[top, I_CEIL] = 0
    room = int(st.IST[low, I_B0]) - int(st.meta["k_bound"])
    if not hit or room <= 0:
        return 0
    pad = min(room, max(4, math.ceil(0.1 * (st.IST[low, I_HI] + 1))))
    right = 0 if st.meta["symmetric"] else pad
    segs = {"LNG": [], "HIST": [], "VIS": [], "CM": []}
    nd = 2 * int(st.iparams[Q_BAND]) + 1
    for w in range(st.n_windows):
        a, b = st.boff[w], st.boff[w + 1]
        for name in segs:
            r = nd if name == "CM" else 1  # CM holds nd counts per bin
            x = getattr(st, name)[a * r : b * r]
            if w == low:
                x = np.concatenate([np.zeros(pad * r, x.dtype), x])
            if w == top and right:
                x = np.concatenate([x, np.zeros(right * r, x.dtype)])
            segs[name].append(x)
    for name, parts in segs.items():
        setattr(st, name, np.concatenate(parts))
    st.IST[low, I_B0] -= pad
    st.IST[low, I_K] += pad
    # the window's refinement starts over (its histogram must now cover the new bins too)
    st.IST[low, I_STAGE] = HALVING
    st.FST[low, F_LNF] = max(float(st.FST[low, F_LNF]), EXTEND_LNF)
    st.IST[low, I_HI] += pad
    st.IST[top, I_HI] += right
    st.boff = np.concatenate([[0], np.cumsum(st.IST[:, I_HI] + 1)]).astype(np.int64)
    return pad
