"""What a paper-sized model costs, stage by stage (``make bench-paper`` writes ``bench/PAPER.md``).

Each model is built from its real configuration (``GPT2Config()``, ``OPTConfig`` of opt-125m / opt-350m /
opt-1.3b, ``BertConfig`` of bert-large, ``BloomConfig`` of bloom-560m) with random weights, saved with
``save_pretrained`` and loaded back by path exactly as a hub download is. In a fresh process per model (so
that its peak memory is its own) it measures:

- load and couplings: ``load_couplings(path)``;
- the ground-state search: ``quench(c, "anneal", restarts=4)``;
- the canonical engine: one replica-sweep (every layer drawn once) with as many replicas as its run holds,
  2 ladders x K rungs, timed over 3 sweeps. K is scaled from the 309 rungs of gpt2's full run
  (``bench/PAPER_RUN.md``) as sqrt(N / 65,280): the rung spacing follows the energy spread, which grows as
  sqrt(N);
- Wang-Landau: attempts per second over a short run (``max_sweeps``), its number of windows W, and one
  window-sweep's time.

Each stage's wall time and the process's peak resident memory after it. The full runs at the figures'
budgets are then projected from those costs: the canonical engine's 1,250 sweeps (250 burn-in, 1,000
production) of 2K replicas, without the pilot, the ladder's tuning and MBAR; Wang-Landau's 10 sweeps in each
of the W windows. These two are projections, marked as such in the table; ``bench/PAPER_RUN.md`` holds
gpt2's full run to compare them with.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

OUT = Path(__file__).resolve().parent / "PAPER.md"
MODELS = ("gpt2", "opt-125m", "opt-350m", "bert-large", "bloom-560m", "opt-1.3b")
REF_N, REF_RUNGS = 65_280, 309  # gpt2 with random weights, run in full (bench/PAPER_RUN.md)
SWEEPS = 1_250  # the figures' canonical budget: 250 burn-in + 1,000 production sweeps


def config(name: str):
    import transformers as tf

    if name == "gpt2":
        return tf.GPT2Config()
    if name == "opt-125m":
        return tf.OPTConfig()  # the defaults are opt-125m's
    if name == "opt-350m":
        return tf.OPTConfig(hidden_size=1024, num_hidden_layers=24, ffn_dim=4096, num_attention_heads=16,
                            word_embed_proj_dim=512, do_layer_norm_before=False)
    if name == "opt-1.3b":
        return tf.OPTConfig(hidden_size=2048, num_hidden_layers=24, ffn_dim=8192, num_attention_heads=32,
                            word_embed_proj_dim=2048)
    if name == "bert-large":
        return tf.BertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)
    if name == "bloom-560m":
        return tf.BloomConfig(hidden_size=1024, n_layer=24, n_head=16)
    raise ValueError(name)


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def build(name: str, folder: Path) -> dict:
    """Random weights from the configuration, saved like a hub download (safetensors)."""
    import torch
    import transformers as tf

    torch.manual_seed(0)
    t = time.perf_counter()
    model = tf.AutoModel.from_config(config(name))
    model.save_pretrained(folder)
    return {"build_s": time.perf_counter() - t, "params": sum(p.numel() for p in model.parameters())}


def measure(name: str, folder: Path) -> dict:
    """The stages of the module docstring, in this process."""
    import numpy as np
    import torch

    from ising_nn import load_couplings, quench, wang_landau
    from ising_nn.canonical.chain import LayerChains

    out: dict = {"model": name}
    t = time.perf_counter()
    c = load_couplings(str(folder))
    out.update(load_s=time.perf_counter() - t, load_peak_gb=_peak_gb(), n_spins=c.n_spins, n_bonds=c.n_bonds,
               couplings_gb=c.nbytes / 1e9)
    t = time.perf_counter()
    q = quench(c, "anneal", restarts=4, seed=0)
    out.update(quench_s=time.perf_counter() - t, quench_peak_gb=_peak_gb(), E0_per_spin=q.energy_per_spin)
    K = round(REF_RUNGS * (c.n_spins / REF_N) ** 0.5)
    R = 2 * K
    rng = np.random.default_rng(0)
    ch = LayerChains(c, (rng.integers(0, 2, (R, c.n_spins), dtype=np.int8) * 2 - 1).astype(np.int8))
    beta = torch.full((R, 1), 0.3)
    ch.half_sweep(0, beta)
    t = time.perf_counter()
    for _ in range(3):
        ch.half_sweep(0, beta)
        ch.half_sweep(1, beta)
    out.update(rungs=K, sweep_s=(time.perf_counter() - t) / 3 / R, canonical_peak_gb=_peak_gb())
    del ch
    t = time.perf_counter()
    d = wang_landau(c, bins=400, seed=0, max_sweeps=0.05, progress=False)
    att, kern = int(d.header["attempts"]), float(d.header["loop_kernel_time"])
    windows = int(d.header["windows"])
    out.update(wl_s=time.perf_counter() - t, wl_peak_gb=_peak_gb(), wl_rate=att / kern, wl_windows=windows,
               wl_window_sweep_s=c.n_spins / (att / kern), wl_layout=d.header["layout"])
    out["canonical_projected_s"] = SWEEPS * R * out["sweep_s"]
    out["wl_projected_s"] = 10 * windows * out["wl_window_sweep_s"]
    return out


def _child(name: str) -> None:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        folder = Path(tmp) / name
        b = build(name, folder)
        # a fresh interpreter for the measurement: its peak memory is the package's, not the build's
        r = subprocess.run([sys.executable, "-m", "bench.bench_paper", "--measure", name, str(folder)],
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            print(json.dumps({"model": name, "error": r.stderr.strip().splitlines()[-1:], **b}))
            return
        m = json.loads(r.stdout.strip().splitlines()[-1])
        print(json.dumps({**b, **m}))


def table(rows: list[dict]) -> str:
    head = ("| model | spins | couplings | params | load + couplings | quench (anneal, 4 restarts) | "
            "canonical sweep per replica (2K replicas) | Wang-Landau attempts/s | "
            "projected canonical (2 ladders, default budget) | "
            "projected Wang-Landau (10 sweeps/window) | peak memory |\n|" + "---|" * 11)
    lines = [head]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | failed: {' '.join(r['error'])} |" + " |" * 9)
            continue
        peak = max(r[k] for k in ("load_peak_gb", "quench_peak_gb", "canonical_peak_gb", "wl_peak_gb"))
        lines.append(
            f"| {r['model']} | {r['n_spins']:,} | {r['n_bonds']:,} | {r['params'] / 1e6:.0f} M | {r['load_s']:.1f} s | "
            f"{r['quench_s']:.1f} s | {r['sweep_s'] * 1e3:.2f} ms (K = {r['rungs']}) | {r['wl_rate'] / 1e6:.2f} M "
            f"({r['wl_layout']}, {r['wl_windows']} windows) | {r['canonical_projected_s'] / 3600:.2f} h | "
            f"{r['wl_projected_s'] / 3600:.2f} h | "
            f"{peak:.1f} GB |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--measure", nargs=2, metavar=("NAME", "FOLDER"), help=argparse.SUPPRESS)
    p.add_argument("--child", metavar="NAME", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.measure:
        print(json.dumps(measure(a.measure[0], Path(a.measure[1]))))
        return 0
    if a.child:
        _child(a.child)
        return 0
    rows = []
    for name in a.models:
        r = subprocess.run([sys.executable, "-m", "bench.bench_paper", "--child", name], capture_output=True,
                           text=True, check=False)
        line = (r.stdout.strip().splitlines() or ["{}"])[-1]
        row = json.loads(line) if line.startswith("{") else {"model": name, "error": [r.stderr[-300:]]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    text = (f"# Paper-sized models: cost per stage\n\n{date.today().isoformat()}, {platform.node()}, "
            f"{platform.processor() or platform.machine()}, 2 cores; command: "
            f"`python -m bench.bench_paper --models {' '.join(a.models)}`.\n\n" + __doc__.split("\n\n", 1)[1]
            + "\n" + table(rows) + "\n\nRaw rows:\n\n```\n" + "\n".join(json.dumps(r) for r in rows) + "\n```\n")
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
