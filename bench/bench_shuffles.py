"""Which structure moves T_c: trained MiniLM against a shuffle within each matrix and a shuffle across the
whole network (``make bench-shuffles``).

A whole-network shuffle (the paper's, and the figures') destroys two things at once: the order of the couplings
inside each matrix, and how the coupling scale differs from matrix to matrix. A shuffle within each matrix
(``per_layer=True``) keeps every matrix's distribution of couplings, its scale included, and destroys only the
order. Its T_c, between the trained one and the whole shuffle's, says how much of the trained network's higher
T_c comes from the scales of its matrices and how much from the couplings' arrangement within them.

The per-matrix shuffle is run here by the figures' replica exchange (the default budget's sweeps, range,
precision and cold start from its ground-state search); the trained and whole-shuffle results are the cached
ones of ``make figures`` (a missing one is one line and exit 2). Writes ``bench/SHUFFLES.md`` with machine,
date, command and the table: per network the spread of the matrices' scales, the certified range, C's maximum
with its error and the tests of the differences."""

from __future__ import annotations

import datetime
import math
import os
import platform
import sys
import time

import numpy as np
import pandas as pd

CORES = os.cpu_count() or 1


def scale_spread(c) -> float:
    """Standard deviation over matrices of ln sqrt(mean J^2): how unequal the matrices' scales are (0 after a
    whole-network shuffle, up to sampling)."""
    off = c.bond_offsets
    rms = [math.sqrt(float(np.mean(np.square(c.buffer[off[l]:off[l + 1]], dtype=np.float64))))
           for l in range(c.n_layers)]
    return float(np.std(np.log(rms)))


def re_peak(pt):
    """C's maximum on a replica-exchange curve certified where its ladders agree: the windowed fit of
    :func:`ising_nn.paper.criticality.fit_peak` (its systematic error, the windows' spread), with the engine's
    bootstrap error of the grid maximum as the statistical one (there are no runs to jackknife; the grid maximum
    is a noisier estimator than the fit, so this errs large). Returns (Certified, Peak, total error)."""
    from ising_nn.paper.criticality import certify_canonical, fit_peak

    cert = certify_canonical(pt)
    p = fit_peak(cert.T_t, cert.C_t, cert.C_jk_mt, cert.T_cert)
    err = math.hypot(p.Tc_syst, float(pt.curve.Tc_err)) if p.located else math.nan
    return cert, p, err


def per_layer_thermo(model: str = "minilm", shuffle_seed: int = 0):
    """The figures' replica exchange on ``model`` shuffled within each matrix; returns (result, seconds)."""
    import ising_nn as isn
    from ising_nn.paper.budget import budget, temperature_range

    b = budget()
    c = isn.load_couplings(model, shuffle=1.0, seed=shuffle_seed, per_layer=True)
    tmin, tmax = temperature_range(b, math.sqrt(c.sum_J2 / c.n_spins))
    t = time.perf_counter()
    q = isn.quench(c, b.quench_method, seed=shuffle_seed, restarts=b.quench_restarts)
    r = isn.canonical_thermo(c, tmin=tmin, tmax=tmax, sweeps=b.canonical_sweeps, seed=shuffle_seed,
                             precision=b.precision, cold_spins=q.spins, progress=True)
    return c, r, time.perf_counter() - t


def _z_test(a, ea, b, eb):
    from scipy.stats import norm

    z = (a - b) / math.hypot(ea, eb)
    return z, float(norm.sf(z))


def main(model: str = "minilm", out: str = "bench/SHUFFLES.md") -> None:
    from types import SimpleNamespace

    import ising_nn as isn
    from bench.bench_tc import _read
    from ising_nn.paper.compare import markdown_table
    from ising_nn.paper.criticality import certify, fit_peak

    pt_tr, pa, check = _read(model, 0.0)
    pt_wh, _, _ = _read(model, 1.0)
    c_pl, r_pl, sec = per_layer_thermo(model)
    pt_pl = SimpleNamespace(curve=r_pl.curve, header={"T_equilibrated": str(r_pl.T_equilibrated)})

    cert_tr = certify(pa, check, pt_tr)
    p_tr = fit_peak(cert_tr.T_t, cert_tr.C_t, cert_tr.C_jk_mt, cert_tr.T_cert)
    rows, peaks = [], {}
    nets = (("trained", isn.load_couplings(model), "population annealing", cert_tr, p_tr, p_tr.Tc_err),
            ("shuffled within each matrix", c_pl, "replica exchange", *re_peak(pt_pl)),
            ("shuffled across the network", isn.load_couplings(model, shuffle=1.0, seed=0), "replica exchange",
             *re_peak(pt_wh)))
    for name, c, method, cert, p, err in nets:
        peaks[name] = (p, err)
        rows.append(dict(network=name, scale_spread=scale_spread(c), method=method, T_certified=cert.T_cert,
                         T_c=p.Tc if p.located else math.nan, T_c_err=err,
                         T_c_bound=p.upper if not p.located else math.nan,
                         C_max=p.C_max if p.located else math.nan))

    (pt_, et), (pp, ep), (pw, _) = (peaks[n] for n in (r["network"] for r in rows))
    tests = []
    if pt_.located and pp.located:
        z, p = _z_test(pt_.Tc, et, pp.Tc, ep)
        tests.append(f"trained minus shuffled within each matrix: {pt_.Tc - pp.Tc:.3f} ± {math.hypot(et, ep):.3f} "
                     f"(z = {z:.1f}, one-sided p = {p:.1e})")
        if pw.located:
            z2, p2 = _z_test(pp.Tc, ep, pw.Tc, peaks[rows[2]["network"]][1])
            tests.append(f"within each matrix minus across the network: {pp.Tc - pw.Tc:.3f} (z = {z2:.1f}, "
                         f"one-sided p = {p2:.1e})")
        elif math.isfinite(pw.upper):
            z2, p2 = _z_test(pp.Tc, ep, pw.upper, 0.0)
            tests.append(f"within each matrix above the whole shuffle's bound {pw.upper:.3g}: by "
                         f"{pp.Tc - pw.upper:.3f} ± {ep:.3f} (z = {z2:.1f}, one-sided p = {p2:.1e})")
        share = (pt_.Tc - pp.Tc) / (pt_.Tc - (pw.Tc if pw.located else pw.upper))
        tests.append(f"share of the trained-minus-whole-shuffle difference that survives a shuffle within each "
                     f"matrix (the arrangement's): {share:.2f}" + ("" if pw.located else
                                                                   " (at most: the whole shuffle's T_c is a bound)"))
    else:
        tests.append("the maximum of the shuffle within each matrix is not located within its certified range "
                     f"(down to T = {nets[1][3].T_cert:.4g}), so the split is not decided here")
    lines = [
        f"# Which structure moves T_c ({model})", "",
        f"- date: {datetime.date.today().isoformat()}; machine: {platform.processor() or platform.machine()}, "
        f"{CORES} cores; command: `make bench-shuffles`; the shuffle within each matrix (seed 0) by the figures' "
        f"replica exchange: {r_pl.header['sweeps']} sweeps, {r_pl.header['rungs']} rungs, precision "
        f"{r_pl.header['precision']}, hot and cold ladders agree down to T = {r_pl.T_equilibrated:.4g}; {sec:.0f} s "
        f"with the ground-state search for its cold start",
        "- the trained and whole-shuffle rows are the cached results of `make figures` (as `make bench-tc`)",
        "- scale_spread: standard deviation over the matrices of ln sqrt(mean J^2); T_c: the windowed fit of "
        "`ising_nn.paper.criticality.fit_peak` on the certified C(T); its error: the jackknife over runs and the "
        "windows' spread (population annealing), or the engine's bootstrap error of the grid maximum and the "
        "windows' spread (replica exchange); T_c_bound: C is largest at the certified edge, T_c lies below", "",
        markdown_table(pd.DataFrame(rows), 4), "",
        *[f"- {t}" for t in tests], "",
    ]
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    main()
