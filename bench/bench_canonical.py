"""The canonical engine on MiniLM: speed against Wang-Landau and the machine's sgemm rate, time to an
accurate C(T), and the lowest temperature at which hot and cold starts agree.

``python -m bench.bench_canonical`` writes ``bench/CANONICAL.md``; ``make bench`` runs it too. Every ratio is
measured in this one process. Sections:

1. seconds per replica-sweep (every layer drawn once, batched over R replicas) against seconds per
   Wang-Landau sweep (N single-spin attempts of one walker, :func:`bench.bench_scaling.measure`);
2. the matrix products of a sweep alone, in GFLOP/s, against a square float32 matrix product of torch
   (this machine's sgemm rate) timed just before;
3. ``canonical_thermo`` on trained and shuffled MiniLM as ``make figures`` runs it (1,000 sweeps, T from 1 to
   10, cold start from a fresh anneal): wall time, the largest relative error of C(T) over the equilibrated
   grid, the time that error extrapolates to for +-2 % (errors fall as 1/sqrt(sweeps)), and the lowest
   temperature at which the hot and cold starts agree.
"""

from __future__ import annotations

import datetime
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ising_nn._version import __version__
from ising_nn.results.textfile import atomic_path

OUT = Path(__file__).resolve().parent / "CANONICAL.md"


def sgemm_gflops(n: int = 2048, repeats: int = 7) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / statistics.median(times) / 1e9


def sweep_speed(c, R: int, precision: str, repeats: int = 5) -> dict:
    """Median seconds of a full sweep of R replicas, and of its matrix products alone."""
    from ising_nn.canonical import LayerChains

    rng = np.random.default_rng(0)
    ch = LayerChains(c, rng.choice(np.array([-1, 1], np.int8), (R, c.n_spins)), "cpu", 0, precision)
    products = ch._digit_products if ch.precision == "int8x3" else ch.field
    beta = torch.linspace(0.05, 1.0, R)[:, None]
    ch.half_sweep(0, beta), ch.half_sweep(1, beta)
    full, mm = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        ch.half_sweep(0, beta), ch.half_sweep(1, beta)
        full.append(time.perf_counter() - t)
        t = time.perf_counter()
        for l in range(len(ch.S)):
            products(l)
        mm.append(time.perf_counter() - t)
    flops = 4.0 * c.n_bonds * R  # every coupling in two products (one per half-sweep), 2 flops each
    return dict(R=R, precision=ch.precision, sweep_s=statistics.median(full), matmul_s=statistics.median(mm),
                gflops=flops / statistics.median(mm) / 1e9, gflops_sweep=flops / statistics.median(full) / 1e9)


def thermo_run(c, cold, precision: str) -> dict:
    from ising_nn.canonical import canonical_thermo

    t = time.perf_counter()
    r = canonical_thermo(c, tmin=1.0, tmax=10.0, sweeps=1000, cold_spins=cold, progress=False,
                         precision=precision)
    dt = time.perf_counter() - t
    cur = r.curve
    rel = float(np.max(cur.C_err_t / cur.C_t))
    return dict(precision=r.header["precision"], seconds=dt, rel=rel, t2=dt * (rel / 0.02) ** 2,
                T_eq=r.T_equilibrated, Tc=cur.Tc, Tc_err=cur.Tc_err, rungs=len(r.rungs.beta_k),
                acc=float(r.rungs.acceptance_k.min()), T_lo=float(cur.T_t[0]))


def run() -> str:
    from bench.bench_scaling import measure
    from ising_nn.canonical.chain import resolve_precision
    from ising_nn.model.load import load_couplings
    from ising_nn.quench.search import quench

    c = load_couplings("minilm")
    precisions = ["float32"] + (["int8x3"] if resolve_precision("auto") == "int8x3" else [])
    wl = measure("minilm", sweeps=2.0)
    gemm = sgemm_gflops()
    speeds = [sweep_speed(c, R, p) for R in (64, 256) for p in precisions]
    gemm_after = sgemm_gflops()
    lines = ["## Canonical engine on MiniLM", "",
             f"MiniLM: {c.n_spins:,} spins, {c.n_bonds:,} couplings; torch {torch.__version__}, "
             f"{torch.get_num_threads()} threads.", "",
             f"Wang-Landau: {wl['sec_per_sweep']:.4f} s per sweep (N attempts of one walker; "
             f"`bench.bench_scaling.measure`).", "",
             f"sgemm (torch, 2048 x 2048 float32, median of 7): {gemm:.1f} GFLOP/s before, {gemm_after:.1f} after.",
             f"`auto` precision here: {resolve_precision('auto')}. For int8x3 the GFLOP/s count the same useful "
             "operations as float32 (one multiply-add per coupling and replica), so its columns say how fast it "
             "gets the float32 work done, not the int8 units' own rate.", "",
             "| replicas R | precision | s per sweep (all R) | s per replica-sweep | vs a Wang-Landau sweep | "
             "matrix products GFLOP/s | % of sgemm | whole sweep GFLOP/s |", "|---|---|---|---|---|---|---|---|"]
    ref = max(gemm, gemm_after)
    for s in speeds:
        per = s["sweep_s"] / s["R"]
        lines.append(f"| {s['R']} | {s['precision']} | {s['sweep_s']:.4f} | {per:.2e} | "
                     f"{wl['sec_per_sweep'] / per:.1f}x faster | {s['gflops']:.1f} | {100 * s['gflops'] / ref:.0f}% | "
                     f"{s['gflops_sweep']:.1f} |")
    lines += ["", "Time to C(T): `canonical_thermo(c, tmin=1, tmax=10, sweeps=1000)`, cold start from a 10 s "
              "anneal (as `make figures`). The error of C is the MBAR bootstrap's; the time for +-2 % at every "
              "equilibrated temperature scales the run's wall time by (largest relative error / 0.02)^2.", "",
              "| network | precision | wall s | rungs | min swap acceptance | equilibrated down to T | "
              "largest C error | time for +-2 % | T_c |", "|---|---|---|---|---|---|---|---|---|"]
    for name, f in (("trained", 0.0), ("shuffled", 1.0)):
        cs = load_couplings("minilm", shuffle=f, seed=0)
        cold = quench(cs, "anneal", seed=0, time_limit=10).spins
        for p in precisions:
            r = thermo_run(cs, cold, p)
            lines.append(f"| {name} | {r['precision']} | {r['seconds']:.0f} | {r['rungs']} | {r['acc']:.2f} | "
                         f"{r['T_eq']:.2f} | {100 * r['rel']:.1f}% | {r['t2']:.0f} s | "
                         f"{r['Tc']:.2f} +- {r['Tc_err']:.2f} |")
    lines += ["", "Targets (issue): matrix products >= 70 % of sgemm; C(T) within +-2 % at every T in [1, 10] "
              "within 10 min on 2 cores; hot and cold starts agreeing down to T <= 1.0."]
    return "\n".join(lines) + "\n"


def main() -> int:
    t = time.perf_counter()
    host = _machine()  # before the run: its load average is the machine's, not the benchmark's own
    body = run()
    head = ["# Canonical engine benchmark", "",
            f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
            f"- command: `python -m bench.bench_canonical` (also run by `make bench`), "
            f"{time.perf_counter() - t:.0f} s in all",
            f"- machine: {host}",
            f"- python {platform.python_version()}, numpy {np.__version__}, ising-nn {__version__}", ""]
    with atomic_path(OUT) as tmp:
        tmp.write_text("\n".join(head) + "\n" + body, encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


def _machine() -> str:
    from bench.run import machine

    return machine()


if __name__ == "__main__":
    sys.exit(main())
