"""Anatomy of one heat-bath sweep on MiniLM (``make bench-sweep``; ``--model`` for another): the layer fields
(matrix products) against the rest, for the element-wise part done as separate torch operations (the engine
before the fused pass) and as one fused numba pass, with float32, split-bfloat16 and int8x3 fields, and the
unmeasured int8x3 sweep (two digits, the third on demand); medians of interleaved repetitions in one process,
so that the ratios share the machine's state. Writes ``bench/SWEEP.md``."""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time

import numpy as np
import torch

REPEATS = 7


def main(replicas: int = 368, out: str = "bench/SWEEP.md", model: str = "minilm", config: str | None = None) -> None:
    import ising_nn as isn
    from ising_nn.canonical.chain import LayerChains, resolve_precision

    t_all = time.perf_counter()
    c = isn.load_couplings(model)
    s = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), (replicas, c.n_spins))
    L = len(c.layer_sizes)
    f32 = LayerChains(c, s, "cpu", 0, "float32")
    spl = LayerChains(c, s, "cpu", 0, "split-bf16")
    i8 = LayerChains(c, s, "cpu", 0, "int8x3")
    i8u = LayerChains(c, s, "cpu", 0, "int8x3")
    # the other route for the digits' products (torch's int8 product where the CPU has int8 dot products, an
    # exact float product where it has not): the same integers, timed here against the route this CPU takes
    from ising_nn.canonical import chain as _chain

    own = _chain.int8_dot_products()
    _chain._INT8 = not own
    try:
        i8o = LayerChains(c, s, "cpu", 0, "int8x3")
    finally:
        _chain._INT8 = own
    route = {True: "torch int8 product", False: "exact float product"}
    beta = np.full(replicas, 0.3)

    def torch_sweep():  # the element-wise part as torch operations, as before the fused pass
        b = torch.full((replicas, 1), 0.3)
        f32._half_sweep_torch(0, b)
        f32._half_sweep_torch(1, b)

    cases = {
        "fields float32": lambda: [f32.field(l) for l in range(L)],
        "sweep float32, torch element-wise": torch_sweep,
        "sweep float32, fused numba": lambda: (f32.half_sweep(0, beta), f32.half_sweep(1, beta)),
        "fields split-bf16": lambda: [spl._split_field(l) for l in range(L)],
        "sweep split-bf16, fused numba": lambda: (spl.half_sweep(0, beta), spl.half_sweep(1, beta)),
        "fields int8x3 (int8 products)": lambda: [i8._digit_products(l) for l in range(L)],
        f"fields int8x3, the other route ({route[not own]})": lambda: [i8o._digit_products(l) for l in range(L)],
        "sweep int8x3, fused numba": lambda: (i8.half_sweep(0, beta), i8.half_sweep(1, beta)),
        "fields int8x3, top two digits": lambda: [i8._digit_products(l, digits=2) for l in range(L)],
        "sweep int8x3 unmeasured (two digits, the third where undecided)":
            lambda: (i8u.half_sweep(0, beta, False), i8u.half_sweep(1, beta, False)),
    }
    times = {k: [] for k in cases}
    for f in cases.values():
        f()
    for _ in range(REPEATS):
        for k, f in cases.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    med = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
    unmeasured = "sweep int8x3 unmeasured (two digits, the third where undecided)"
    share = {0.3: float(i8u.exact_draws.sum()) / ((REPEATS + 1) * replicas * c.n_spins)}
    for b in (0.1, 1.0, 3.0):  # the share of draws that need the third digit grows with beta
        ch = LayerChains(c, s, "cpu", 1, "int8x3")
        for _ in range(3):
            ch.half_sweep(0, b, False), ch.half_sweep(1, b, False)
        share[b] = float(ch.exact_draws.sum()) / (3 * replicas * c.n_spins)
    step = (4 * med[unmeasured] + med["sweep int8x3, fused numba"]) / 5
    vs_measured = med["sweep int8x3, fused numba"] / med[unmeasured]
    shares = ", ".join(f"{100 * v:.2f}% at beta = {b:g}" for b, v in sorted(share.items()))
    # largest field error against float64, over every layer
    J64 = [torch.from_numpy(j.astype(np.float64)) for j in c.J]
    err = {}
    for name, ch in (("float32", f32), ("split-bf16", spl), ("int8x3", i8)):
        S64 = [torch.from_numpy(x.astype(np.float64)) for x in c.split(ch.spins())]
        e = 0.0
        for l in range(L):
            ref = (S64[l - 1] @ J64[l - 1] if l > 0 else 0) + (S64[l + 1] @ J64[l].T if l < L - 1 else 0)
            e = max(e, float((ch.field(l).double() - ref).abs().max()))
        err[name] = e
    rms = float(np.sqrt(np.mean([float((f32.field(l).double() ** 2).mean()) for l in range(L)])))
    base = med["sweep float32, torch element-wise"]
    rows = []
    for k, v in med.items():
        rows.append(f"| {k} | {v:.1f} | {base / v:.2f}x |" if k.startswith("sweep") else f"| {k} | {v:.1f} | |")
    command = "`python -m bench.bench_sweep` (`make bench-sweep`)"
    if config is not None:
        command = f"`python -m bench.bench_sweep --config {config} --replicas {replicas} --out {out}`"
    elif (model, replicas, out) != ("minilm", 368, "bench/SWEEP.md"):
        command = f"`python -m bench.bench_sweep --model {model} --replicas {replicas} --out {out}`"
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
               f"{os.getloadavg()[0]:.2f} at the end; torch {torch.__version__}, {torch.get_num_threads()} threads")
    name = "MiniLM" if model == "minilm" else config or os.path.basename(os.path.normpath(model))
    if config is not None:
        name += " (built from its configuration, random weights)"
    text = f"""# Heat-bath sweep anatomy on {name}

- date: {datetime.datetime.now().isoformat(timespec='seconds')}
- command: {command}, {time.perf_counter() - t_all:.0f} s in all
- machine: {machine}
- {name}: {c.n_spins:,} spins, {c.n_bonds:,} couplings, {replicas} replicas; `auto` precision here: \
{resolve_precision('auto')}; int8x3's products here: {route[own]} (int8 dot products: {own})
- medians of {REPEATS} interleaved repetitions (ms per sweep: every layer drawn once)

| what | ms | speed-up against the torch element-wise sweep |
|---|---|---|
{chr(10).join(rows)}

Element-wise part (sweep minus fields): torch {base - med['fields float32']:.1f} ms, fused float32 \
{med['sweep float32, fused numba'] - med['fields float32']:.1f} ms, fused split-bf16 \
{med['sweep split-bf16, fused numba'] - med['fields split-bf16']:.1f} ms, fused int8x3 \
{med['sweep int8x3, fused numba'] - med['fields int8x3 (int8 products)']:.1f} ms. Fields' share of the fused \
float32 sweep: {100 * med['fields float32'] / med['sweep float32, fused numba']:.0f}%; of the int8x3 sweep: \
{100 * med['fields int8x3 (int8 products)'] / med['sweep int8x3, fused numba']:.0f}%. int8x3 against float32, \
both fused: fields {med['fields float32'] / med['fields int8x3 (int8 products)']:.2f}x, sweep \
{med['sweep float32, fused numba'] / med['sweep int8x3, fused numba']:.2f}x.

Unmeasured sweeps (population annealing's sweeps before a step's last; the same chain bit for bit): \
{med[unmeasured]:.1f} ms, {base / med[unmeasured]:.2f}x the torch sweep, {vs_measured:.2f}x the measured int8x3 \
sweep. Share of the draws that took the third digit: {shares}. A population-annealing step of 5 sweeps \
(4 unmeasured, 1 measured): {step:.1f} ms per sweep, {base / step:.2f}x.

Largest field error against float64 over every layer: float32 {err['float32']:.2e}, split-bf16 \
{err['split-bf16']:.2e}, int8x3 {err['int8x3']:.2e} (rms field {rms:.2f}).
"""
    with open(out, "w") as fh:
        fh.write(text)
    sys.stderr.write(text)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="minilm", help="a model name or a checkpoint folder (default minilm)")
    ap.add_argument("--config", help="instead, a model built from its configuration (bench.bench_paper's names)")
    ap.add_argument("--replicas", type=int, default=368)
    ap.add_argument("--out", default="bench/SWEEP.md")
    a = ap.parse_args()
    if a.config is None:
        main(a.replicas, a.out, a.model)
    else:
        import tempfile
        from pathlib import Path

        from bench.bench_paper import build

        with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
            build(a.config, Path(tmp) / a.config)
            main(a.replicas, a.out, str(Path(tmp) / a.config), a.config)
