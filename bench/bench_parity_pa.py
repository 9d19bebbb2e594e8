"""Population annealing's curve from one parity's exact marginal, their mean, or the weighted two
(``make bench-parity-pa``).

Every step of a run measures U and Var E from the exact marginal of the even layers (given the odd) and of the
odd layers (given the even); until now the runs kept their mean. This bench runs population annealing on trained
MiniLM and on its whole-network shuffle (``--runs`` runs of ``--population`` replicas, the figures' sweeps per
step, precision and temperature ranges) and from the same runs computes the curve four ways: each parity alone,
their mean (the estimator before), and the weighting of :func:`ising_nn.canonical.combine_runs` (the weight on
the odd layers' marginal that makes C's jackknife variance least). It reports the jackknife errors of U and C
over the output range, the ratio mean / weighted (one process, the same runs, so the ratio is the estimator's
alone), whether the two parities agree, and the wall time. Writes ``bench/PARITY_PA.md``."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import os
import platform
import sys
import time

import numpy as np

from ising_nn.results.textfile import atomic_path

CORES = os.cpu_count() or 1


def run(c, name: str, shuffle: float, population: int, runs: int) -> dict:
    from ising_nn.canonical import population_annealing
    from ising_nn.canonical.annealing import combine_runs, output_steps
    from ising_nn.paper.budget import budget
    from ising_nn.paper.population import pa_range

    b = budget()
    tmin, tmax = pa_range(b, math.sqrt(c.sum_J2 / c.n_spins), shuffle)
    t = time.perf_counter()
    r = population_annealing(c, tmin=tmin, tmax=tmax, population=population, runs=runs, sweeps=b.pa_sweeps,
                             hot_sweeps=b.pa_sweeps_hot, seed=0, precision=b.precision, progress=True)
    total = time.perf_counter() - t
    N, sel = c.n_spins, output_steps(r.beta_i, tmin, tmax)
    curves = {}
    for p, key in ((0, "even"), (1, "odd")):
        one = [dataclasses.replace(x, U_i=x.U_pi[p], var_E_i=x.var_E_pi[p], U_pi=None, var_E_pi=None) for x in r.runs]
        est, err, _, jk, _ = combine_runs(one, N, sel)
        curves[key] = (est, err, jk)
    curves["mean"] = combine_runs([dataclasses.replace(x, U_pi=None, var_E_pi=None) for x in r.runs], N, sel)[:2]
    est, err, _, _, w = combine_runs(r.runs, N, sel)
    curves["weighted"] = (est, err)
    print(f"{name}: {total:.0f} s, T in [{tmin:g}, {tmax:g}], {len(sel)} steps, w_odd {w:.3f}, families criterion "
          f"down to {r.T_equilibrated:.4g}", file=sys.stderr)
    return dict(name=name, T=r.T_i[sel], sel=sel, curves=curves, w=w, total=total, T_eq=r.T_equilibrated,
                tmin=tmin, tmax=tmax, header=r.header)


def rows(res) -> list[str]:
    from scipy import stats

    from ising_nn.canonical.estimators import jackknife_error

    out, sel, cv = [], res["sel"], res["curves"]
    M = cv["odd"][2].shape[0]
    for q, name in ((0, "U"), (1, "C")):
        e = {k: cv[k][1][q, sel] for k in cv}
        ratio = e["mean"] / e["weighted"]
        # odd minus even with its own jackknife error (the two come from the same runs: correlated)
        d = cv["odd"][0][q, sel] - cv["even"][0][q, sel]
        jd = cv["odd"][2][:, q, sel] - cv["even"][2][:, q, sel]
        z = np.abs(d) / jackknife_error(jd)
        crit = stats.t.isf(0.01 / (2 * len(sel)), M - 1)  # family-wise 0.01 over the steps
        i = int(np.nanargmax(z))
        out.append(f"| {res['name']} | {name} | {np.median(e['odd']):.3g} | {np.median(e['even']):.3g} | "
                   f"{np.median(e['mean']):.3g} | {np.median(e['weighted']):.3g} | {res['w']:.3f} | "
                   f"{np.median(ratio):.2f} ({ratio.min():.2f}-{ratio.max():.2f}) | {z[i]:.2f} at T = "
                   f"{res['T'][i]:.3g} (passing {crit:.1f}) |")
    return out


def main(argv=None) -> None:
    import torch

    import ising_nn as isn

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--population", type=int, default=256)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("-o", "--out", default="bench/PARITY_PA.md")
    a = ap.parse_args(argv)
    c = isn.load_couplings(a.model)
    t0 = time.perf_counter()
    results = [run(c, "trained", 0.0, a.population, a.runs),
               run(isn.shuffle(c, 1.0, seed=0), "shuffled", 1.0, a.population, a.runs)]
    h = results[0]["header"]
    lines = [
        "# Population annealing's curve: one parity's exact marginal, their mean, or both weighted",
        "",
        f"- machine: {platform.machine()}, {CORES} cores, {platform.processor() or platform.platform()}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads",
        f"- date: {datetime.date.today().isoformat()}; command: `python -m bench.bench_parity_pa --population "
        f"{a.population} --runs {a.runs}` (`make bench-parity-pa`), {time.perf_counter() - t0:.0f} s",
        f"- model: {a.model} (trained and its whole-network shuffle, seed 0); {a.runs} runs of {a.population} "
        f"replicas, {h['sweeps_per_step']} sweeps per step, precision {h['precision']}, seed 0; errors are the "
        "delete-one-run jackknife, the same runs for every estimator",
        "",
        "Median over the output range's steps of each estimator's jackknife error: the odd layers' marginal "
        "alone, the even layers' alone, their mean (the estimator before this bench), and the two weighted (w on "
        "the odd layers' marginal, from C's jackknife covariance); the ratio mean / weighted (median and range "
        "over the steps) is what the weighting saves; the largest |z| of odd minus even over the jackknife error "
        "of that difference (both from the same runs), with the passing |z| of Student's t (runs - 1 dof) at "
        "family-wise 0.01 over the steps. With few runs the jackknife errors themselves scatter by about "
        "1 / sqrt(2 (runs - 1)).",
        "",
        "| network | quantity | odd layers' marginal | even layers' | mean of the two | weighted | w | mean / "
        "weighted | largest |z| odd against even |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines += rows(r)
    lines += ["", "| network | T range | steps in it | run (s) | families criterion down to |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['name']} | {r['tmin']:g} - {r['tmax']:g} | {len(r['sel'])} | {r['total']:.0f} | "
                     f"{r['T_eq']:.4g} |")
    text = "\n".join(lines) + "\n"
    with atomic_path(a.out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
