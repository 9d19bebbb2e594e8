"""How far down longer replica exchange certifies whole-network shuffled MiniLM, and where it puts C's maximum
(``make bench-re-sweeps``).

The figures' budget certifies the shuffled network's C(T) by replica exchange alone, down to where its hot and
cold ladders agree, and that edge falls with the sweeps; C's maximum is located only once it lies well inside.
Here the same engine (the figures' range, precision, seed and cold start from the cached ground-state search)
runs ``--sweeps`` production sweeps each (the budget's own count is the figures' run, read from ``dos/``;
``canonical_sweeps_shuffled``), and population annealing on the same shuffle (``--population``
R and R/4, ``--runs`` runs, the figures' sweeps per step, down to ``--tmin``) is the second, independent method:
within each replica-exchange run's certified range, U and C of the two must agree (``ising_nn.paper.
criticality.certify``'s third test, family-wise level 0.01). Agreeing hot and cold ladders are necessary, not
sufficient: on untuned networks population annealing found lower U where they agreed (``bench/CROSSCHECK.md``).

Writes ``bench/RE_SWEEPS.md`` with machine, date and command: per run its cost, rungs, the lowest certified
temperature, C's maximum (the windowed fit, or a bound) and the two methods' largest |z| over that range; and
U and C of the hot and cold ladders at a few temperatures near the edge. ``--work DIR`` keeps the runs, so a
rerun resumes."""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ising_nn.results.textfile import atomic_path

CORES = os.cpu_count() or 1
SWEEPS = (1000, 4000, 8000, 16000)
TEMPS = (1.8, 2.0, 2.2, 2.4, 2.6)


def replica_exchange(model: str, sweeps: int, work: Path, b, dos_dir: Path):
    """The figures' replica exchange (budget ``b``, cache ``dos_dir``) on the whole shuffle with ``sweeps``
    production sweeps: the figures' cached run where ``sweeps`` is the budget's, else
    :func:`ising_nn.paper.cached_thermo` in ``work/dos<sweeps>`` (a copy of the figures' ground-state search
    gives the same cold start)."""
    from ising_nn.paper.paths import model_slug
    from ising_nn.paper.thermo import cached_thermo

    if sweeps == b.sweeps_canonical(1.0):
        return cached_thermo(model, shuffle=1.0, b=b, out_dir=dos_dir, verbose=False)
    out = work / f"dos{sweeps}"
    quench = out / model_slug(model) / "quench"
    if not quench.is_dir():
        quench.mkdir(parents=True)
        for f in (dos_dir / model_slug(model) / "quench").glob("shuffled_*"):
            shutil.copy2(f, quench / f.name)
    return cached_thermo(model, shuffle=1.0, b=dataclasses.replace(b, canonical_sweeps_shuffled=sweeps),
                         out_dir=out)


def _largest(z) -> float:
    return float(np.nanmax(z)) if np.isfinite(z).any() else math.nan


def main(model: str = "minilm", out: str = "bench/RE_SWEEPS.md", sweeps=SWEEPS, population: int = 512,
         runs: int = 4, tmin: float = 1.5, work: str = "bench/.work/re_sweeps", b=None, dos_dir=None) -> None:
    from bench.bench_crosscheck import _stage
    from bench.bench_shuffles import re_peak, shuffle_population
    from bench.bench_tc import _cost, _ladders, _pm
    from ising_nn.model.load import load_couplings
    from ising_nn.paper.budget import budget
    from ising_nn.paper.compare import markdown_table
    from ising_nn.paper.criticality import certified_answer, certify
    from ising_nn.paper.paths import DOS_DIR
    from ising_nn.paper.population import population_pair
    from ising_nn.paper.thermo import cached_thermo

    b, dos_dir = b or budget(), Path(dos_dir or DOS_DIR)
    w = Path(work)
    w.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    pts = {s: replica_exchange(model, s, w, b, dos_dir) for s in sorted({b.sweeps_canonical(1.0), *sweeps})}
    trained = (cached_thermo(model, shuffle=0.0, b=b, out_dir=dos_dir, verbose=False),
               population_pair(model, shuffle=0.0, b=b, out_dir=dos_dir, verbose=False))
    pa = None
    if population:
        c = load_couplings(model, shuffle=1.0, seed=0)
        (pa, s_r), (chk, s_c) = (_stage(str(w), f"pa_{n}", lambda n=n: shuffle_population(
            c, n, runs, tmin, str(w / f"pa_{n}_runs"))) for n in (population, population // 4))
    rows, near, statements = [], [], {}
    for s, pt in pts.items():
        cert, p, err = re_peak(pt)
        h = pt.header
        row = dict(sweeps=s, **_cost(h), threads=int(h.get("threads", CORES)), rungs=int(h["rungs"]),
                   T_certified=cert.T_cert, T_c=p.Tc if p.located else math.nan, T_c_err=err,
                   T_c_bound=math.nan if p.located else p.upper, C_max=p.C_max)
        if pa is not None:
            x = certify(pa, chk, pt)
            inside = x.T_t >= cert.T_cert
            zu, zc = x.z_pt_t[inside], x.z_pt_C_t[inside]
            row.update(PA_temperatures=int(np.isfinite(zu).sum()), max_z_U=_largest(zu), max_z_C=_largest(zc),
                       methods_agree=bool(x.pt_ok_t[inside].all()))
        ans = certified_answer(model, (trained[0], pt), (trained[1], None))[1]
        row.update(delta_Tc=ans.delta, delta_Tc_err=ans.delta_err, t=ans.t, p_one_sided=ans.p_value)
        statements[s] = ans.statement()
        rows.append(row)
        lad = _ladders(pt, TEMPS)
        for j, T in enumerate(TEMPS):
            near.append(dict(sweeps=s, T=T, U_hot=_pm(lad["U_hot"][j], lad["U_err_hot"][j]),
                             U_cold=_pm(lad["U_cold"][j], lad["U_err_cold"][j]),
                             C_hot=_pm(lad["C_hot"][j], lad["C_err_hot"][j]),
                             C_cold=_pm(lad["C_cold"][j], lad["C_err_cold"][j]), certified=bool(T >= cert.T_cert)))
    if pa is not None:
        from ising_nn.thermo.agreement import interp_lnT

        est, err, *_ = pa.combined()
        T_i = 1.0 / np.where(pa.beta_i > 0, pa.beta_i, np.nan)
        ok = np.isfinite(T_i)
        for r in near:
            r["PA_U"] = _pm(*(float(interp_lnT([r["T"]], T_i[ok], a[ok])[0]) for a in (est[0], err[0])))
            r["PA_C"] = _pm(*(float(interp_lnT([r["T"]], T_i[ok], a[ok])[0]) for a in (est[1], err[1])))
    default = tuple(sweeps) == SWEEPS and (population, runs, tmin) == (512, 4, 1.5)
    command = "`make bench-re-sweeps`" if default else (
        f"`python -m bench.bench_re_sweeps --sweeps {' '.join(map(str, sweeps))} --population {population} "
        f"--runs {runs} --tmin {tmin:g}`")
    lines = [
        f"# Longer replica exchange on whole-network shuffled {model}", "",
        f"- date: {datetime.date.today().isoformat()}; machine: {platform.processor() or platform.machine()}, "
        f"{CORES} cores; command: {command}, {time.perf_counter() - t0:.0f} s here (finished stages are read "
        f"back from `{work}`)",
        f"- replica exchange: the figures' range, precision, seed and cold start; the budget's "
        f"{b.sweeps_canonical(1.0)} sweeps are the figures' cached run; burn-in a quarter of the sweeps. "
        "T_certified: its hot and cold ladders agree here and above; T_c: the windowed fit of "
        "`ising_nn.paper.criticality.fit_peak` on the certified C(T), its error the engine's bootstrap error of the "
        "grid maximum and the windows' spread; T_c_bound: C is largest at the certified edge, T_c lies below",
    ]
    if pa is not None:
        own = certify(pa, chk)
        lines.append(
            f"- population annealing: {runs} runs of R = {population} and of R/4, the figures' sweeps per step and "
            f"precision, down to T = {tmin:g} ({s_r:.0f} s and {s_c:.0f} s); by its own tests (families criterion, R "
            f"against R/4) certified only down to T = {own.T_cert:.4g}"
            + (f" (first failing below: {own.failed})" if own.failed else "") + "; max_z_U, max_z_C: its largest |z| "
            "against replica exchange over that run's certified range; methods_agree: every one passes the "
            "family-wise 0.01 threshold")
    lines.append(
        "- delta_Tc, its error, t and the one-sided p: the answer to the paper's fourth claim with this run as the "
        "shuffle's curve and the figures' trained one (`ising_nn.paper.criticality.certified_answer`, the rule of "
        "the heat figure and `ising-nn analyze`); against a bound, delta_Tc is NaN and t tests the trained T_c "
        "against it")
    lines += ["", markdown_table(pd.DataFrame(rows), 4), "",
              f"With {max(statements)} sweeps: " + statements[max(statements)], "",
              "## The ladders near the edge", "",
              "U and C per spin of the hot and cold ladders (interpolated between rungs in ln T), and population "
              "annealing's (jackknife over runs; not certified by its own families criterion this low).", "",
              markdown_table(pd.DataFrame(near), 4), ""]
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sweeps", type=int, nargs="+", default=list(SWEEPS),
                    help=f"production sweeps of each longer run (default {' '.join(map(str, SWEEPS))})")
    ap.add_argument("--population", type=int, default=512, help="population annealing's R (0: none; default 512)")
    ap.add_argument("--runs", type=int, default=4, help="population annealing's runs (default 4)")
    ap.add_argument("--tmin", type=float, default=1.5, help="population annealing's lowest T (default 1.5)")
    ap.add_argument("--work", default="bench/.work/re_sweeps", help="where runs and checkpoints are kept")
    a = ap.parse_args()
    main(sweeps=tuple(a.sweeps), population=a.population, runs=a.runs, tmin=a.tmin, work=a.work)
