"""Replica exchange's curve Rao-Blackwellised over one parity of layers or both (``make bench-parity``).

The canonical engine's U, C, F, S come from MBAR on an exact marginal: the spins of one parity of layers summed
out given the other (:mod:`ising_nn.canonical.rbmbar`). Either parity gives an estimate exact in expectation
from the same records; the engine weights the two. This bench runs the figures' replica exchange (the default
budget's sweeps, range, precision and cold start) on trained MiniLM and on its whole-network shuffle, and from
the same records computes the curve three ways: the odd layers' marginal alone (the engine before), the even
layers' alone, and the engine's weighting of the two (the weight that makes C's bootstrap variance least). It
reports the bootstrap errors of U and C of each, their ratios (one process, one run, so the ratio is the
estimator's alone), whether the two parities agree, and the time the marginals took. Writes
``bench/PARITY.md``."""

from __future__ import annotations

import datetime
import math
import os
import platform
import sys
import time

import numpy as np

CORES = os.cpu_count() or 1


def _capture():
    """Wrap the engine's curve estimator and its marginal sums: every call's three curves and the seconds spent
    per parity."""
    import ising_nn.canonical.tempering as tp
    from ising_nn.canonical.chain import LayerChains

    seen, seconds = [], {0: 0.0, 1: 0.0}
    real_curve, real_marginal = tp.rb_mbar_curve, LayerChains.marginal

    def curve(L, M, V, *args, other=None, **kw):
        odd, _ = real_curve(L, M, V, *args, **kw)
        even, _ = real_curve(*other, *args, **kw)
        both, w = real_curve(L, M, V, *args, other=other, **kw)
        seen.append(dict(odd=odd, even=even, both=both, w=w))
        return both, w

    def marginal(self, beta_rj, parity=0):
        t = time.perf_counter()
        out = real_marginal(self, beta_rj, parity)
        seconds[parity] += time.perf_counter() - t
        return out

    def restore():
        tp.rb_mbar_curve, LayerChains.marginal = real_curve, real_marginal

    tp.rb_mbar_curve, LayerChains.marginal = curve, marginal
    return seen, seconds, restore


def run(c, name: str):
    import ising_nn as isn
    from ising_nn.paper.budget import budget, temperature_range

    b = budget()
    tmin, tmax = temperature_range(b, math.sqrt(c.sum_J2 / c.n_spins))
    q = isn.quench(c, b.quench_method, seed=0, restarts=b.quench_restarts)
    seen, seconds, restore = _capture()
    t = time.perf_counter()
    try:
        r = isn.canonical_thermo(c, tmin=tmin, tmax=tmax, sweeps=b.canonical_sweeps, seed=0,
                                 precision=b.precision, cold_spins=q.spins, progress=True)
    finally:
        restore()
    total = time.perf_counter() - t
    print(f"{name}: {total:.0f} s, equilibrated down to {r.T_equilibrated:.4g}", file=sys.stderr)
    return dict(name=name, curves=seen[-1], seconds=dict(seconds), total=total, T_eq=r.T_equilibrated,
                header=r.header)


def rows(res) -> list[str]:
    cv = res["curves"]
    T = cv["both"].T_t
    out = []
    for q in ("U", "C"):
        e = {k: getattr(cv[k], f"{q}_err_t") for k in ("odd", "even", "both")}
        ratio = e["odd"] / e["both"]
        a, b = getattr(cv["odd"], f"{q}_t"), getattr(cv["even"], f"{q}_t")
        z = np.abs(a - b) / np.hypot(e["odd"], e["even"])
        out.append(f"| {res['name']} | {q} | {np.median(e['odd']):.3g} | {np.median(e['even']):.3g} | "
                   f"{np.median(e['both']):.3g} | {cv['w']:.3f} | {np.median(ratio):.2f} "
                   f"({ratio.min():.2f}-{ratio.max():.2f}) | "
                   f"{np.nanmax(z):.2f} at T = {T[int(np.nanargmax(z))]:.3g} |")
    return out


def main(model: str = "minilm", out: str = "bench/PARITY.md") -> None:
    import torch

    import ising_nn as isn

    c = isn.load_couplings(model)
    t0 = time.perf_counter()
    results = [run(c, "trained"), run(isn.shuffle(c, 1.0, seed=0), "shuffled")]
    lines = [
        "# Replica exchange's curve: one parity's exact marginal or both",
        "",
        f"- machine: {platform.machine()}, {CORES} cores, {platform.processor() or platform.platform()}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads",
        f"- date: {datetime.date.today().isoformat()}; command: `python -m bench.bench_parity` "
        f"(`make bench-parity`), {time.perf_counter() - t0:.0f} s",
        f"- model: {model} (trained and its whole-network shuffle, seed 0), the figures' replica exchange "
        f"({results[0]['header']['sweeps']} sweeps, precision {results[0]['header']['precision']}); each curve's "
        "errors are the engine's bootstrap (40 replicates, the records resampled within each rung, the same "
        "records for both parities)",
        "",
        "Median over the output grid (the equilibrated range) of each estimator's bootstrap error; the ratio "
        "odd / both is the error the engine's weighting of the two parities (weight w on the odd layers' "
        "marginal) saves against the odd layers' alone (median, and range over the grid); the "
        "largest |z| of odd minus even over their errors (correlated estimates of one quantity: an upper bound "
        "on the z of independent ones).",
        "",
        "| network | quantity | odd layers' marginal | even layers' | both, weighted | w | odd / both | largest "
        "|z| odd against even |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines += rows(r)
    lines += ["", "Cost of the marginals (seconds of the run):", "",
              "| network | run | odd layers' marginal | even layers' marginal | T equilibrated |",
              "|---|---|---|---|---|"]
    for r in results:
        s = r["seconds"]
        lines.append(f"| {r['name']} | {r['total']:.0f} | {s[0]:.1f} | {s[1]:.1f} | {r['T_eq']:.4g} |")
    text = "\n".join(lines) + "\n"
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, out)
    print(text)


if __name__ == "__main__":
    main()
