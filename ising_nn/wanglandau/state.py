"""Wang-Landau run state: set-up (descent, bins, windows) and range extension.

Everything a run needs to continue bit-for-bit lives in :class:`WLState`: the arrays the kernels advance
plus a few scalars (checkpoints: :mod:`ising_nn.wanglandau.checkpoint`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ising_nn._version import __version__
from ising_nn.errors import IsingNNError
from ising_nn.kernels.copies import derived, transposed
from ising_nn.kernels.fields import energy_direct, init_fields
from ising_nn.kernels.rng import seed_states
from ising_nn.model.couplings import Couplings
from ising_nn.wanglandau.kernels import HALVING, SETTINGS, WALKER, kglob
from ising_nn.wanglandau.moves import descend_many

__all__ = ["WLState", "RunInfo", "Arrays", "setup_state", "extend_range", "mirror_spins", "fingerprint",
           "proposal_band",
           "field_scales"]

#: Target width of a window in typical single-flip |dE| (and at least this many sampling bins): the time to
#: walk across a window grows as its width squared, but a window only a few flips wide confines its walker to
#: the states it can reach without leaving it, which on a small network (few states per bin) fall apart into
#: islands: the walk is then not ergodic and whole levels go missing.
WINDOW_FLIPS = 16
#: Memory for the windows' spins and fields (9 N bytes each) that caps the number of windows.
WINDOW_MEMORY = 1.5e9
#: Target wall time of one chunk (all windows advance, then neighbours try to exchange configurations) on
#: LAYOUT_THREADS threads, from a size-only cost model.
CHUNK_SECONDS = 0.05
#: The windows and the chunks are laid out for this many threads whatever the machine has: the walk (windows,
#: chunk boundaries, hence replica exchanges) is then the same on every machine, and only its speed differs.
LAYOUT_THREADS = 2
#: ln f of the lowest window after bins were added below it
EXTEND_LNF = 0.1
#: Memory for the proposal counts (int64, 2 D + 1 per sampling bin) above which the set-up refuses the binning.
COUNTS_MEMORY = 1.5e9


@dataclass
class Arrays:
    """The couplings as kernel arguments: the buffer (for fresh fields and energies) and the rows the flips
    read, in either layout of :mod:`ising_nn.kernels.layout` (``up``, ``down`` and the per-layer ``table``)."""

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
        ``c`` (:func:`ising_nn.kernels.copies.derived`), so later calls share them."""
        from ising_nn.kernels.fields import layer_index
        from ising_nn.kernels.layout import build_records, choose_layout, row_table

        sizes, bond_off, spin_off = c.sizes_array, c.bond_offsets, c.spin_offsets
        layout = choose_layout(layout, c.n_bonds)
        if layout == "records":
            R, table = derived(c, "records", lambda: build_records(c.buffer, sizes, bond_off))
            up, down = R, R
        else:
            up, down, table = c.buffer, transposed(c), row_table(sizes, bond_off)
        return cls(c.buffer, sizes, bond_off, spin_off, layer_index(spin_off), up, down, table, layout)

    def args(self) -> tuple:
        """The couplings' arguments of :func:`ising_nn.wanglandau.kernels.wl_chunk`."""
        return (self.up, self.down, self.table, self.sizes, self.spin_off, self.layer_idx)


@dataclass
class RunInfo:
    """The run's scalars that are not advanced by the kernels (saved in checkpoints, read by the header)."""

    seed: int
    symmetric: bool
    e_quench: float  # the lowest energy of the set-up's descents
    k_bound: int  # the lowest global bin any state can reach (from sum |J|)
    margin: float
    threads: int
    chunk: int  # attempts per window per chunk
    fingerprint: list
    version: str
    restarts: int
    refine: int  # sampling bins per output bin
    out_width: float  # output bin width
    dE_typical: float
    windows_from_pool: int
    elapsed: float = 0.0  # seconds in the kernels
    chunks: int = 0
    layout: str = "rows"
    verified: int = 0  # field re-verifications so far
    field_drift: float = 0.0
    resyncs: int = 0


@dataclass
class WLState:
    """Arrays advanced by :func:`ising_nn.wanglandau.kernels.wl_chunk` and the run's scalars.

    Shapes: ``spins_wi`` int8 (W, N); ``h_wi`` float64 (W, N); ``ln_g_b`` float64, ``hist_b`` int64,
    ``visited_b`` uint8 (B,) with window ``w`` owning ``[bin_off_w[w], bin_off_w[w + 1])``; ``counts_bd`` int64
    (B * (2 D + 1),) proposal counts; ``rng_w`` uint64 (W, 4); ``walker_w`` (W,) records of
    :data:`~ising_nn.wanglandau.kernels.WALKER`; ``settings`` (1,) of :data:`~ising_nn.wanglandau.kernels.SETTINGS`;
    ``order_w`` int64 (W,) (windows interleaved so that the static split of ``prange`` gives each thread a mix
    of cheap low-energy and costly high-energy windows); ``bin_off_w`` int64 (W + 1,); ``rng_exchange`` uint64
    (4,): the stream of the replica exchanges; ``exchanges_p`` int64 (W - 1, 2): exchanges attempted and
    accepted per neighbour pair.
    """

    spins_wi: np.ndarray
    h_wi: np.ndarray
    ln_g_b: np.ndarray
    hist_b: np.ndarray
    visited_b: np.ndarray
    counts_bd: np.ndarray
    rng_w: np.ndarray
    walker_w: np.ndarray
    settings: np.ndarray
    order_w: np.ndarray
    bin_off_w: np.ndarray
    rng_exchange: np.ndarray
    exchanges_p: np.ndarray
    info: RunInfo

    @property
    def n_windows(self) -> int:
        return int(self.spins_wi.shape[0])

    @property
    def cfg(self) -> np.void:
        """The settings record (a view: assigning a field changes the run's settings)."""
        return self.settings[0]

    def kernel_args(self) -> tuple:
        return (self.order_w, self.bin_off_w, self.spins_wi, self.h_wi, self.ln_g_b, self.hist_b, self.visited_b,
                self.counts_bd, self.rng_w, self.walker_w)


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
    if windows is None:
        # windows of ~window_flips typical flips; more windows (down to half that width) to keep cores busy
        wb = max(window_flips, round(window_flips * dE_typ / w))
        windows = max(round(n_live / wb), min(LAYOUT_THREADS, n_live // math.ceil(wb / 2)))
    W = max(1, min(windows, max(LAYOUT_THREADS, int(memory // (9 * N)))))
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
    bin_off_w = np.concatenate([[0], np.cumsum([hi - lo + 1 for lo, hi in lay])]).astype(np.int64)
    starts = _window_starts(a, E_q, s_q, window_spins)
    spins_wi, h_wi, walker_w, visited_b, from_pool = _start_windows(lay, bin_off_w, starts, w, align)
    width = max(hi - lo + 1 for lo, hi in lay)
    settings = np.zeros(1, dtype=SETTINGS)
    settings[0] = (w, flatness, ln_f_final, align, max(N, 20 * width), 0, band, run_length)
    # chunk of attempts per window: ~CHUNK_SECONDS of work per thread from a size-only cost model (so the
    # chunking, hence the run, depends neither on timing nor on the machine); replicas exchange between chunks
    fan = 2.0 * c.n_bonds / N
    chunk = int(np.clip(CHUNK_SECONDS * 1e9 * LAYOUT_THREADS / (W * (50.0 + 0.5 * fan)), 1000, 1 << 26))
    info = RunInfo(seed=int(seed), symmetric=bool(symmetric), e_quench=E_q, k_bound=k_bound, margin=float(margin),
                   threads=int(threads), chunk=chunk, fingerprint=fingerprint(c), version=__version__,
                   restarts=int(restarts), refine=m, out_width=w_out, dE_typical=dE_typ,
                   windows_from_pool=int(from_pool))
    B = int(bin_off_w[-1])
    streams = seed_states(seed, W + 1)  # children of one SeedSequence: window j's stream does not depend on W
    return WLState(spins_wi, h_wi, np.zeros(B), np.zeros(B, dtype=np.int64), visited_b,
                   np.zeros(B * (2 * band + 1), dtype=np.int64), streams[:W].copy(), walker_w, settings,
                   np.array(_interleave(W), dtype=np.int64), bin_off_w, streams[W].copy(),
                   np.zeros((max(W - 1, 0), 2), dtype=np.int64), info)


def _start_windows(lay, bin_off_w, starts, w: float, align: int):
    """Every window's spins, fields and walker from the candidate state nearest it (the walk-in phase carries
    it into the window): ``(spins_wi, h_wi, walker_w, visited_b, windows started from window_spins)``."""
    W, N = len(lay), starts[0][0].size
    spins_wi = np.empty((W, N), dtype=np.int8)
    h_wi = np.empty((W, N))
    walker_w = np.zeros(W, dtype=WALKER)
    visited_b = np.zeros(bin_off_w[-1], dtype=np.uint8)
    E_start = np.array([x[2] for x in starts])
    from_pool = 0
    for j, (lo, hi) in enumerate(lay):
        i = int(np.argmin(np.abs(E_start - 0.5 * (lo + hi) * w)))
        from_pool += i >= 2
        spins_wi[j], h_wi[j], E0 = starts[i]
        k = int(kglob(E0, w, align)) - lo
        wk = walker_w[j]
        wk["bin0"], wk["k"], wk["lo"], wk["hi"], wk["next_spin"] = lo, k, 0, hi - lo, -1
        if 0 <= k <= hi - lo:
            visited_b[bin_off_w[j] + k] = 1
            wk["n_visited"] = 1
        wk["E"], wk["ln_f"] = E0, 1.0
    return spins_wi, h_wi, walker_w, visited_b, from_pool


def _window_starts(a: Arrays, E_q, s_q, window_spins) -> list[tuple]:
    """Candidate starting states ``(spins, fields, energy)``: the lowest state, its mirror image, then every
    state of ``window_spins`` (shape (M, N)) and its mirror image.

    A walker confined to a narrow window never decorrelates from the state it entered with; entering from
    the lowest state, the windows of the lower half all sampled the neighbourhood of that one state, which is
    not typical of their energies (on trained MiniLM this biased ln g). Equilibrium states of the canonical
    engine at the temperature whose mean energy lies in a window are typical of it.
    """
    N = s_q.size
    s_m = mirror_spins(s_q, a.spin_off)
    h_q, h_m = np.empty(N), np.empty(N)  # one pass over the couplings each, copied into every window
    init_fields(a.buffer, a.sizes, a.bond_off, a.spin_off, s_q, h_q)
    init_fields(a.buffer, a.sizes, a.bond_off, a.spin_off, s_m, h_m)
    out = [(s_q, h_q, E_q), (s_m, h_m, -E_q)]
    if window_spins is None:
        return out
    pool = np.asarray(window_spins)
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
    wk = st.walker_w
    low = int(np.argmin(wk["bin0"]))
    top = int(np.argmax(wk["bin0"] + wk["hi"]))
    hit = wk["floor_hits"][low] > 0 or ((not st.info.symmetric) and wk["ceiling_hits"][top] > 0)
    wk["floor_hits"][low] = 0
    wk["ceiling_hits"][top] = 0
    room = int(wk["bin0"][low]) - int(st.info.k_bound)
    if not hit or room <= 0:
        return 0
    pad = min(room, max(4, math.ceil(0.1 * (wk["hi"][low] + 1))))
    right = 0 if st.info.symmetric else pad
    nd = 2 * int(st.cfg["band"]) + 1
    per_bin = {"ln_g_b": 1, "hist_b": 1, "visited_b": 1, "counts_bd": nd}
    segs = {name: [] for name in per_bin}
    for w in range(st.n_windows):
        a, b = st.bin_off_w[w], st.bin_off_w[w + 1]
        for name, r in per_bin.items():
            x = getattr(st, name)[a * r : b * r]
            if w == low:
                x = np.concatenate([np.zeros(pad * r, x.dtype), x])
            if w == top and right:
                x = np.concatenate([x, np.zeros(right * r, x.dtype)])
            segs[name].append(x)
    for name, parts in segs.items():
        setattr(st, name, np.concatenate(parts))
    wk["bin0"][low] -= pad
    wk["k"][low] += pad
    # the window's refinement starts over (its histogram must now cover the new bins too)
    wk["stage"][low] = HALVING
    wk["ln_f"][low] = max(float(wk["ln_f"][low]), EXTEND_LNF)
    wk["hi"][low] += pad
    wk["hi"][top] += right
    st.bin_off_w = np.concatenate([[0], np.cumsum(wk["hi"] + 1)]).astype(np.int64)
    return pad
