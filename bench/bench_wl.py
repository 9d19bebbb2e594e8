"""Benchmarks of the Wang-Landau sampler (issue 3, item 7): speed on MiniLM and accuracy against exact g(E).

Each ratio is measured in one process, back to back:

- **Memory read bandwidth**: a numba (fastmath, vectorised) sum over a 512 MiB float32 array, single thread and
  all threads; five runs before and five after the speed runs, and one all-thread run before each interleaved
  round; the best of all taken as the machine's bandwidth.
- **Attempts per second on MiniLM**: the same windows, the same start (spins, fields, ln g after a warm-up
  run) and the same random streams advanced by (a) our kernel, which keeps every local field (dE = 2 s_i h_i,
  an accepted flip streams the spin's record: its two rows of couplings, stored together), and (b) the
  authors' scheme, which recomputes h_i from its fan-in and fan-out at every attempt (row of J_l, strided
  column of J_{l-1}); (c) the same with the transposed copy (contiguous column). Same trajectory, hence the
  same energy range and acceptance rate: the ratio is the cost per attempt. Interleaved runs compare our
  kernel with itself on the rows layout and with immediate field updates.
- **Couplings streamed by accepted flips** (4 bytes x row lengths of every accepted flip, counted by the
  kernel) per second, against the measured all-thread read bandwidth.
- **Accuracy**: a width-8, 200-spin layered network with +-1 couplings (exact g(E) by the transfer matrix),
  Wang-Landau for 60 s on all cores; mean and max |ln g_WL - ln g_exact| over every energy level.
- **MiniLM under a time limit**: the default run for 60 s, twice (seeds 0 and 1): the seed-to-seed spread of
  ln g / N and the diagnostics in the header. The spread is a lower bound on the error of so short a run (a
  60 s and a 240 s run differed by ~15x more, README). Once more with ``run_length=16``
  (runs of consecutive spins), compared with seed 0 the same way.
- **Runs of consecutive spins** (``run_length=16``): speed and streamed couplings in the interleaved runs,
  accuracy against the exact g(E) as above.

Run: ``python -m bench.bench_wl``.
"""

from __future__ import annotations

import time

import numba as nb
import numpy as np

from bench.limits import Stream, run_time, write_limits
from ising_nn.kernels.layout import _add_spin
from ising_nn.kernels.prefetch import prefetch
from ising_nn.model.couplings import Couplings
from ising_nn.testing.exact import bin_levels, transfer_matrix_dos
from ising_nn.wanglandau.checkpoint import load_state
from ising_nn.wanglandau.kernels import (
    MODE_FIELDS,
    MODE_IMMEDIATE,
    MODE_RECOMPUTE,
    MODE_RECOMPUTE_T,
    wl_chunk,
)
from ising_nn.wanglandau.run import wang_landau
from ising_nn.wanglandau.state import Arrays, setup_state

__all__ = ["run", "bandwidth", "minilm_speed", "accuracy", "accuracy_network", "errors", "minilm_dos"]

#: The run length measured besides the default 1 (``wang_landau(..., run_length=16)``).
RUN_LENGTH = 16


@nb.njit(cache=True, fastmath=True)
def _sum(x):
    s = np.float32(0.0)
    for i in range(x.size):
        s += x[i]
    return s


@nb.njit(cache=True, parallel=True)
def _psum(x, parts):
    n = x.size
    out = np.zeros(parts)
    for p in nb.prange(parts):
        out[p] = _sum(x[p * n // parts : (p + 1) * n // parts])
    return out.sum()


def bandwidth(mib: int = 512, repeats: int = 5) -> dict:
    """Read bandwidth samples in GB/s of a float32 sum over ``mib`` MiB: one thread and all numba threads.

    Returns lists of ``repeats`` samples under "one thread", "all threads" and "all threads (cpu time)" (bytes
    per CPU second of each thread: on a shared machine a descheduled thread stalls the wall clock but not its
    CPU clock). :func:`summary` turns samples from several calls into the median and the best.
    """
    x = np.ones(mib * (1 << 20) // 4, dtype=np.float32)
    _sum(x[:16])
    _psum(x[:64], nb.get_num_threads())
    out: dict = {"one thread": [], "all threads": [], "all threads (cpu time)": []}
    threads = nb.get_num_threads()
    for _ in range(repeats):
        t = time.perf_counter()
        _sum(x)
        out["one thread"].append(x.nbytes / (time.perf_counter() - t) / 1e9)
        t, c = time.perf_counter(), time.process_time()
        _psum(x, threads)
        out["all threads"].append(x.nbytes / (time.perf_counter() - t) / 1e9)
        out["all threads (cpu time)"].append(x.nbytes / ((time.process_time() - c) / threads) / 1e9)
    return out


def summary(*samples: dict) -> dict:
    """Median and best (``"<key> best"``) of every key over the samples of several :func:`bandwidth` calls.

    The best is the machine's capability (a busy neighbour only ever lowers a sample), so the ratios of the
    benchmark are taken against it: the conservative choice. The median is quoted beside it.
    """
    out = {}
    for k in samples[0]:
        v = [x for s in samples for x in s[k]]
        out[k] = float(np.median(v))
        out[k + " best"] = float(np.max(v))
        out["n"] = len(v)
    return out


@nb.njit(cache=True, fastmath=True)
def _rows(gs, up, down, table, sizes, spin_off, layer_idx):
    # the reads of a flip of each spin in gs (its down row, then its up row), without the field updates
    tot = np.float32(0.0)
    n_mat = sizes.shape[0] - 1
    for g in gs:
        l = layer_idx[g]
        i = g - spin_off[l]
        if l > 0:
            r = table[l, 2] + i * table[l, 3]
            v = down[r : r + sizes[l - 1]]
            for k in range(v.size):
                tot += v[k]
        if l < n_mat:
            r = table[l, 0] + i * table[l, 1]
            v = up[r : r + sizes[l + 1]]
            for j in range(v.size):
                tot += v[j]
    return tot


@nb.njit(cache=True, parallel=True)
def _rows_parallel(gs, parts, up, down, table, sizes, spin_off, layer_idx):
    n = gs.size
    out = np.zeros(parts)
    for p in nb.prange(parts):
        out[p] = _rows(gs[p * n // parts : (p + 1) * n // parts], up, down, table, sizes, spin_off, layer_idx)
    return out.sum()


def _random_spins_bytes(a, n: int):
    """``n`` random spins (fixed seed) and the bytes of couplings their flips read (4 x fan-in + fan-out)."""
    gs = np.random.default_rng(0).integers(0, a.layer_idx.size, n)
    l = a.layer_idx[gs]
    n_mat = a.sizes.size - 1
    fan = np.where(l < n_mat, a.sizes[np.minimum(l + 1, n_mat)], 0) + np.where(l > 0, a.sizes[np.maximum(l - 1, 0)], 0)
    return gs, 4.0 * fan.sum()


def _gbs(run, nbytes: float, threads: int) -> dict:
    """GB/s of ``run()`` reading ``nbytes``: wall clock and per CPU-second of each thread, the best of 3 (a
    ceiling: the higher it is measured, the more conservative the kernel's share of it)."""
    ts, cs = [], []
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        run()
        ts.append(time.perf_counter() - t)
        cs.append((time.process_time() - c) / threads)
    return {"wall": nbytes / float(np.min(ts)) / 1e9, "cpu": nbytes / float(np.min(cs)) / 1e9}


def row_bandwidth(a, n: int = 2_000_000) -> dict:
    """GB/s of reading the two coupling rows of random spins (a flip's reads, no updates), all threads."""
    gs, nbytes = _random_spins_bytes(a, n)
    args = a.args()
    threads = nb.get_num_threads()
    _rows_parallel(gs[:100], threads, *args)
    return _gbs(lambda: _rows_parallel(gs, threads, *args), nbytes, threads)


#: Floats of each row of the next flip that the bare flips prefetch (what the kernel did until 2026-11-24,
#: kept so that the bare flips stay comparable with earlier runs).
BARE_PREFETCH = 512


@nb.njit(cache=True, inline="always")
def _prefetch_spin(g, n_floats, layer_idx, up, down, table, sizes, spin_off):
    # the first n_floats of each row the flip of spin g reads (every 16 floats: a 64-byte cache line)
    l = layer_idx[g]
    i = g - spin_off[l]
    if l > 0:
        r = table[l, 2] + i * table[l, 3]
        for q in range(0, min(sizes[l - 1], n_floats), 16):
            prefetch(down, r + q)
    if l < sizes.shape[0] - 1:
        r = table[l, 0] + i * table[l, 1]
        for q in range(0, min(sizes[l + 1], n_floats), 16):
            prefetch(up, r + q)


@nb.njit(cache=True)
def _flips(gs, s, h, up, down, table, sizes, spin_off, layer_idx):
    # the kernel's own flips (both rows read, both layers' fields updated) of the spins in gs, nothing else;
    # the first floats of the next flip's rows are prefetched before this one's are streamed
    for t in range(gs.size):
        if t + 1 < gs.size:
            _prefetch_spin(gs[t + 1], BARE_PREFETCH, layer_idx, up, down, table, sizes, spin_off)
        g = gs[t]
        d = -2.0 * s[g]
        s[g] = -s[g]
        _add_spin(g, layer_idx[g], d, up, down, table, sizes, spin_off, h)


@nb.njit(cache=True, parallel=True)
def _flips_parallel(gs, S, H, up, down, table, sizes, spin_off, layer_idx):
    n = gs.size
    parts = S.shape[0]
    for p in nb.prange(parts):
        _flips(gs[p * n // parts : (p + 1) * n // parts], S[p], H[p], up, down, table, sizes, spin_off, layer_idx)


def flip_bandwidth(a, n: int = 2_000_000) -> dict:
    """GB/s of couplings read by the bare flips of random spins (rows read, fields updated), all threads.

    One spin and field vector per thread (as the windows have); the same random spins as :func:`row_bandwidth`.
    """
    gs, nbytes = _random_spins_bytes(a, n)
    threads = nb.get_num_threads()
    S = np.ones((threads, a.layer_idx.size), dtype=np.int8)
    H = np.zeros((threads, a.layer_idx.size))
    args = a.args()
    _flips_parallel(gs[:100], S, H, *args)
    return _gbs(lambda: _flips_parallel(gs, S, H, *args), nbytes, threads)


def _snapshot(st):
    names = ("spins_wi", "h_wi", "ln_g_b", "hist_b", "visited_b", "counts_bd", "rng_w", "walker_w")
    return {k: getattr(st, k).copy() for k in names}


def _restore(st, snap):
    for k, v in snap.items():
        setattr(st, k, v.copy())


def _interleaved(st, snap, variants: dict, n: int, repeats: int = 5, probe=None) -> dict:
    """Attempts/s (median of ``repeats``) of each variant ``label -> (Arrays, mode, run length)``, run in turn
    from the same state ``snap``, and whether the variants of each run length end in the same spins, fields and
    ln g (run lengths differ: another walk). ``"round_gbs"``: GB/s of couplings streamed by accepted flips, per
    run.

    ``probe()``, if given, returns a read-bandwidth sample (GB/s), taken just before each round of variants:
    ``"probe"`` lists them and ``"round_rates"`` the rates of every round, to pair each run with the
    bandwidth of its moment (the machine's load drifts).
    """
    W = st.n_windows
    threads = nb.get_num_threads()
    rates = {k: [] for k in variants}
    cpu_rates = {k: [] for k in variants}
    gbs = {k: [] for k in variants}
    samples = []
    final = {}
    for _ in range(repeats):
        if probe is not None:
            samples.append(probe())
        for label, (a, mode, run) in variants.items():
            _restore(st, snap)
            st.cfg["mode"] = mode
            st.cfg["run_length"] = run
            i0 = st.walker_w.copy()
            t, c = time.perf_counter(), time.process_time()
            wl_chunk(np.full(W, n, np.int64), *st.kernel_args(), *a.args(), st.settings)
            dt = time.perf_counter() - t
            att, read = ((st.walker_w[f] - i0[f]).sum() for f in ("attempts", "couplings_read"))
            rates[label].append(att / dt)
            cpu_rates[label].append(att / ((time.process_time() - c) / threads))
            gbs[label].append(4.0 * read / dt / 1e9)
            final[label] = (run, st.spins_wi.copy(), st.h_wi.copy(), st.ln_g_b.copy())
    st.cfg["mode"] = MODE_FIELDS
    st.cfg["run_length"] = 1
    same = all(np.array_equal(x, y) for f in final.values() for g in final.values() if f[0] == g[0]
               for x, y in zip(f[1:], g[1:]))
    return dict(rates={k: float(np.median(v)) for k, v in rates.items()},
                cpu_rates={k: float(np.median(v)) for k, v in cpu_rates.items()}, same=same, repeats=repeats,
                attempts=int(n * W), probe=samples, round_rates=rates, round_gbs=gbs)


def minilm_speed(warm: float = 15.0, n_base: int = 20_000, n_ours: int = 400_000) -> dict:
    """Attempts/s of our kernel and of the recompute baselines from one MiniLM state (see module docstring)."""
    from ising_nn.model.load import load_couplings

    c = load_couplings("minilm")
    a = Arrays.of(c, "records")  # ours; the authors' baselines read the rows (the same walk, tested)
    a_rows = Arrays.of(c, "rows")
    threads = nb.get_num_threads()
    st = setup_state(c, a, bin_width=None, bins=400, seed=0, windows=2 * threads, threads=threads, overlap=0.3,
                     flatness=0.8, ln_f_final=1e-10, symmetric=True, margin=0.25, start_spins=None, restarts=4)
    W = st.n_windows
    t_end = time.perf_counter() + warm  # warm-up: windows walk into their ranges, ln g adapts
    while time.perf_counter() < t_end:
        wl_chunk(np.full(W, 20_000, np.int64), *st.kernel_args(), *a.args(), st.settings)
    snap = _snapshot(st)
    res = {}
    for label, arrays, mode, n in (("ours", a, 0, n_base), ("authors", a_rows, MODE_RECOMPUTE, n_base),
                                   ("authors + transposed copy", a_rows, MODE_RECOMPUTE_T, n_base),
                                   ("ours, long run", a, 0, n_ours)):
        _restore(st, snap)
        st.cfg["mode"] = mode
        i0 = st.walker_w.copy()
        t, c0 = time.perf_counter(), time.process_time()
        wl_chunk(np.full(W, n, np.int64), *st.kernel_args(), *arrays.args(), st.settings)
        dt, cpu = time.perf_counter() - t, (time.process_time() - c0) / threads
        att = int((st.walker_w["attempts"] - i0["attempts"]).sum())
        acc = int((st.walker_w["accepted"] - i0["accepted"]).sum())
        read = int((st.walker_w["couplings_read"] - i0["couplings_read"]).sum())
        res[label] = dict(seconds=dt, cpu=cpu, attempts=att, rate=att / dt, cpu_rate=att / cpu, acceptance=acc / att,
                          bytes=4 * read,
                          spins=st.spins_wi.copy() if n == n_base else None)
    variants = {"records, deferred": (a, MODE_FIELDS, 1),
                "records, immediate": (a, MODE_IMMEDIATE, 1),
                "rows, deferred": (a_rows, MODE_FIELDS, 1),
                "records, runs": (a, MODE_FIELDS, RUN_LENGTH)}
    x = np.ones(512 * (1 << 20) // 4, dtype=np.float32)  # the bandwidth probe of bandwidth(), one sample
    _psum(x[:64], threads)

    def probe():
        t = time.perf_counter()
        _psum(x, threads)
        return x.nbytes / (time.perf_counter() - t) / 1e9

    inter = _interleaved(st, snap, variants, n_ours, repeats=7, probe=probe)
    ceilings = {lay: dict(rows=row_bandwidth(x), flips=flip_bandwidth(x)) for lay, x in (("records", a),
                                                                                         ("rows", a_rows))}
    same = all(np.array_equal(res["ours"]["spins"], res[k]["spins"]) for k in ("authors", "authors + transposed copy"))
    # The interleaved records/deferred runs repeat the long run exactly (same state, attempts and walk, so the
    # same couplings read): its bytes over their median time, a steadier figure than one run.
    ours = res["ours, long run"]
    per_attempt = ours["bytes"] / ours["attempts"]
    rate, cpu_rate = inter["rates"]["records, deferred"], inter["cpu_rates"]["records, deferred"]
    streams = {}
    for order, label in (("random", "records, deferred"), ("runs", "records, runs")):
        gbs = np.array(inter["round_gbs"][label])
        paired = gbs / np.array(inter["probe"])
        streams[order] = dict(GBs=float(np.median(gbs)), paired=float(np.median(paired)),
                              paired_range=(float(paired.min()), float(paired.max())))
    return dict(res=res, ceilings=ceilings, same_trajectory=same, inter=inter, windows=W, threads=threads,
                n_spins=c.n_spins,
                n_bonds=c.n_bonds,
                stream_GBs=per_attempt * rate / 1e9, stream_cpu_GBs=per_attempt * cpu_rate / 1e9,
                streams=streams,
                flips_per_s=rate * ours["acceptance"], bytes_per_flip=per_attempt / ours["acceptance"])


def accuracy_network(width: int = 8, spins: int = 200, seed: int = 0) -> Couplings:
    """Layers of ``width`` spins, +-1 couplings: an exactly solvable (transfer-matrix) spin glass."""
    rng = np.random.default_rng(seed)
    n = spins // width
    pm1 = np.array([-1, 1], np.float32)
    return Couplings.from_matrices([rng.choice(pm1, size=(width, width)) for _ in range(n - 1)])


def accuracy(seconds: float = 60.0, seed: int = 0, checkpoint=None, run_length: int = 1) -> dict:
    """Mean and max |d ln g| over all levels after ``seconds`` of Wang-Landau on all cores (both estimators
    with a ``checkpoint``, else the default one)."""
    c = accuracy_network()
    exact = transfer_matrix_dos(c)
    spacing = float(np.min(np.diff(exact.E)))
    t = time.perf_counter()
    d = wang_landau(c, bin_width=spacing, seed=seed, time_limit=seconds, progress=False, checkpoint=checkpoint,
                    run_length=run_length)
    wall = time.perf_counter() - t
    out = dict(n_spins=c.n_spins, levels=int(exact.E.size), seconds=wall, header=d.header)
    runs = {"tm": d}
    if checkpoint is not None:  # the same run through the other estimator
        from ising_nn.wanglandau.join import estimate

        e = estimate(load_state(checkpoint, c), c.n_spins, "wl")
        runs["wl"] = e
    for name, r in runs.items():
        diff, missing = errors(exact, r, spacing)
        out[name] = dict(mean=float(np.nanmean(np.abs(diff))), max=float(np.nanmax(np.abs(diff))), missing=missing)
    return out


def errors(exact, d, spacing: float) -> tuple[np.ndarray, int]:
    """``ln g_WL - ln g_exact`` at each of ``d``'s bins (NaN where the exact g has no level) and the number of
    exact levels that ``d`` has no bin for."""
    E_b, g_b = bin_levels(exact, d.E_k, spacing)
    ex = dict(zip(np.round(E_b, 6), g_b))
    diff = np.array([g - ex.get(round(e, 6), np.nan) for e, g in zip(d.E_k, d.ln_g_k)])
    return diff, int(E_b.size - np.isfinite(diff).sum())


def minilm_dos(seconds: float = 60.0, seeds=(0, 1)) -> dict:
    """MiniLM DOS under a time limit, twice (two seeds): the seed-to-seed spread (a lower bound on the error);
    and once more in runs of :data:`RUN_LENGTH` spins (seed 0), under ``"runs"``."""
    from ising_nn.model.load import load_couplings

    c = load_couplings("minilm")
    runs = [wang_landau(c, time_limit=seconds, seed=s, progress=False) for s in seeds]
    seq = wang_landau(c, time_limit=seconds, seed=seeds[0], progress=False, run_length=RUN_LENGTH)
    out = dict(N=c.n_spins, runs=runs, in_runs=seq)
    out.update(_spread(runs[0], runs[1]))
    out["runs_vs_random"] = _spread(runs[0], seq)
    return out


def _spread(a, b) -> dict:
    """|ln g / N| differences of DOS ``b`` interpolated onto the bins of ``a`` within its range: mean, max, and
    max between the higher of the two E_flat_min and its mirror image."""
    # the grids differ (each run bins from its own lowest energy)
    inside = (a.E_k >= b.E_min) & (a.E_k <= b.E_max)
    d = a.ln_g_per_spin_k[inside] - np.interp(a.E_k[inside], b.E_k, b.ln_g_per_spin_k)
    e_flat = max(float(a.header["E_flat_min"]), float(b.header["E_flat_min"]))
    E_in = a.E_k[inside]
    upper = (E_in >= e_flat) & (E_in <= -e_flat)
    return dict(common=int(inside.sum()), max=float(np.abs(d).max()), mean=float(np.abs(d).mean()),
                max_flat=float(np.abs(d[upper]).max()) if upper.any() else float("nan"))


def run(accuracy_seconds: float = 60.0, minilm_seconds: float = 60.0) -> str:
    """Measure and return the markdown section."""
    import tempfile
    from pathlib import Path

    before = bandwidth()
    sp = minilm_speed()
    bw = summary(before, bandwidth())  # before and after the speed runs: the machine's load changes
    with tempfile.TemporaryDirectory() as tmp:
        acc = accuracy(accuracy_seconds, checkpoint=Path(tmp) / "acc.npz")
    acc_seq = accuracy(accuracy_seconds, run_length=RUN_LENGTH)
    md = minilm_dos(minilm_seconds)
    r = sp["res"]
    base = r["authors"]["rate"]
    lines = [
        "## Wang-Landau: speed on MiniLM",
        "",
        f"MiniLM couplings: {sp['n_spins']:,} spins, {sp['n_bonds']:,} bonds; {sp['windows']} windows on "
        f"{sp['threads']} threads, every kernel from the same state (after a 15 s warm-up) with the same random "
        "streams, so the walks coincide until a rounding difference of the baseline's float32 sums flips one "
        f"decision (identical final spins: {sp['same_trajectory']}); the acceptance rates show the same range.",
        "",
        "| kernel | attempts | seconds | attempts/s | attempts per CPU-s | acceptance | speed-up vs authors |",
        "|---|---|---|---|---|---|---|",
    ]
    for k in ("authors", "authors + transposed copy", "ours", "ours, long run"):
        v = r[k]
        lines.append(f"| {k} | {v['attempts']:,} | {v['seconds']:.3f} | {v['rate']:,.0f} | {v['cpu_rate']:,.0f} "
                     f"| {v['acceptance']:.3f} | {v['rate'] / base:.1f}x (per CPU-s "
                     f"{v['cpu_rate'] / r['authors']['cpu_rate']:.1f}x) |")
    it = sp["inter"]
    ir = it["rates"]
    # The probes of the interleaved rounds are the same all-thread sum: the best of every sample is the ceiling
    # (on a quiet machine the probes have come out above every sample of bandwidth(), 31 against 26 GB/s).
    best = max(bw["all threads best"], *it["probe"])
    ceil = sp["ceilings"]
    rnd = sp["streams"]["random"]
    lines += [
        "",
        f"The same kernel four ways, {it['repeats']} interleaved runs of {it['attempts']:,} attempts each from the "
        f"same state (medians; identical final spins, fields and ln g within each run length: {it['same']}):",
        "",
        "| spins proposed | couplings layout | field updates | attempts/s | ratio |",
        "|---|---|---|---|---|",
        f"| random (default) | records (ours) | deferred (ours) | {ir['records, deferred']:,.0f} | 1 |",
        f"| random | records | at once (`MODE_IMMEDIATE`) | {ir['records, immediate']:,.0f} | "
        f"{ir['records, deferred'] / ir['records, immediate']:.2f}x slower |",
        f"| random | rows (a transposed copy) | deferred | {ir['rows, deferred']:,.0f} | "
        f"{ir['records, deferred'] / ir['rows, deferred']:.2f}x slower |",
        f"| runs of {RUN_LENGTH} (`run_length={RUN_LENGTH}`) | records | at once, nothing prefetched | "
        f"{ir['records, runs']:,.0f} | {ir['records, runs'] / ir['records, deferred']:.2f}x faster |",
        "",
        f"Runs: a random spin, then the {RUN_LENGTH - 1} spins after it in memory order, so consecutive flips read "
        "consecutive records (another walk with the same stationary weights, hence not the same trajectory; "
        "accuracy below).",
        "",
        "Deferred: an accepted flip's field update is applied when the next flip is accepted, its rows prefetched "
        "piece by piece over the attempts meanwhile. Records: each spin's two rows of couplings stored together, "
        "so a flip reads one contiguous block instead of two (`ising_nn/kernels/layout.py`).",
        "",
        f"Memory read bandwidth (numba float32 sum over 512 MiB, {bw['n']} runs before and after the speed runs): "
        f"one thread median {bw['one thread']:.1f} GB/s, best {bw['one thread best']:.1f}; all threads median "
        f"{bw['all threads']:.1f} GB/s, best {bw['all threads best']:.1f}; best of these and of the "
        f"{len(it['probe'])} all-thread samples taken between the interleaved rounds (below) {best:.1f} "
        "(per CPU-second of each thread: "
        f"{bw['all threads (cpu time)']:.1f}, best {bw['all threads (cpu time) best']:.1f}). On this shared "
        "machine a busy neighbour only lowers a sample, so the best is taken as the machine's bandwidth and every "
        "percentage below is against it (against the median in brackets).",
        "",
        f"Couplings streamed by accepted flips (4 bytes x the two row lengths, counted by the kernel in the long "
        f"run, over the median time of its {it['repeats']} interleaved repeats, records/deferred above): "
        f"**{sp['stream_GBs']:.2f} GB/s = {100 * sp['stream_GBs'] / best:.0f}%** of the all-thread "
        f"bandwidth ({100 * sp['stream_GBs'] / bw['all threads']:.0f}%; per CPU-second: "
        f"{sp['stream_cpu_GBs']:.2f} GB/s = {100 * sp['stream_cpu_GBs'] / bw['all threads (cpu time) best']:.0f}%); "
        f"{sp['flips_per_s']:,.0f} accepted flips/s x {sp['bytes_per_flip']:,.0f} bytes each. "
        "Paired with the bandwidth of its moment (one all-thread sample taken just before each repeat, so that "
        "both see the same load): median **"
        f"{100 * rnd['paired']:.0f}%** (range {100 * rnd['paired_range'][0]:.0f}-{100 * rnd['paired_range'][1]:.0f}%; "
        f"samples {', '.join(f'{b:.1f}' for b in it['probe'])} GB/s).",
        "",
        f"In runs of {RUN_LENGTH} (the same interleaved rounds, its own bytes over its own time): "
        f"**{sp['streams']['runs']['GBs']:.2f} GB/s = {100 * sp['streams']['runs']['GBs'] / best:.0f}%** "
        f"of the best bandwidth ({100 * sp['streams']['runs']['GBs'] / bw['all threads']:.0f}% of the median); "
        f"paired median **{100 * sp['streams']['runs']['paired']:.0f}%** (range "
        f"{100 * sp['streams']['runs']['paired_range'][0]:.0f}-"
        f"{100 * sp['streams']['runs']['paired_range'][1]:.0f}%). Random spins, measured the same way: "
        f"{sp['streams']['random']['GBs']:.2f} GB/s, paired median {100 * sp['streams']['random']['paired']:.0f}%.",
        "",
        "What limits it: the same reads and flips without the Wang-Landau walk, for 2,000,000 random spins on all "
        "threads (GB/s of couplings, wall clock; % of the best sequential bandwidth):",
        "",
        "| work per random spin | records layout | rows layout |",
        "|---|---|---|",
    ]
    for key, label in (("rows", "read its two rows (a sum, no updates)"),
                       ("flips", "flip it: read its rows, update the two layers' float64 fields, prefetch the "
                                 "next spin's rows (the kernel's own flip)")):
        cells = [f"{ceil[x][key]['wall']:.2f} ({100 * ceil[x][key]['wall'] / best:.0f}%)" for x in ("records", "rows")]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    flips = ceil["records"]["flips"]["wall"]
    rows_GBs = sp["stream_GBs"] * ir["rows, deferred"] / ir["records, deferred"]  # the same bytes, its own time
    lines += [
        f"| the Wang-Landau kernel (median of the interleaved runs) | {sp['stream_GBs']:.2f} "
        f"({100 * sp['stream_GBs'] / best:.0f}%) | {rows_GBs:.2f} ({100 * rows_GBs / best:.0f}%) |",
        "",
        f"The kernel streams at {100 * sp['stream_GBs'] / flips:.0f}% of what its flips alone allow; the rest of its "
        f"time goes to the attempts (acceptance {r['ours, long run']['acceptance']:.2f}: "
        f"{1 / r['ours, long run']['acceptance']:.2f} attempts per flip, each a random draw, a bin lookup, a "
        "proposal count and the prefetch of a piece of the pending flip's rows). The flips themselves fall short "
        "of the reads alone by the field updates, though not by their bytes: float32 fields (half the bytes, inexact) "
        "flipped no faster, 0.93-1.04x per repeat in one process (2026-11-23, outside this bench). The update "
        "loop (load, convert, add, store per coupling) keeps fewer cache lines in flight than a bare sum. What "
        "does help is reading consecutive records: the runs of consecutive spins above.",
        "",
        "## Wang-Landau: accuracy against the exact g(E)",
        "",
        f"Width-8 layered network, {acc['n_spins']} spins, +-1 couplings, exact g(E) by the transfer matrix "
        f"({acc['levels']} levels); Wang-Landau with the bin width = level spacing, time limit "
        f"{accuracy_seconds:g} s (wall {acc['seconds']:.1f} s), {acc['header']['threads']} threads, "
        f"{acc['header']['windows']} windows, {acc['header']['sweeps']} sweeps, final ln f "
        f"{acc['header']['ln_f_final']}.",
        "",
        "| run length | estimator | sweeps | mean abs d ln g | max abs d ln g | levels missed | symmetry error "
        "| target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for x, order in ((acc, "1 (default)"), (acc_seq, str(RUN_LENGTH))):
        for k, label in (("tm", "transition matrix (default)"), ("wl", "WL windows joined")):
            if k in x:
                v = x[k]
                lines.append(f"| {order} | {label} | {x['header']['sweeps']} | {v['mean']:.4f} | {v['max']:.4f} "
                             f"| {v['missing']} | {x['header']['symmetry_error']} | <= 0.03 / <= 0.3 |")
    lines.append("")
    lines.append("Symmetry error: max over mirrored sampling bins; replica-exchange acceptance "
                 f"{acc['header']['exchange_acceptance']} (run length 1).")
    h = md["runs"][0].header
    N = md["N"]
    lines += [
        "",
        "## Wang-Landau: MiniLM under a time limit",
        "",
        f"`wang_landau(load_couplings('minilm'), time_limit={minilm_seconds:g})` with the defaults ({h['windows']} "
        f"windows, {md['runs'][0].E_k.size} output bins of width {float(h['bin_width']):.1f}, sampling bins "
        f"{float(h['sampling_bin_width']):.2f}), seeds 0 and 1:",
        "",
        "| seed | sweeps | final ln f (max) | windows flat once | E_min / N | E_flat_min / N | E_descent / N "
        "| symmetry error | TM chi2 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in [*md["runs"], md["in_runs"]]:
        g = r.header
        seq = f" (runs of {g['run_length']})" if int(g["run_length"]) > 1 else ""
        lines.append(f"| {g['seed']}{seq} | {g['sweeps']} | {g['ln_f_final']} | {g['flat_windows']} "
                     f"| {float(g['E_min']) / N:.4f} | {float(g['E_flat_min']) / N:.4f} "
                     f"| {float(g['E_descent']) / N:.4f} | {g['symmetry_error']} | {g['tm_chi2']} |")
    lines += [
        "",
        f"Seed-to-seed difference of ln g / N (seed 1 interpolated onto the {md['common']} bins of seed 0 "
        f"within its range): mean {md['mean']:.2e}, max {md['max']:.2e} (max {md['max_flat']:.2e} between "
        "E_flat_min and -E_flat_min). Below E_flat_min (the lowest window "
        "that passed a flatness test) the walk has not gone back and forth yet: that tail is a first estimate.",
        "",
        f"Runs of {RUN_LENGTH} against random spins, both seed 0 (the same comparison): mean "
        f"{md['runs_vs_random']['mean']:.2e}, max {md['runs_vs_random']['max']:.2e} (max "
        f"{md['runs_vs_random']['max_flat']:.2e} between E_flat_min and -E_flat_min).",
        "",
        "Where the wall time of these runs went (the timings of their headers; Python: the driver between kernel "
        "chunks, its range extension and progress bar):",
        "",
        "| seed | wall (s) | set-up | numba kernels | Python between chunks | final check + estimate "
        "| attempts/s in the kernels |",
        "|---|---|---|---|---|---|---|",
    ]
    times = []
    for r in [*md["runs"], md["in_runs"]]:
        g = r.header
        seq = f" (runs of {g['run_length']})" if int(g["run_length"]) > 1 else ""
        t = run_time(f"seed {g['seed']}{seq}", g)
        times.append(t)
        wall = float(g["time"])
        lines.append(f"| {g['seed']}{seq} | {wall:.1f} | {t.setup:.2f} s ({100 * t.setup / wall:.1f}%) "
                     f"| {t.kernels:.2f} s ({100 * t.kernels / wall:.1f}%) "
                     f"| {t.python:.2f} s ({100 * t.python / wall:.2f}%) "
                     f"| {t.estimate:.2f} s ({100 * t.estimate / wall:.1f}%) "
                     f"| {int(g['attempts']) / t.kernels:,.0f} |")
    streams = [
        Stream("random records: read only", ceil["records"]["rows"]["wall"]),
        Stream("random records: bare flips", flips),
        Stream("Wang-Landau, random spins (default)", sp["stream_GBs"]),
        Stream("Wang-Landau, random spins, rows layout", rows_GBs),
        Stream(f"Wang-Landau, runs of {RUN_LENGTH}", sp["streams"]["runs"]["GBs"]),
    ]
    png = write_limits(streams, best, bw["all threads"], times,
                       title=f"make bench, {time.strftime('%Y-%m-%d %H:%M')}: MiniLM couplings, "
                             f"{sp['threads']} threads")
    lines += [
        "",
        f"Figure: `bench/{png.name}` (left: these streams against the read bandwidth; right: these wall times).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(run())
