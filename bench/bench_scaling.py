"""Scaling of the Wang-Landau kernel: spins, bonds, memory and seconds per sweep from MiniLM to opt-1.3b size.

Each size runs in its own process (``python -m bench.bench_scaling SIZE``) so that its peak resident memory
(``ru_maxrss``) is its own. The GPT-2- and opt-1.3b-sized networks are random float32 couplings of the right
shapes (``h -> h -> h -> 4h -> h`` per block, N(0, 0.02^2)), filled in place with
``Couplings.allocate`` (no torch model). Set-up (couplings, transposed copy, descents, windows) is timed
apart from sampling; a sweep is N attempts of one walker, with one window per thread advancing in parallel.

Run: ``python -m bench.bench_scaling`` (all sizes, prints the markdown section).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numba as nb
import numpy as np

from ising_nn.model.couplings import Couplings, Provenance

__all__ = ["run", "measure", "SIZES"]

#: name -> (blocks, width); None = the bundled trained MiniLM
SIZES = {"minilm": None, "gpt2-size (12 x 768)": (12, 768), "opt-1.3b-size (24 x 2048)": (24, 2048)}


def random_network(blocks: int, width: int, seed: int = 0) -> Couplings:
    """Random couplings of a transformer stack's shapes, generated in place chunk by chunk."""
    sizes = [width]
    for _ in range(blocks):
        sizes += [width, width, 4 * width, width]
    c = Couplings.allocate(sizes, Provenance(model=f"random {blocks}x{width}", family="random",
                                             matrices_per_block=4, blocks=blocks))
    rng = np.random.default_rng(seed)
    step = 1 << 24
    for i in range(0, c.n_bonds, step):
        n = min(step, c.n_bonds - i)
        c.buffer[i : i + n] = rng.standard_normal(n, dtype=np.float32) * np.float32(0.02)
    return c


def measure(name: str, sweeps: float = 2.0) -> dict:
    """Set up and time ``sweeps`` sweeps per window for one size (run in a fresh process for the RSS)."""
    from ising_nn.wanglandau.kernels import wl_chunk
    from ising_nn.wanglandau.state import Arrays, setup_state

    t0 = time.perf_counter()
    if SIZES[name] is None:
        from ising_nn.model.load import load_couplings

        c = load_couplings("minilm")
    else:
        c = random_network(*SIZES[name])
    t_build = time.perf_counter() - t0
    threads = nb.get_num_threads()
    t1 = time.perf_counter()
    a = Arrays.of(c)
    st = setup_state(c, a, bin_width=None, bins=400, seed=0, windows=threads, threads=threads, overlap=0.3,
                     flatness=0.8, ln_f_final=1e-10, symmetric=True, margin=0.25, start_spins=None, restarts=2)
    t_setup = time.perf_counter() - t1
    W, N = st.n_windows, c.n_spins
    wl_chunk(np.full(W, 1000, np.int64), *st.kernel_args(), *a.args(), st.settings)  # compile/load
    walk = max(1, N // 2)  # walk into the windows first
    wl_chunk(np.full(W, walk, np.int64), *st.kernel_args(), *a.args(), st.settings)
    n = int(sweeps * N)
    i0 = st.walker_w.copy()
    t2, c2 = time.perf_counter(), time.process_time()
    wl_chunk(np.full(W, n, np.int64), *st.kernel_args(), *a.args(), st.settings)
    dt, cpu = time.perf_counter() - t2, (time.process_time() - c2) / threads
    att = int((st.walker_w["attempts"] - i0["attempts"]).sum())
    acc = int((st.walker_w["accepted"] - i0["accepted"]).sum())
    state = sum(x.nbytes for x in (st.spins_wi, st.h_wi, st.ln_g_b, st.hist_b, st.visited_b, st.counts_bd))
    copies = 3 if a.layout == "records" else 2  # the buffer, and the records (two copies) or one transposed copy
    return dict(name=name, n_spins=N, n_bonds=c.n_bonds, couplings_GB=copies * c.nbytes / 1e9, layout=a.layout,
                state_MB=state / 1e6,
                windows=W, threads=threads, build_s=t_build, setup_s=t_setup, sec_per_sweep=dt * W / (att / N),
                cpu_sec_per_sweep=cpu * W / (att / N), attempts_per_s=att / dt, acceptance=acc / att,
                peak_rss_GB=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9)


def run() -> str:
    """All sizes, each in a subprocess; the markdown section."""
    rows = []
    for name in SIZES:
        p = subprocess.run([sys.executable, "-m", "bench.bench_scaling", name], capture_output=True, text=True)
        if p.returncode != 0:
            rows.append(dict(name=name, error=(p.stderr.strip().splitlines() or ["failed"])[-1]))
            continue
        rows.append(json.loads(p.stdout.strip().splitlines()[-1]))
    out = [
        "## Wang-Landau: scaling",
        "",
        "One process per size (peak RSS is its own); random N(0, 0.02^2) float32 couplings of the model's shapes "
        "except MiniLM (trained). Couplings memory counts the buffer and what the flips read: in the `auto` layout "
        "of `wang_landau`, spin records (two more copies) where they fit in a quarter of this machine's memory, "
        "else one transposed copy (`ising_nn/kernels/layout.py`; the same walk either way); a sweep is N "
        "attempts of one walker, one window per thread in parallel (wall clock; CPU seconds of each thread in "
        "brackets: on a shared machine the difference is time the thread was not running).",
        "",
        "| network | spins | bonds | layout | couplings (GB) | windows' state (MB) | set-up (s) | s / sweep | "
        "attempts/s | acceptance | peak RSS (GB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['name']} | failed: {r['error']} ||||||||||")
            continue
        out.append(
            f"| {r['name']} | {r['n_spins']:,} | {r['n_bonds']:,} | {r['layout']} | {r['couplings_GB']:.2f} "
            f"| {r['state_MB']:.1f} "
            f"| {r['build_s'] + r['setup_s']:.1f} | {r['sec_per_sweep']:.3g} ({r['cpu_sec_per_sweep']:.3g}) "
            f"| {r['attempts_per_s']:,.0f} | {r['acceptance']:.2f} | {r['peak_rss_GB']:.2f} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) > 1:
        print(json.dumps(measure(sys.argv[1])))
    else:
        print(run())
