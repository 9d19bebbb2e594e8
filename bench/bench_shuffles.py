"""Which structure moves T_c: trained MiniLM against a shuffle within each matrix and a shuffle across the
whole network (``make bench-shuffles``).

A whole-network shuffle (the paper's, and the figures') destroys two things at once: the order of the couplings
inside each matrix, and how the coupling scale differs from matrix to matrix. A shuffle within each matrix
(``per_layer=True``) keeps every matrix's distribution of couplings, its scale included, and destroys only the
order. Comparing the three says how much of the trained network's higher T_c comes from the scales of its
matrices and how much from the couplings' arrangement within them.

The per-matrix shuffle is run by the figures' replica exchange (the default budget's sweeps, range, precision
and cold start from its ground-state search); the trained network's results and the whole shuffle's replica
exchange are the cached ones of ``make figures`` (a missing one is one line and exit 2). Both shuffles are also
run by population annealing (4 runs of R = 512 and of R/4, the figures' sweeps per step and precision, down to
T = 1.5) as the second, independent method: where the two part, replica exchange's agreeing hot and cold starts
are not enough, so each shuffle's maximum is looked for only where both agree. ``--work DIR`` keeps the stages
and the samplers' checkpoints, so a rerun resumes. Writes ``bench/SHUFFLES.md`` with machine, date, command and
the table: per network and method the spread of the matrices' scales, the certified range, C's maximum with its
error, the tests of the differences, and the two methods side by side."""

from __future__ import annotations

import datetime
import math
import os
import platform
import sys
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ising_nn.results.textfile import atomic_path

CORES = os.cpu_count() or 1
POPULATION = 512


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


def per_layer_thermo(c, shuffle_seed: int = 0, checkpoint=None):
    """The figures' replica exchange on ``c`` (a network shuffled within each matrix); returns its curve, header
    and equilibrated edge with the seconds it took."""
    import ising_nn as isn
    from ising_nn.paper.budget import budget, temperature_range

    b = budget()
    tmin, tmax = temperature_range(b, math.sqrt(c.sum_J2 / c.n_spins))
    t = time.perf_counter()
    q = isn.quench(c, b.quench_method, seed=shuffle_seed, restarts=b.quench_restarts)
    ck = {} if checkpoint is None else dict(checkpoint=checkpoint, resume=os.path.exists(checkpoint))
    r = isn.canonical_thermo(c, tmin=tmin, tmax=tmax, sweeps=b.canonical_sweeps, seed=shuffle_seed,
                             precision=b.precision, cold_spins=q.spins, progress=True, **ck)
    return SimpleNamespace(curve=r.curve, header=dict(r.header), T_equilibrated=r.T_equilibrated,
                           seconds=time.perf_counter() - t)


def shuffle_population(c, population: int, runs: int, tmin: float, checkpoint=None):
    """The figures' population annealing (their sweeps per step and precision) on ``c`` (either shuffle) from
    beta = 0 down to ``tmin``; returns (:class:`ising_nn.paper.population.CachedPopulation`, seconds)."""
    import ising_nn as isn
    from ising_nn.paper.budget import budget
    from ising_nn.paper.population import CachedPopulation

    b = budget()
    ck = {} if checkpoint is None else dict(checkpoint=checkpoint, resume=os.path.exists(checkpoint))
    t = time.perf_counter()
    r = isn.population_annealing(c, tmin=tmin, tmax=b.canonical_tmax, population=population, runs=runs,
                                 sweeps=b.pa_sweeps, seed=0, precision=b.precision, progress=True, **ck)
    return CachedPopulation.from_result(r), time.perf_counter() - t


def _z_test(a, ea, b, eb):
    from scipy.stats import norm

    z = (a - b) / math.hypot(ea, eb)
    return z, float(norm.sf(z))


def agreed_edge(cert, pt) -> float:
    """The lowest temperature above which population annealing (``cert``, :func:`ising_nn.paper.criticality.certify`)
    and replica exchange (``pt``) agree on U and C at every temperature of the schedule within replica exchange's
    equilibrated range, by ``certify``'s own test (``pt_ok_t``: family-wise level 0.01, Student's t on the runs'
    degrees of freedom): a range two independent methods support even where population annealing's own families
    criterion fails. A fixed per-temperature |z| <= 3 would fail correct curves by chance: with 4 runs (3 degrees
    of freedom) each of some 250 temperatures exceeds it with probability 0.06."""
    inside = cert.T_t >= float(pt.header["T_equilibrated"])
    bad = np.flatnonzero(inside & ~np.asarray(cert.pt_ok_t, bool))
    if not bad.size:
        return float(cert.T_t[inside][0]) if inside.any() else math.inf
    return float(cert.T_t[bad[-1] + 1]) if bad[-1] + 1 < cert.T_t.size else math.inf


def _p(p: float) -> str:
    return f"= {p:.1e}" if p > 0 else "< 1e-300"


def versus(a_name, a, ea, b_name, b, eb) -> str:
    """The one-sided test of ``a`` above ``b``, each a located maximum or a bound (``upper``)."""
    if a.located and b.located:
        z, p = _z_test(a.Tc, ea, b.Tc, eb)
        return (f"{a_name} minus {b_name}: {a.Tc - b.Tc:.3f} ± {math.hypot(ea, eb):.3f} (z = {z:.1f}, one-sided "
                f"p {_p(p)} on the normal distribution; the figures' Student's t on the runs' dof: `bench/TC.md`)")
    if a.located and math.isfinite(b.upper) and a.Tc > b.upper:
        z, p = _z_test(a.Tc, ea, b.upper, 0.0)
        return (f"{a_name} above the bound of {b_name}, {b.upper:.3g}: by more than {a.Tc - b.upper:.3f} ± "
                f"{ea:.3f} (z = {z:.1f}, one-sided p {_p(p)} on the normal distribution)")
    return f"{a_name} against {b_name}: not decided here (a maximum not located, or not above the other's bound)"


def main(model: str = "minilm", out: str = "bench/SHUFFLES.md", population: int = POPULATION, runs: int = 4,
         tmin: float = 1.5, work: str | None = None) -> None:
    import ising_nn as isn
    from bench.bench_crosscheck import _disagreement, _stage, peak_words
    from bench.bench_tc import _read
    from ising_nn.paper.compare import markdown_table
    from ising_nn.paper.criticality import certify, compare_at, fit_peak

    pt_tr, pa, check = _read(model, 0.0)
    pt_wh, _, _ = _read(model, 1.0)
    if work is not None:
        os.makedirs(work, exist_ok=True)
    ck = (lambda name: None) if work is None else (lambda name: os.path.join(work, name))
    c_pl = isn.load_couplings(model, shuffle=1.0, seed=0, per_layer=True)
    r_pl = _stage(work, "pt_per_matrix", lambda: per_layer_thermo(c_pl, checkpoint=ck("pt_per_matrix.npz")))
    pt_pl = SimpleNamespace(curve=r_pl.curve, header={"T_equilibrated": str(r_pl.T_equilibrated)})

    cert_tr = certify(pa, check, pt_tr)
    p_tr = fit_peak(cert_tr.T_t, cert_tr.C_t, cert_tr.C_jk_mt, cert_tr.T_cert)
    nets = [("trained", isn.load_couplings(model), "population annealing", cert_tr, p_tr, p_tr.Tc_err)]
    tests, sections, best = [], [], {}
    shuffles = (("shuffled within each matrix", c_pl, pt_pl, "per_matrix"),
                ("shuffled across the network", isn.load_couplings(model, shuffle=1.0, seed=0), pt_wh, "whole"))
    for name, c, pt, key in shuffles:
        cert_re, p_re, e_re = re_peak(pt)
        nets.append((name, c, "replica exchange", cert_re, p_re, e_re))
        best[name] = (p_re, e_re)
        if not population:
            continue
        (pa_x, s_r), (chk_x, s_c) = (
            _stage(work, f"pa_{key}_{n}", lambda n=n, c=c, key=key: shuffle_population(
                c, n, runs, tmin, ck(f"pa_{key}_{n}_runs")))
            for n in (population, population // 4))
        cert = certify(pa_x, chk_x, pt)
        p_pa = fit_peak(cert.T_t, cert.C_t, cert.C_jk_mt, cert.T_cert)
        nets.append((name, c, "population annealing", cert, p_pa, p_pa.Tc_err))
        agreed = agreed_edge(cert, pt)
        p_ag = fit_peak(cert_re.T_t, cert_re.C_t, cert_re.C_jk_mt, agreed)
        e_ag = math.hypot(p_ag.Tc_syst, float(pt.curve.Tc_err))
        nets.append((name, c, "replica exchange where population annealing agrees", SimpleNamespace(T_cert=agreed),
                     p_ag, e_ag))
        best[name] = (p_ag, e_ag)
        if p_re.located and p_re.Tc < agreed:
            tests.append(f"{name}: replica exchange's maximum ({p_re.Tc:.3f} ± {e_re:.3f}) lies below T = "
                         f"{agreed:.4g}, where population annealing parts from it: not cross-validated")
        df = compare_at([x for x in (1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 4.0, 6.0) if x >= tmin], cert, pt)
        sections += [
            f"## {name[0].upper() + name[1:]}, by both methods", "",
            f"Population annealing: {runs} runs of R = {population} and of R/4 = {population // 4}, the figures' "
            f"sweeps per step and precision, down to T = {tmin:g}; {s_r:.0f} s and {s_c:.0f} s "
            f"({(s_r + s_c) * CORES / 3600:.2g} core-hours). It certifies itself (families criterion, R against R/4, "
            f"replica exchange where equilibrated) down to T = {cert.T_cert:.4g}"
            + (f" (first failing below: {cert.failed})" if cert.failed else "") + ". "
            + _disagreement(cert, pt)
            + f"Its C: {peak_words(p_pa, p_pa.Tc_err)}; replica exchange's (hot and cold starts agree down to "
            f"T = {float(pt.header['T_equilibrated']):.4g}): {peak_words(p_re, e_re)}; replica exchange's above "
            f"T = {agreed:.4g}, where the two agree on U and C at every temperature (family-wise "
            f"level 0.01): {peak_words(p_ag, e_ag, 'that edge')}.", "",
            markdown_table(df, 5), ""]
    rows = [dict(network=name, scale_spread=scale_spread(c), method=method, T_certified=cert.T_cert,
                 T_c=p.Tc if p.located else math.nan, T_c_err=err, T_c_bound=p.upper if not p.located else math.nan,
                 C_max=p.C_max if p.located else math.nan) for name, c, method, cert, p, err in nets]
    how = " (where both methods agree)" if population else " (replica exchange)"
    for name, _, _, _ in shuffles:
        tests.append(versus("trained", p_tr, p_tr.Tc_err, name + how, *best[name]))
    (a, (pa_, ea)), (b, (pb, eb)) = best.items()
    ab, ba = versus(a + how, pa_, ea, b + how, pb, eb), versus(b + how, pb, eb, a + how, pa_, ea)
    tests += [t for t in (ab, ba) if "not decided" not in t] or [ab]
    command = "`make bench-shuffles`" if (population, runs, tmin) == (POPULATION, 4, 1.5) else (
        f"`python -m bench.bench_shuffles --population {population} --runs {runs} --tmin {tmin:g}`")
    lines = [
        f"# Which structure moves T_c ({model})", "",
        f"- date: {datetime.date.today().isoformat()}; machine: {platform.processor() or platform.machine()}, "
        f"{CORES} cores; command: {command}; the shuffle within each matrix (seed 0) by the figures' "
        f"replica exchange: {r_pl.header['sweeps']} sweeps, {r_pl.header['rungs']} rungs, precision "
        f"{r_pl.header['precision']}, hot and cold ladders agree down to T = {r_pl.T_equilibrated:.4g}; "
        f"{r_pl.seconds:.0f} s with the ground-state search for its cold start",
        "- the trained row and the whole shuffle's replica exchange are the cached results of `make figures` (as "
        "`make bench-tc`)" + ("; population annealing runs on both shuffles here" if population else ""),
        "- scale_spread: standard deviation over the matrices of ln sqrt(mean J^2); T_c: the windowed fit of "
        "`ising_nn.paper.criticality.fit_peak` on the certified C(T); its error: the jackknife over runs and the "
        "windows' spread (population annealing), or the engine's bootstrap error of the grid maximum and the "
        "windows' spread (replica exchange); T_c_bound: C is largest at the certified edge, T_c lies below", "",
        markdown_table(pd.DataFrame(rows), 4), "",
        *[f"- {t}" for t in tests], "",
        *sections,
    ]
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--population", type=int, default=POPULATION,
                    help="population annealing on both shuffles: R per run, and R/4 for the check "
                    f"(default {POPULATION}; 0: replica exchange alone)")
    ap.add_argument("--runs", type=int, default=4, help="population annealing's independent runs (default 4)")
    ap.add_argument("--tmin", type=float, default=1.5, help="population annealing's lowest T (default 1.5)")
    ap.add_argument("--work", help="a folder for checkpoints and finished stages: a rerun resumes from them")
    a = ap.parse_args()
    main(population=a.population, runs=a.runs, tmin=a.tmin, work=a.work)
