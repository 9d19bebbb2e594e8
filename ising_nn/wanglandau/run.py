"""Wang-Landau density of states of a layered Ising model: 1/t refinement, parallel windows, replica exchange.

Algorithm (kernels in :mod:`ising_nn.wanglandau.kernels`, set-up in :mod:`ising_nn.wanglandau.state`):

1. Greedy descents from random spins give a low energy ``E_q`` (the ground state is unknown). Output bins
   (``bins`` over ``[E_q, -E_q]`` or ``bin_width``) are aligned so that ``E_q`` sits at a bin centre and split
   into an odd number of sampling bins no wider than a typical single-flip |dE| (within a bin the walk is
   unbiased, so across a much wider bin the entropy gradient would pin the walker to the bin's upper edge).
   The typical |dE| of a random state comes from the couplings alone (``_wl_state.field_scales``), so the
   sampling-bin width and the window width do not depend on the seed (the range still does, via ``E_q``).
   Sampling covers ``[E_q - margin |E_q|, 0]`` plus a few bins above 0; if the walk tries to go below the
   lowest bin, bins are added between chunks (down to the trivial bound ``-sum |J|``). Bins never visited
   hold no known states and are not in the output.
2. The range is cut into overlapping windows (each ~16 typical flips wide, so that a walker confined to one can
   still reach the states of its bins; the lowest one three windows wide), each a Wang-Landau walk
   (moves leaving the window are rejected and counted in the current bin), all in parallel (numba
   ``prange``), each with its own random stream. Between chunks (~0.05 s) neighbouring windows swap
   configurations by replica exchange. Runs are reproducible for a given seed and thread count. Each attempt
   proposes a spin drawn uniformly (default), or with ``run_length=R`` a random spin followed by the R - 1
   spins after it in memory order (faster: consecutive flips read consecutive couplings).
3. Each window: ln f = 1, halved whenever the histogram of its visited bins is flat
   (``min H >= flatness * mean H``); once ln f < 1/t (t = attempts / bins visited) it follows ln f = 1/t
   (Belardinelli and Pereyra, PRE 75, 046701 (2007)), so the error keeps falling as ~ t^(-1/2) instead of
   saturating; a window stops at ``ln_f_final``.
4. ln g: by default a transition-matrix fit of every proposal counted by every window (:mod:`ising_nn.wanglandau.tm`;
   the counts hold every jump a single flip can make, however many bins it spans; no joins needed), else the
   windows' WL ln g joined on their overlaps (:mod:`ising_nn.wanglandau.join`). The half E <= 0 is mirrored (g(E) =
   g(-E) exactly: flipping every odd layer maps E to -E; the bins sampled above 0 give the symmetry error),
   summed into output bins and normalised to ``sum_k g(E_k) = 2^N``.

A time limit stops the run between chunks; the header then says ``stop_reason: time limit`` and
``converged: False``, ``ln_f_final`` says how far the refinement got, ``flat_windows`` how many windows passed
a flatness test at least once and ``E_flat_min`` the lowest energy such a window covers. On MiniLM
(N = 16,512) 60 s on 2 cores reach ln f ~ 0.1-0.25 in nearly all windows (bench/RESULTS.md); the low-energy
tail below ``E_flat_min`` (within ~1-2% of E_min) comes from walks near the deepest minimum found, which have
not yet gone back and forth, and is only a first estimate. Energies known to hold states (the descent's,
``start_spins``', every bin a walker visited or proposed) that have no estimate are never dropped silently:
``E_lowest_known``, ``low_end_missing`` (the lowest of them lies below ``E_min``), ``unestimated_bins`` and
``E_unestimated_min`` report them (a bin needs crossings both ways for the transition-matrix fit).
"""

from __future__ import annotations

import math
import os
import sys
import time

import numba
import numpy as np

from ising_nn import validate
from ising_nn.errors import IsingNNError
from ising_nn.kernels.layout import choose_layout
from ising_nn.model.couplings import Couplings
from ising_nn.results.dos import DOS
from ising_nn.wanglandau.checkpoint import check_state_shapes, load_state, save_state
from ising_nn.wanglandau.join import Timing, degenerate_dos, to_dos
from ising_nn.wanglandau.kernels import DONE, MAX_RUN_LENGTH, ONE_OVER_T, wl_chunk
from ising_nn.wanglandau.moves import exchange, fields_many
from ising_nn.wanglandau.state import Arrays, WLState, extend_range, setup_state

__all__ = ["wang_landau", "DEFAULT_BINS"]

#: Bins over the full range [E_q, -E_q] when neither ``bin_width`` nor ``bins`` is given.
DEFAULT_BINS = 400
#: Field drift (relative to the mean |h|) above which the fields are recomputed at a checkpoint.
RESYNC = 1e-9


def _threads(threads) -> int:
    top = numba.config.NUMBA_NUM_THREADS
    if threads is None:
        return top
    return validate.integer("threads (the cores numba may use)", threads, 1, top)


def wang_landau(
    c: Couplings,
    *,
    bin_width: float | None = None,
    bins: int | None = None,
    seed: int = 0,
    threads: int | None = None,
    time_limit: float | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    windows: int | None = None,
    overlap: float = 0.3,
    flatness: float = 0.8,
    ln_f_final: float | None = None,
    max_sweeps: float | None = None,
    symmetric: bool = True,
    margin: float = 0.25,
    start_spins: np.ndarray | None = None,
    restarts: int | None = None,
    checkpoint_every: float = 60.0,
    estimator: str = "tm",
    refine: int | None = None,
    layout: str = "auto",
    run_length: int | None = None,
    window_spins: np.ndarray | None = None,
) -> DOS:
    """Density of states g(E) by Wang-Landau sampling with the 1/t refinement, windows in parallel.

    Parameters
    ----------
    c : Couplings
    bin_width : float, optional
        Energy bin width. For integer energies use the level spacing (bins then hold single levels).
    bins : int, optional
        Number of bins over the full range ``[E_q, -E_q]`` (``E_q`` the best descent energy); default
        :data:`DEFAULT_BINS`. Give ``bin_width`` or ``bins``, not both.
    seed : int
        Seeds the descents and every window's random stream.
    threads : int, optional
        Cores for the windows (default: all numba may use).
    time_limit : float, optional
        Seconds for this call, set-up included; the run stops between chunks and says so in the header.
        The one-off JIT compilation of the kernels (tens of seconds on a machine without numba's cache) is
        done before the clock starts, so a short limit still buys sampling.
    checkpoint : path, optional
        ``.npz`` state written atomically every ``checkpoint_every`` seconds and at the end.
    resume : bool
        Continue from ``checkpoint`` if it exists (binning, windows and seed come from it); start afresh if not.
    progress : bool
        tqdm progress bar on stderr.
    windows : int, optional
        Number of energy windows (default: one per ~16 typical single-flip |dE| of the sampled range, and at
        least 16 sampling bins; more, down to half that width, to give every thread a window; at most what
        1.5 GB of spins and fields allow; the lowest window is 3 windows wide). Much narrower windows confine
        their walkers to islands of states on small networks.
    overlap : float in (0, 1)
        Fraction of a window shared with each neighbour.
    flatness : float in (0, 1)
        Histogram flatness ``min H / mean H`` that halves ln f.
    ln_f_final : float, optional
        A window stops when its ln f (= 1/t in the last stage) reaches this. Default 1e-6, or 1e-10 under a
        time limit (use the time given).
    max_sweeps : float, optional
        Stop after this many attempts per window, in units of N (deterministic, for tests and benchmarks).
    symmetric : bool
        Sample E <= 0 and mirror (default); ``False`` samples the whole range and only reports the symmetry
        error (a check of the sampler).
    margin : float
        Initial bins below ``E_q`` as a fraction of ``|E_q|`` (more are added if the walk reaches them).
    start_spins : ndarray, shape (N,), optional
        A low-energy configuration (e.g. from :func:`ising_nn.quench.search.quench`) to start the lowest windows; if it
        is below the descents, the range starts at its energy (``E_descent`` in the header). Whether the
        estimate reaches down to it too is in ``E_lowest_known`` and ``low_end_missing``.
    restarts : int, optional
        Greedy descents for the range (default: 2 to 16 by size).
    checkpoint_every : float
        Seconds between checkpoints.
    estimator : {"tm", "wl"}
        ln g from the transition-matrix fit of all proposals (default; see :mod:`ising_nn.wanglandau.tm`) or from the
        Wang-Landau ln g of the windows joined on their overlaps. Both are computed; the header reports
        their mean difference.
    refine : int, optional
        Sampling bins per output bin (odd; default: enough that a sampling bin is no wider than a typical
        single-flip |dE|).
    layout : {"auto", "rows", "records"}
        How the flips find a spin's couplings (:mod:`ising_nn.kernels.layout`): ``"records"`` keeps two copies of
        the couplings, spin by spin, besides the buffer, and streams them faster; ``"rows"`` keeps one
        transposed copy. Results are the same bit for bit; ``"auto"`` takes the records when they fit in a
        quarter of the machine's memory.
    run_length : int from 1 to 16, optional
        Attempts per run: a run proposes a uniformly random spin, then the ``run_length - 1`` spins after it in
        memory order. 1 (the default for a new run) is the authors' scheme: every spin drawn at random. Each
        attempt is the same acceptance test, so the walk keeps the weights 1/g(E) (checked against exact g(E)
        like the random order); runs of 16 stream the couplings of consecutive spins, ~1.3x the attempts per
        second on MiniLM (bench/RESULTS.md). A different walk, not the same one faster: against exact g(E) it
        was more accurate per second on one network and less on another (bench/RUNS_*.md). Longer runs are
        refused (they began to change the walk on MiniLM, see ``ising_nn.wanglandau.kernels.MAX_RUN_LENGTH``).
        Resuming keeps the checkpoint's run length (``None``); naming another is an error.
    window_spins : ndarray, shape (M, N), optional
        Equilibrium states (e.g. :attr:`ising_nn.canonical.CanonicalResult.spins_k`): every window starts
        from the one (or its mirror image) whose energy is nearest, rather than from the lowest state. A walker
        in a narrow window keeps the neighbourhood it entered with, so it must enter from a typical state.

    Returns
    -------
    DOS
        Bins with states, ``ln g`` natural log normalised to ``sum_k g(E_k) = 2^N``; the header has the
        model, sizes, parameters, seed, diagnostics (symmetry and join errors, field drift, energies known to
        hold states but not estimated: see the module docstring) and provenance.
    """
    _compile_kernels()
    t0 = time.perf_counter()
    if not isinstance(c, Couplings):
        raise IsingNNError(f"wang_landau needs Couplings, got {type(c).__name__}")
    if bin_width is not None and bins is not None:
        raise IsingNNError("give either bin_width or bins, not both")
    bin_width = validate.number("bin_width", bin_width, positive=True, optional=True)
    bins = DEFAULT_BINS if bins is None else validate.integer("bins", bins, 2)
    thr = _threads(threads)
    time_limit = validate.seconds("time_limit", time_limit)
    max_sweeps = validate.number("max_sweeps", max_sweeps, positive=True, optional=True)
    windows = validate.integer("windows", windows, 1, optional=True)
    if ln_f_final is None:
        ln_f_final = 1e-6 if time_limit is None else 1e-10
    ln_f_final = validate.number("ln_f_final", ln_f_final, positive=True)
    overlap = validate.number("overlap", overlap, lo=1e-9, hi=1 - 1e-9)
    flatness = validate.number("flatness", flatness, lo=1e-9, hi=1 - 1e-9)
    margin = validate.number("margin", margin, lo=0.0)
    layout = choose_layout(layout, c.n_bonds)
    run_length = validate.integer("run_length", run_length, 1, MAX_RUN_LENGTH, optional=True)
    validate.choice("estimator", estimator, ("tm", "wl"))
    refine = validate.integer("refine", refine, 1, optional=True)
    if resume and checkpoint is None:
        raise IsingNNError("resume needs a checkpoint path")
    seed = int(seed)
    if restarts is None:
        restarts = int(np.clip(1e8 / max(c.n_bonds, 1), 2, 16))

    prev_threads = numba.get_num_threads()
    numba.set_num_threads(thr)
    try:
        a = Arrays.of(c, layout)
        resumed = bool(resume and checkpoint is not None and os.path.exists(checkpoint))
        if resumed:
            st = _resume(checkpoint, c, run_length, ln_f_final)
        else:
            st = setup_state(c, a, bin_width=bin_width, bins=bins, seed=seed, windows=windows, threads=thr,
                             overlap=float(overlap), flatness=float(flatness), ln_f_final=ln_f_final,
                             symmetric=bool(symmetric), margin=float(margin), start_spins=start_spins,
                             restarts=int(restarts), refine=refine, run_length=run_length or 1,
                             window_spins=window_spins)
            if not isinstance(st, WLState):
                return degenerate_dos(c, seed, time.perf_counter() - t0)
        st.info.layout = a.layout  # this call's (a resumed run may use the other: same walk)
        t_loop = time.perf_counter()
        kernels_before = st.info.elapsed
        reason = _run(st, a, c.n_spins, t0, time_limit, max_sweeps, checkpoint, checkpoint_every, progress)
        # where this call's time went (the header's sampling_time adds up the kernels over resumed calls)
        timing = Timing(setup=t_loop - t0, loop=time.perf_counter() - t_loop,
                        kernels=st.info.elapsed - kernels_before)
        drift_h, drift_E = _verify(st, a)
        if checkpoint is not None:
            save_state(st, checkpoint)
    finally:
        numba.set_num_threads(prev_threads)
    return to_dos(c, st, reason, resumed, drift_h, drift_E, time.perf_counter() - t0, estimator, timing)


def _resume(checkpoint, c: Couplings, run_length, ln_f_final: float) -> WLState:
    """The checkpoint's state, to continue with this call's final ln f (windows done at a larger one resume)."""
    st = load_state(checkpoint, c)
    check_state_shapes(st, c.n_spins)
    was = int(st.cfg["run_length"])
    if run_length is not None and run_length != was:
        raise IsingNNError(f"checkpoint {str(checkpoint)!r} was written with run_length={was}, got "
                           f"{run_length}: resume with its run length, or start afresh")
    st.cfg["ln_f_final"] = ln_f_final
    wk = st.walker_w
    wk["stage"][(wk["stage"] == DONE) & (wk["ln_f"] > ln_f_final)] = ONE_OVER_T
    return st


_COMPILED = False


def _compile_kernels() -> None:
    """Compile (or load from numba's cache) every kernel once per process, on a 10-spin network."""
    global _COMPILED
    if _COMPILED:
        return
    _COMPILED = True  # set first: the call below re-enters wang_landau
    rng = np.random.default_rng(0)
    J_l = [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32)]
    wang_landau(Couplings.from_matrices(J_l), seed=0, windows=2, max_sweeps=1.0, progress=False)


def _run(st: WLState, a: Arrays, N: int, t0: float, time_limit, max_sweeps, checkpoint, every, progress) -> str:
    """Advance all windows chunk by chunk until converged, out of sweeps or out of time."""
    from tqdm import tqdm

    chunk = st.info.chunk
    lnf_final = float(st.cfg["ln_f_final"])
    sec_per_att = None
    last_ckpt = time.perf_counter()
    ran = 0
    by_energy = np.argsort(st.walker_w["bin0"], kind="stable")
    bar = tqdm(total=100, unit="%", desc="wang-landau", disable=not progress, file=sys.stderr, leave=False)
    try:
        while True:
            active = st.walker_w["stage"] != DONE
            if not active.any():
                return "converged"
            n = np.where(active, chunk, 0).astype(np.int64)
            if max_sweeps is not None:
                n = np.minimum(n, np.maximum(int(max_sweeps * N) - st.walker_w["attempts"], 0))
                if not n.any():
                    return "max sweeps"
            if time_limit is not None and sec_per_att is not None:
                left = time_limit - (time.perf_counter() - t0)
                cap = int(left / sec_per_att)
                if cap < 1:
                    return "time limit"
                n = np.minimum(n, cap)
            t1 = time.perf_counter()
            wl_chunk(n, *st.kernel_args(), *a.args(), st.settings)
            if st.n_windows > 1:
                exchange(st.info.chunks % 2, by_energy, st.bin_off_w, st.spins_wi, st.h_wi, st.ln_g_b, st.visited_b,
                         st.walker_w, st.rng_exchange, st.exchanges_p)
            dt = time.perf_counter() - t1
            ran += 1
            if n.max() > 0 and ran > 1:  # the first chunk includes compilation
                sec_per_att = dt / n.max()
            elif n.max() > 0:
                sec_per_att = dt / n.max() / 4
            st.info.elapsed += dt
            st.info.chunks += 1
            if extend_range(st):
                by_energy = np.argsort(st.walker_w["bin0"], kind="stable")
            if checkpoint is not None and time.perf_counter() - last_ckpt > every:
                _verify(st, a)
                save_state(st, checkpoint)
                last_ckpt = time.perf_counter()
            lnf = st.walker_w["ln_f"]
            conv = float(np.mean(np.clip(np.log(lnf) / math.log(lnf_final), 0.0, 1.0)))
            frac = conv if time_limit is None else max(conv, (time.perf_counter() - t0) / time_limit)
            bar.n = min(100, int(100 * frac))
            bar.set_postfix(lnf=f"{lnf.max():.1e}", sweeps=f"{st.walker_w['attempts'].sum() / N:.3g}",
                            E_min=f"{st.walker_w['E'].min():.6g}", refresh=False)
            bar.refresh()
    finally:
        bar.close()


def _verify(st: WLState, a: Arrays, sample: int = 4) -> tuple[float, float]:
    """Max |h - fresh h| and |E - fresh E| over up to ``sample`` windows: the drift of the bookkeeping.

    Each check costs a pass over all couplings per window, so a few windows are checked (rotating from one
    checkpoint to the next; all windows drift alike). Fields are float64 updated by exact +-2 J, so the drift
    stays ~1e-12 (tested); should it ever exceed ``RESYNC`` relative to the mean |h|, the fresh fields and
    energies replace the running ones (counted in ``info.resyncs``). ``info.field_drift`` keeps the
    largest drift seen.
    """
    W = st.n_windows
    start = st.info.verified
    idx = np.unique((start + np.arange(min(sample, W)) * max(1, W // sample)) % W)
    st.info.verified = start + 1
    spins_wi = st.spins_wi[idx]
    fresh = np.empty(spins_wi.shape)
    fields_many(spins_wi, fresh, a.buffer, a.sizes, a.bond_off, a.spin_off)
    E_fresh = -0.5 * np.einsum("wi,wi->w", spins_wi.astype(np.float64), fresh)
    dh = float(np.abs(fresh - st.h_wi[idx]).max())
    dE = float(np.abs(E_fresh - st.walker_w["E"][idx]).max())
    st.info.field_drift = max(st.info.field_drift, dh)
    if dh > RESYNC * max(float(np.abs(fresh).mean()), 1e-300):
        st.h_wi[idx] = fresh
        st.walker_w["E"][idx] = E_fresh
        st.info.resyncs += 1
    return dh, dE
