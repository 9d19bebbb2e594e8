"""How far down longer replica exchange certifies whole-network MiniLM, shuffled or trained, and where it puts C's
maximum (``make bench-re-sweeps``, ``make bench-re-sweeps-trained``).

Replica exchange certifies C(T) down to where its hot and cold ladders agree, and that edge falls with the
sweeps; C's maximum is located only once it lies well inside. Here the same engine (the figures' range,
precision, seed and cold start from the cached ground-state search) runs ``--sweeps`` production sweeps each
(the budget's own count is the figures' run, read from ``dos/``), and population annealing is the second,
independent method: within each replica-exchange run's certified range, U and C of the two must agree
(``ising_nn.paper.criticality.certify``'s third test, family-wise level 0.01). On the shuffle population
annealing is run here (``--population`` R and R/4, ``--runs`` runs, the figures' sweeps per step, down to
``--tmin``); on the trained network it is the figures' own pair, whose families criterion certifies it only down
to T = 4.41, so a longer replica exchange is the one route below that this bench measures. Agreeing hot and
cold ladders are necessary, not sufficient: on untuned networks population annealing found lower U where they
agreed (``bench/CROSSCHECK.md``).

Writes ``bench/RE_SWEEPS.md`` (``bench/RE_SWEEPS_trained.md``) with machine, date and command: per run its
cost, rungs, the lowest certified temperature, C's maximum (the windowed fit, or a bound) and the two methods'
largest |z| over that range; and U and C of the hot and cold ladders at a few temperatures near the edge.
``--work DIR`` keeps the runs, so a rerun resumes."""

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
#: Per network: the default sweeps, the temperatures of the ladders' table (near each one's edge), the report,
#: and the work folder.
NETWORKS = dict(
    shuffled=(SWEEPS, (1.8, 2.0, 2.2, 2.4, 2.6), "bench/RE_SWEEPS.md", "bench/.work/re_sweeps"),
    trained=((4000, 16000), (3.5, 4.0, 4.5, 5.0, 6.0), "bench/RE_SWEEPS_trained.md", "bench/.work/re_sweeps_trained"),
)
TEMPS = NETWORKS["shuffled"][1]


def replica_exchange(model: str, sweeps: int, work: Path, b, dos_dir: Path, shuffle: float = 1.0):
    """The figures' replica exchange (budget ``b``, cache ``dos_dir``) on the whole network (``shuffle`` 1: its
    shuffle, 0: trained) with ``sweeps`` production sweeps: the figures' cached run where ``sweeps`` is the
    budget's, else :func:`ising_nn.paper.cached_thermo` in ``work/dos<sweeps>`` (a copy of the figures'
    ground-state search gives the same cold start)."""
    from ising_nn.paper.paths import model_slug
    from ising_nn.paper.thermo import cached_thermo

    if sweeps == b.sweeps_canonical(shuffle):
        return cached_thermo(model, shuffle=shuffle, b=b, out_dir=dos_dir, verbose=False)
    out = work / f"dos{sweeps}"
    quench = out / model_slug(model) / "quench"
    if not quench.is_dir():
        quench.mkdir(parents=True)
        for f in (dos_dir / model_slug(model) / "quench").glob("shuffled_*" if shuffle else "trained_*"):
            shutil.copy2(f, quench / f.name)
    # the other network's count is pinned, so that only this run's cache key moves
    longer = (dict(canonical_sweeps_shuffled=sweeps) if shuffle else
              dict(canonical_sweeps=sweeps, canonical_sweeps_shuffled=b.sweeps_canonical(1.0)))
    return cached_thermo(model, shuffle=shuffle, b=dataclasses.replace(b, **longer), out_dir=out)


def _largest(z) -> float:
    return float(np.nanmax(z)) if np.isfinite(z).any() else math.nan


def ladders_against(pt, own) -> dict:
    """Population annealing's curve (``own``, a :class:`~ising_nn.paper.criticality.Certified`) against each of
    replica exchange's ladders alone, at the rungs inside population annealing's range, certified or not.

    Returns ``{"hot": (T_agreed, max_z_U, max_z_C), "cold": ...}``: the lowest rung above which U and C agree at
    every rung (from the hottest down, the first parting ends the stretch; :func:`ising_nn.thermo.agreement.agree`
    at family-wise level ``ALPHA`` split between U and C, population annealing's error on runs - 1 degrees of
    freedom, the ladder's bootstrap taken as exact) and the largest |z| over the range. Where the ladders part,
    this says which of them the independent method sides with; it certifies neither."""
    from bench.bench_tc import _ladders
    from ising_nn.thermo.agreement import ALPHA, agree, interp_lnT

    T = np.sort(pt.T_k[np.isfinite(pt.T_k)])
    T = T[(T >= np.nanmin(own.T_t)) & (T <= np.nanmax(own.T_t))]
    lad = _ladders(pt, T)  # at the rungs themselves: each ladder's own values
    pa = {q: interp_lnT(T, own.T_t, getattr(own, f"{q}_t")) for q in ("U", "U_err", "C", "C_err")}
    out = {}
    for ladder in ("hot", "cold"):
        z, ok = {}, {}
        for q in ("U", "C"):
            z[q], ok[q] = agree(pa[q], pa[f"{q}_err"], own.runs - 1, lad[f"{q}_{ladder}"],
                                lad[f"{q}_err_{ladder}"], math.inf, ALPHA / 2)
        desc = np.argsort(T)[::-1]
        parts = np.flatnonzero(~(ok["U"] & ok["C"])[desc])
        stretch = desc if parts.size == 0 else desc[: parts[0]]
        out[ladder] = (float(T[stretch].min()) if stretch.size else math.nan, _largest(z["U"]), _largest(z["C"]))
    return out


def main(model: str = "minilm", network: str = "shuffled", out: str | None = None, sweeps=None,
         population: int = 512, runs: int = 4, tmin: float = 1.5, work: str | None = None, b=None,
         dos_dir=None) -> None:
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

    default_sweeps, temps, default_out, default_work = NETWORKS[network]
    shuffle = 1.0 if network == "shuffled" else 0.0
    sweeps, out, work = tuple(sweeps or default_sweeps), out or default_out, work or default_work
    b, dos_dir = b or budget(), Path(dos_dir or DOS_DIR)
    w = Path(work)
    w.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    pts = {s: replica_exchange(model, s, w, b, dos_dir, shuffle)
           for s in sorted({b.sweeps_canonical(shuffle), *sweeps})}
    fig = {sh: cached_thermo(model, shuffle=sh, b=b, out_dir=dos_dir, verbose=False) for sh in (0.0, 1.0)}
    trained_pa = population_pair(model, shuffle=0.0, b=b, out_dir=dos_dir, verbose=False)
    pa = None
    if shuffle == 0.0:
        if trained_pa is not None:
            # the figures' own population annealing on the trained network, its populations' costs from headers
            (pa, chk), (s_r, s_c) = trained_pa, (float(p.header["seconds"]) for p in trained_pa)
    elif population:
        c = load_couplings(model, shuffle=1.0, seed=0)
        (pa, s_r), (chk, s_c) = (_stage(str(w), f"pa_{n}", lambda n=n: shuffle_population(
            c, n, runs, tmin, str(w / f"pa_{n}_runs"))) for n in (population, population // 4))
    rows, near, statements = [], [], {}
    own = None if pa is None else certify(pa, chk)  # population annealing by its own tests
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
            if shuffle == 0.0:
                for ladder, (t_ag, z_u, z_c) in ladders_against(pt, own).items():
                    row.update({f"PA_{ladder}_agree_to": t_ag, f"max_z_U_{ladder}": z_u, f"max_z_C_{ladder}": z_c})
        ans = (certified_answer(model, (fig[0.0], pt), (trained_pa, None)) if shuffle else
               certified_answer(model, (pt, fig[1.0]), (None, None)))[1]
        row.update(delta_Tc=ans.delta, delta_Tc_err=ans.delta_err, t=ans.t, p_one_sided=ans.p_value)
        statements[s] = ans.statement()
        rows.append(row)
        lad = _ladders(pt, temps)
        for j, T in enumerate(temps):
            near.append(dict(sweeps=s, T=T, U_hot=_pm(lad["U_hot"][j], lad["U_err_hot"][j]),
                             U_cold=_pm(lad["U_cold"][j], lad["U_err_cold"][j]),
                             C_hot=_pm(lad["C_hot"][j], lad["C_err_hot"][j]),
                             C_cold=_pm(lad["C_cold"][j], lad["C_err_cold"][j]), certified=bool(T >= cert.T_cert)))
    if pa is not None:
        from ising_nn.thermo.agreement import interp_lnT

        for r in near:
            r["PA_U"] = _pm(*(float(interp_lnT([r["T"]], own.T_t, a)[0]) for a in (own.U_t, own.U_err_t)))
            r["PA_C"] = _pm(*(float(interp_lnT([r["T"]], own.T_t, a)[0]) for a in (own.C_t, own.C_err_t)))
    if shuffle == 0.0:
        default = sweeps == default_sweeps
        command = "`make bench-re-sweeps-trained`" if default else (
            f"`python -m bench.bench_re_sweeps --network trained --sweeps {' '.join(map(str, sweeps))}`")
    else:
        default = sweeps == default_sweeps and (population, runs, tmin) == (512, 4, 1.5)
        command = "`make bench-re-sweeps`" if default else (
            f"`python -m bench.bench_re_sweeps --sweeps {' '.join(map(str, sweeps))} --population {population} "
            f"--runs {runs} --tmin {tmin:g}`")
    if out != default_out:
        command = command.rstrip("`") + f" --out {out}`" if command.startswith("`python") else (
            f"`python -m bench.bench_re_sweeps{' --network trained' if shuffle == 0.0 else ''} "
            f"--sweeps {' '.join(map(str, sweeps))} --out {out}`")
    lines = [
        f"# Longer replica exchange on whole-network {network} {model}", "",
        f"- date: {datetime.date.today().isoformat()}; machine: {platform.processor() or platform.machine()}, "
        f"{CORES} cores; command: {command}, {time.perf_counter() - t0:.0f} s here (finished stages are read "
        f"back from `{work}`)",
        f"- replica exchange: the figures' range, precision, seed and cold start; the budget's "
        f"{b.sweeps_canonical(shuffle)} sweeps are the figures' cached run; burn-in a quarter of the sweeps. "
        "T_certified: its hot and cold ladders agree here and above; T_c: the windowed fit of "
        "`ising_nn.paper.criticality.fit_peak` on the certified C(T), its error the engine's bootstrap error of the "
        "grid maximum and the windows' spread; T_c_bound: C is largest at the certified edge, T_c lies below",
    ]
    if pa is not None:
        lines.append(
            (f"- population annealing: {runs} runs of R = {population} and of R/4, the figures' sweeps per step and "
             f"precision, down to T = {tmin:g}" if shuffle else
             f"- population annealing: the figures' own (`dos/`), {b.pa_runs} runs of R = {b.pa_population} and of "
             "R/4")
            + f" ({s_r:.0f} s and {s_c:.0f} s); by its own tests (families criterion, R "
            f"against R/4) certified only down to T = {own.T_cert:.4g}"
            + (f" (first failing below: {own.failed})" if own.failed else "") + "; max_z_U, max_z_C: its largest |z| "
            "against replica exchange over that run's certified range; methods_agree: every one passes the "
            "family-wise 0.01 threshold")
        if shuffle == 0.0:
            lines.append(
                "- PA_hot_agree_to, PA_cold_agree_to: population annealing against each ladder alone at every rung of "
                f"its range (down to T = {np.nanmin(own.T_t):.3g}, certified or not): the lowest rung above which U "
                "and C agree at every rung (`ladders_against`, family-wise 0.01); max_z_U_hot and the rest: the "
                "largest |z| over that range. Where the ladders part, this says which one the independent method "
                "sides with; it certifies neither")
    lines.append(
        "- delta_Tc, its error, t and the one-sided p: the answer to the paper's fourth claim with this run as the "
        + ("shuffle's curve and the figures' trained one" if shuffle else
           "trained network's curve (replica exchange alone, not the figures' population annealing) and the "
           "figures' shuffled one")
        + " (`ising_nn.paper.criticality.certified_answer`, the rule of the heat figure and `ising-nn analyze`); "
        "against a bound, delta_Tc is NaN and t tests the trained T_c against it")
    lines += ["", markdown_table(pd.DataFrame(rows), 4), "",
              f"With {max(statements)} sweeps: " + statements[max(statements)], "",
              "## The ladders near the edge", "",
              "U and C per spin of the hot and cold ladders (interpolated between rungs in ln T), and population "
              "annealing's (jackknife over runs; certified by its own tests only down to "
              + (f"T = {own.T_cert:.4g})." if pa is not None else "where it ran).") , "",
              markdown_table(pd.DataFrame(near), 4), ""]
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--network", choices=sorted(NETWORKS), default="shuffled",
                    help="the whole network's shuffle or the trained network (default shuffled)")
    ap.add_argument("--sweeps", type=int, nargs="+",
                    help="production sweeps of each longer run (default: "
                    + "; ".join(f"{k} {' '.join(map(str, v[0]))}" for k, v in NETWORKS.items()) + ")")
    ap.add_argument("--population", type=int, default=512,
                    help="population annealing's R on the shuffle (0: none; default 512); the trained network's is "
                    "the figures'")
    ap.add_argument("--runs", type=int, default=4, help="population annealing's runs on the shuffle (default 4)")
    ap.add_argument("--tmin", type=float, default=1.5,
                    help="population annealing's lowest T on the shuffle (default 1.5)")
    ap.add_argument("--work", help="where runs and checkpoints are kept (default bench/.work/re_sweeps[_trained])")
    ap.add_argument("--out", help="the report (default bench/RE_SWEEPS.md, bench/RE_SWEEPS_trained.md)")
    a = ap.parse_args()
    main(network=a.network, sweeps=a.sweeps, population=a.population, runs=a.runs, tmin=a.tmin, work=a.work,
         out=a.out)
