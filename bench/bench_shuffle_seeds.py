"""Is the shuffle's T_c a property of shuffling, or of one shuffle? (``make bench-shuffle-seeds``).

The figures answer the paper's fourth claim against one whole-network shuffle of MiniLM (shuffle seed 0). A
shuffle is a draw from an ensemble, and the claim is about the ensemble: here the figures' replica exchange (its
range, precision and cold start from the cached ground-state search of the same shuffle) runs on shuffle 0 and
on further independent shuffles (``--seeds``; the shuffle's seed is also the sampler's, as in the figures'
cache), each with ``--sweeps`` production sweeps (default 8,000: on shuffle 0 that certifies C(T) down to T =
1.50, well below its maximum, at half the figures' 16,000). The report asks

1. whether the shuffles' T_c scatter more than their own errors say (Cochran's Q against chi^2 on K - 1
   degrees of freedom): a spread from the draw itself (sample-to-sample fluctuations of the disorder), which the
   figures' test, against one shuffle, does not see;
2. whether any two shuffles differ (each pair's z, and U and C of each shuffle against shuffle 0 over their
   common certified range at family-wise level 0.01): a null test of the errors the figures' test uses;
3. the trained T_c against the shuffles as an ensemble: the one-sided t of the trained T_c against the shuffles'
   mean and against a new shuffle's (the prediction interval), both from the shuffles' sample standard
   deviation on K - 1 degrees of freedom, so that the spread counts whatever its source; beside the figures'
   test against shuffle 0 alone.

Writes ``bench/SHUFFLE_SEEDS.md`` with machine, date and command. ``--work DIR`` keeps the runs, so a rerun
resumes and reads what is finished."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

CORES = os.cpu_count() or 1
SEEDS = (1, 2, 3)
#: Production sweeps of each shuffle's replica exchange: enough to certify C(T) well below its maximum (to T = 1.50
#: on shuffle 0, T_c located; ``bench/RE_SWEEPS.md``) at half the figures' cost per shuffle.
SWEEPS = 8000
WORK = "bench/.work/shuffle_seeds"


def shuffle_thermo(model: str, seed: int, sweeps: int, work: Path, b, dos_dir: Path):
    """The figures' replica exchange (budget ``b``, with ``sweeps`` production sweeps) on whole-network shuffle
    ``seed``: the figures' cached run (``dos_dir``) where it is that one (seed 0 at the budget's sweeps), else
    :func:`ising_nn.paper.cached_thermo` in ``work/dos<sweeps>``, cold from the figures' ground-state search of
    that shuffle where it is cached (copied, so the cold start is the same), else from its own."""
    import dataclasses

    from ising_nn.paper.paths import model_slug, quench_path
    from ising_nn.paper.thermo import cached_thermo

    if seed == 0 and sweeps == b.sweeps_canonical(1.0):
        return cached_thermo(model, shuffle=1.0, b=b, out_dir=dos_dir, verbose=False)
    out = work / f"dos{sweeps}"
    q = quench_path(model, shuffle=1.0, seed=seed, method=b.quench_method, out_dir=dos_dir)
    mine = out / model_slug(model) / "quench"
    mine.mkdir(parents=True, exist_ok=True)
    for f in (q, q.with_suffix(".npz")):
        if f.is_file() and not (mine / f.name).is_file():
            shutil.copy2(f, mine / f.name)
    return cached_thermo(model, shuffle=1.0, seed=seed, b=dataclasses.replace(b, canonical_sweeps_shuffled=sweeps),
                         out_dir=out, verbose=True)


def ensemble(Tc_k, err_k, Tc_trained: float, err_trained: float, dof_trained: float) -> dict:
    """The shuffles' T_c as a sample of the ensemble, and the trained T_c against it (module docstring).

    Parameters
    ----------
    Tc_k, err_k : array_like, shape (K,)
        Each shuffle's located T_c and its error (K >= 2).
    Tc_trained, err_trained : float
        The trained network's T_c and error.
    dof_trained : float
        Degrees of freedom of ``err_trained`` (its jackknife's runs - 1; ``math.inf``: taken as exact).

    Returns
    -------
    dict
        ``mean``, ``sd`` (sample standard deviation, K - 1 dof), ``weighted_mean``, ``weighted_err``, Cochran's
        ``Q`` and ``p_Q`` (chi^2 on K - 1: the shuffles scatter more than their errors), ``tau`` (the
        DerSimonian-Laird spread beyond the errors, 0 where Q <= K - 1), ``max_pair_z`` (the largest |z| of two
        shuffles' difference), and the trained T_c against the ensemble mean (``delta``, ``delta_err``, ``t``,
        ``dof``, ``p``: one-sided, Student's t on the Welch-Satterthwaite dof of the trained error and s / sqrt(K))
        and against a new shuffle (``t_new``, ``dof_new``, ``p_new``: s sqrt(1 + 1 / K) in place of s / sqrt(K)).
    """
    import math

    import numpy as np
    from scipy import stats

    T, e = np.asarray(Tc_k, float), np.asarray(err_k, float)
    K = T.size
    if K < 2 or not (np.isfinite(T).all() and (e > 0).all()):
        raise ValueError("ensemble needs at least two located T_c with positive errors")
    w = 1.0 / e**2
    mw = float((w * T).sum() / w.sum())
    Q = float((w * (T - mw) ** 2).sum())
    tau2 = max(0.0, (Q - (K - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    pair = max(abs(T[i] - T[j]) / math.hypot(e[i], e[j]) for i in range(K) for j in range(i + 1, K))
    m, s = float(T.mean()), float(T.std(ddof=1))

    def test(var_shuffles: float) -> tuple[float, float, float, float]:
        va, vb = err_trained**2, var_shuffles
        den = (va**2 / dof_trained if math.isfinite(dof_trained) else 0.0) + vb**2 / (K - 1)
        nu = (va + vb) ** 2 / den if den > 0 else math.inf  # both errors exact: the normal distribution
        err = math.sqrt(va + vb)
        t = (Tc_trained - m) / err
        return err, t, nu, float(stats.t.sf(t, nu))

    err, t, nu, p = test(s**2 / K)
    _, t_new, nu_new, p_new = test(s**2 * (1 + 1 / K))
    return dict(K=K, mean=m, sd=s, weighted_mean=mw, weighted_err=float(1 / math.sqrt(w.sum())), Q=Q,
                p_Q=float(stats.chi2.sf(Q, K - 1)), tau=math.sqrt(tau2), max_pair_z=float(pair),
                delta=Tc_trained - m, delta_err=err, t=t, dof=nu, p=p, t_new=t_new, dof_new=nu_new, p_new=p_new)


TEMPS = (1.5, 2.0, 3.0, 5.0, 8.0)


def _spread(vals, errs) -> tuple[float, float, float, float]:
    """Mean, sample sd, median error and the chi^2 p of ``vals`` about their weighted mean (``errs``)."""
    import numpy as np
    from scipy import stats

    v, e = np.asarray(vals, float), np.asarray(errs, float)
    w = 1.0 / e**2
    q = float((w * (v - (w * v).sum() / w.sum()) ** 2).sum())
    return float(v.mean()), float(v.std(ddof=1)), float(np.median(e)), float(stats.chi2.sf(q, v.size - 1))


def main(model: str = "minilm", seeds=SEEDS, sweeps: int = SWEEPS, out: str = "bench/SHUFFLE_SEEDS.md",
         work: str = WORK, b=None, dos_dir=None) -> None:
    import datetime
    import math
    import platform
    import sys

    import numpy as np
    import pandas as pd

    from bench.bench_shuffles import re_peak
    from bench.bench_tc import _cost, _pm
    from ising_nn.paper.budget import REFERENCE_SCALE, budget
    from ising_nn.paper.compare import markdown_table
    from ising_nn.paper.criticality import certified_answer
    from ising_nn.paper.paths import DOS_DIR
    from ising_nn.paper.population import population_pair
    from ising_nn.paper.thermo import cached_thermo, coupling_scale
    from ising_nn.results.textfile import atomic_path
    from ising_nn.thermo.agreement import ALPHA, agree, interp_lnT

    b, dos_dir, w = b or budget(), Path(dos_dir or DOS_DIR), Path(work)
    seeds = tuple(sorted({0, *(int(s) for s in seeds)}))
    t0 = time.perf_counter()
    pts = {s: shuffle_thermo(model, s, sweeps, w, b, dos_dir) for s in seeds}
    trained = cached_thermo(model, shuffle=0.0, b=b, out_dir=dos_dir, verbose=False)
    pa = population_pair(model, shuffle=0.0, b=b, out_dir=dos_dir, verbose=False)
    _, ans = certified_answer(model, (trained, pts[0]), (pa, None))
    ptr = ans.peak_trained
    rows, peaks = [], {}
    for s, pt in pts.items():
        cert, p, err = re_peak(pt)
        peaks[s] = (cert, p, err)
        row = dict(shuffle_seed=s, **_cost(pt.header), threads=int(pt.header.get("threads", CORES)),
                   rungs=int(pt.header["rungs"]), T_certified=cert.T_cert, T_c=p.Tc if p.located else math.nan,
                   T_c_err=err, T_c_bound=math.nan if p.located else p.upper, C_max=p.C_max)
        if s:
            c0 = peaks[seeds[0]][0]
            lo = max(cert.T_cert, c0.T_cert)
            T = cert.T_t[cert.T_t >= lo]
            at = [[interp_lnT(T, c.T_t, getattr(c, k)) for k in ("U_t", "U_err_t", "C_t", "C_err_t")]
                  for c in (cert, c0)]
            zu, oku = agree(at[0][0], at[0][1], math.inf, at[1][0], at[1][1], math.inf, ALPHA / 2)
            zc, okc = agree(at[0][2], at[0][3], math.inf, at[1][2], at[1][3], math.inf, ALPHA / 2)
            fin = np.isfinite(zu)
            row.update(T_compared=int(fin.sum()), max_z_U_vs_0=float(np.nanmax(zu)), max_z_C_vs_0=float(np.nanmax(zc)),
                       agree_with_0=bool((oku & okc)[fin].all()))
        rows.append(row)
    located = [s for s in seeds if peaks[s][1].located]
    ens = (ensemble([peaks[s][1].Tc for s in located], [peaks[s][2] for s in located], ptr.Tc, ptr.Tc_err,
                    float(ans.dof) if ans.dof > 0 else math.inf) if len(located) >= 2 and ptr.located else None)
    near = []
    scale = coupling_scale(model) / REFERENCE_SCALE  # the temperatures are MiniLM's units, as the budget's range
    for T in (float(f"{t * scale:.4g}") for t in TEMPS):
        got = [[float(interp_lnT([T], c.T_t, getattr(c, k))[0]) for k in ("U_t", "U_err_t", "C_t", "C_err_t")]
               for c, _, _ in (peaks[s] for s in seeds) if c.T_cert <= T <= c.T_t.max()]
        if len(got) < 2:
            continue
        g = np.array(got)
        mu, su, eu, pu = _spread(g[:, 0], g[:, 1])
        mc, sc, ec, pc = _spread(g[:, 2], g[:, 3])
        near.append(dict(T=T, shuffles=len(got), U_mean=mu, U_sd=su, U_err_median=eu, p_U=pu, C_mean=mc, C_sd=sc,
                         C_err_median=ec, p_C=pc))
    default = seeds == (0, *SEEDS) and sweeps == SWEEPS and out == "bench/SHUFFLE_SEEDS.md"
    command = "`make bench-shuffle-seeds`" if default else (
        f"`python -m bench.bench_shuffle_seeds --seeds {' '.join(map(str, seeds[1:]))} --sweeps {sweeps}`")
    lines = [
        f"# T_c over independent whole-network shuffles of {model}", "",
        f"- date: {datetime.date.today().isoformat()}; machine: {platform.processor() or platform.machine()}, "
        f"{CORES} cores; command: {command}, {time.perf_counter() - t0:.0f} s here (finished runs are read back from "
        f"`{work}`)",
        f"- each shuffle: the figures' replica exchange with {sweeps} sweeps (the figures' shuffle: "
        f"{b.sweeps_canonical(1.0)}; precision {b.precision}, the figures' range, a cold start from the ground-state "
        "search of the same shuffle; the shuffle's seed is also the sampler's)"
        + ("; seed 0 is the figures' cached run." if sweeps == b.sweeps_canonical(1.0) else ".")
        + " T_certified: its hot and cold ladders agree here and above; T_c: the windowed fit of "
        "`ising_nn.paper.criticality.fit_peak` on the certified C(T), its error "
        "the engine's bootstrap error of the grid maximum and the windows' spread (`bench.bench_shuffles.re_peak`); "
        "T_c_bound: C is largest at the certified edge; wall_s: the run's sampling, and its MBAR analysis where "
        "the header records it (`analysis_seconds`, files written since 2026-12-07: about a third more)",
        "- max_z_U_vs_0, max_z_C_vs_0: the largest |z| of U and C against shuffle 0 over their common certified "
        "range (at this shuffle's output temperatures, shuffle 0's interpolated in ln T); agree_with_0: every one "
        "passes the family-wise 0.01 test (Bonferroni, normal: both errors are bootstraps)", "",
        markdown_table(pd.DataFrame(rows), 4), "",
    ]
    if ens is not None:
        lines += [
            "## The trained T_c against the shuffles", "",
            f"- the shuffles' T_c ({ens['K']} located): mean {ens['mean']:.3f}, sample sd {ens['sd']:.3f}; weighted "
            f"mean {_pm(ens['weighted_mean'], ens['weighted_err'], 3)}. Cochran's Q = {ens['Q']:.2f} on {ens['K'] - 1} "
            f"dof (p = {ens['p_Q']:.2g}): "
            + ("the shuffles scatter more than their errors say, by tau = " f"{ens['tau']:.3f}" if ens["p_Q"] < 0.01
               else "no spread beyond their errors is seen" + (f" (tau = {ens['tau']:.3f} at most as estimated)"
                                                              if ens["tau"] > 0 else ""))
            + f"; the largest |z| of two shuffles' difference {ens['max_pair_z']:.2f}",
            f"- trained (the figures' population annealing): T_c = {_pm(ptr.Tc, ptr.Tc_err, 3)} ({ans.dof} dof)",
            f"- against shuffle 0 alone (the figures' test, on this bench's run of it): {ans.delta:.3f} ± "
            f"{ans.delta_err:.3f}, t = {ans.t:.1f}, one-sided p = {ans.p_value:.1e}",
            f"- against the shuffles' mean (its error from their sample sd, {ens['K'] - 1} dof, whatever the spread's "
            f"source): {ens['delta']:.3f} ± {ens['delta_err']:.3f}, t = {ens['t']:.1f} on {ens['dof']:.1f} "
            f"Welch-Satterthwaite dof, one-sided p = {ens['p']:.1e}",
            f"- against a new shuffle (the prediction interval, s sqrt(1 + 1/K)): t = {ens['t_new']:.1f} on "
            f"{ens['dof_new']:.1f} dof, one-sided p = {ens['p_new']:.1e}", "",
        ]
    else:
        lines += ["Fewer than two shuffles have a located maximum, or the trained one is not located: no ensemble "
                  "test.", ""]
    if near:
        lines += ["## U and C across the shuffles", "",
                  "At temperatures (MiniLM's units, scaled to the couplings as the budget's range) certified for at "
                  "least two shuffles (interpolated in ln T): the mean over shuffles, "
                  "their sample sd, the median of their own errors, and the chi^2 p of their scatter about the "
                  "weighted mean (a small p: the shuffles differ by more than their errors, a property of the "
                  "draw).", "", markdown_table(pd.DataFrame(near), 4), ""]
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS),
                    help=f"whole-network shuffle seeds beside the figures' 0 (default {' '.join(map(str, SEEDS))})")
    ap.add_argument("--sweeps", type=int, default=SWEEPS, help=f"production sweeps of each shuffle (default {SWEEPS})")
    ap.add_argument("--out", default="bench/SHUFFLE_SEEDS.md")
    ap.add_argument("--work", default=WORK, help=f"where the runs are kept (default {WORK})")
    a = ap.parse_args()
    main(seeds=a.seeds, sweeps=a.sweeps, out=a.out, work=a.work)
