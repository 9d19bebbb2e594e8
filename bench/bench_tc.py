"""The T_c answer's tables from the cached MiniLM results (``make bench-tc``): replica exchange
(``dos/minilm/thermo/{trained,shuffled}.dat``) against population annealing (``..._pa.dat`` and its R/4 check
``..._pa_check.dat``; a network the budget leaves to replica exchange, by default the shuffled one, has
its ladders alone), both as ``make figures`` computed them. Nothing is sampled here; a missing result is
one line and exit 2 (run ``make figures`` first). Writes ``bench/TC.md``: per network the lowest certified
temperature of each method and its cost, U and C at T = 2, 3, 4, 5, 6 with errors and the family statistic,
the largest |z| of R against R/4 and of population annealing against replica exchange where both are
certified, and the answer to the paper's fourth claim with its one-sided test; and the replica-exchange
curve's two estimators (MBAR on the exact marginal, MBAR on raw energies) against each other and, on the
shuffled network above T = 7, against the exact loop-free high-temperature expansion."""

from __future__ import annotations

import datetime
import os
import platform
import sys

import numpy as np
import pandas as pd

TEMPS = (2.0, 3.0, 4.0, 5.0, 6.0)
CORES = os.cpu_count() or 1


def _read(model: str, shuffle: float):
    """The replica-exchange result and, where the budget ran it (``pa_shuffled``: not the shuffled network by
    default), population annealing's result and its R/4 check (else None, None)."""
    from ising_nn.paper.paths import DOS_DIR, population_path
    from ising_nn.paper.population import CachedPopulation
    from ising_nn.paper.thermo import CachedThermo

    stem = "shuffled" if shuffle == 1.0 else "trained"
    pt_path = DOS_DIR / model / "thermo" / f"{stem}.dat"
    pa = [population_path(model, shuffle=shuffle), population_path(model, shuffle=shuffle, check=True)]
    needed = [pt_path] + (pa if shuffle == 0.0 or any(p.is_file() for p in pa) else [])
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        print(f"bench-tc: error: no {', '.join(missing)}: run `make figures` first", file=sys.stderr)
        raise SystemExit(2)
    if len(needed) == 1:
        return CachedThermo.read(pt_path), None, None
    return CachedThermo.read(pt_path), CachedPopulation.read(pa[0]), CachedPopulation.read(pa[1])


def _cost(sec) -> dict:
    """Wall seconds and core-hours: a replica-exchange header (a dict) says its seconds, its MBAR analysis's
    (``analysis_seconds``, in files since 2026-12-07; before, not counted) and threads (without ``threads``, a run
    of every core); population annealing's headers (a list) say how long their pilot and
    runs took and on how many threads each (``run_seconds``, ``threads_per_run``; without them, a run of every
    core)."""
    if isinstance(sec, dict):
        s = float(sec["seconds"]) + float(sec.get("analysis_seconds", 0.0))
        return dict(wall_s=s, core_hours=s * int(sec.get("threads", CORES)) / 3600)
    wall = sum(float(h["seconds"]) for h in sec)
    core = sum(float(h.get("run_seconds", h["seconds"])) * int(h.get("threads_per_run", CORES)) for h in sec)
    return dict(wall_s=wall, core_hours=core / 3600)


def _pm(x: float, e: float, digits: int = 4) -> str:
    if not np.isfinite(x):
        return "-"
    return f"{x:.{digits}f} ± {e:.{digits}f}"


def _estimators(model: str, pts: dict) -> list[str]:
    """Replica exchange's C: marginal MBAR against raw-energy MBAR, and against the exact high-T expansion."""
    from scipy.stats import norm

    from ising_nn.model.load import load_couplings

    rows = []
    for kind, pt in pts.items():
        cur, raw = pt.curve, pt.raw_curve
        row = dict(network=kind, temperatures=len(cur.T_t),
                   C_rel_err_marginal=float(np.median(cur.C_err_t / cur.C_t)),
                   C_rel_err_raw=float(np.median(raw.C_err_t / raw.C_t)),
                   max_z_marginal_vs_raw_C=float(np.max(np.abs(cur.C_t - raw.C_t)
                                                        / np.hypot(cur.C_err_t, raw.C_err_t))))
        if kind == "shuffled":
            c = load_couplings(model, shuffle=1.0, seed=0)
            J = np.concatenate([np.asarray(m, dtype=np.float64).ravel() for m in c.J])
            for name, cv in (("marginal", cur), ("raw", raw)):
                sel = cv.T_t >= 7.0
                x = J[None, :] / cv.T_t[sel][:, None]
                C = (x**2 / np.cosh(x) ** 2).sum(1) / c.n_spins
                row[f"max_z_{name}_vs_exact_C_T7"] = float(np.max(np.abs(cv.C_t[sel] - C) / cv.C_err_t[sel]))
            row["z_crit_0.01"] = float(norm.isf(0.01 / (4 * int((cur.T_t >= 7.0).sum()))))
        rows.append(row)
    from ising_nn.paper.compare import markdown_table

    return ["## Replica exchange: the curve's estimator", "",
            "C per spin from MBAR on the exact marginals of both parities of layers, weighted (the engine's curve, "
            "`ising_nn.canonical.rbmbar`) against MBAR on the raw energies of the same run (`raw_curve`): median "
            "relative error, largest |z| between them; on the shuffled network above T = 7, largest |z| against "
            "the exact loop-free value sum (beta J)^2 sech^2(beta J) / N (loops of four couplings of random sign "
            "change it by about 1e-5), with the family-wise 0.01 threshold.", "",
            markdown_table(pd.DataFrame(rows), 4), ""]


def _ladders(pt, temps=TEMPS) -> dict:
    """Replica exchange's two ladders at ``temps``, interpolated in ln T over the rungs (below T_equilibrated
    they disagree: not certified)."""
    o = np.argsort(pt.T_k)[: int(np.isfinite(pt.T_k).sum())]  # ascending, beta = 0 left out
    return {f"{q}_{l}": np.interp(np.log(temps), np.log(pt.T_k[o]), getattr(pt, f"{q}_lk")[i][o],
                                  left=np.nan, right=np.nan)
            for q in ("U", "U_err", "C", "C_err") for i, l in enumerate(("hot", "cold"))}


def _canonical_section(kind: str, pt, t_eq: float) -> list[str]:
    """A network the budget left to replica exchange alone: its curve (MBAR over both ladders) and each ladder."""
    from ising_nn.paper.compare import markdown_table
    from ising_nn.paper.criticality import certify_canonical, compare_at

    lad = _ladders(pt)
    rows = [dict(T=r.T, PT_U=_pm(r.PT_U, r.PT_U_err), PT_U_hot=_pm(lad["U_hot"][j], lad["U_err_hot"][j]),
                 PT_U_cold=_pm(lad["U_cold"][j], lad["U_err_cold"][j]), PT_C=_pm(r.PT_C, r.PT_C_err),
                 PT_C_hot=_pm(lad["C_hot"][j], lad["C_err_hot"][j]),
                 PT_C_cold=_pm(lad["C_cold"][j], lad["C_err_cold"][j]), PT_certified=r.PT_certified)
            for j, r in enumerate(compare_at(TEMPS, certify_canonical(pt), pt).itertuples())]
    return [f"## {kind}", "",
            f"No population annealing in this budget (`pa_shuffled=False`): replica exchange alone, certified "
            f"down to T = {t_eq:.4g}, where its hot and cold ladders agree.", "",
            markdown_table(pd.DataFrame(rows), 4), ""]


def _parities(cert) -> str:
    """The fourth test's sentence: the even and the odd layers' estimates against each other."""
    if cert.z_parity_t is None:
        return " The runs predate the parities' records (no odd against even test)."
    k, z = cert.certified_t, cert.z_parity_t
    top = (f"{np.nanmax(z[k]):.2f} over the certified range" if k.any() else "none certified")
    low = f", {np.nanmax(z[~k]):.2f} below it" if (~k).any() else ""
    first = cert.T_t[~cert.parity_ok_t]
    part = f"; they first part at T = {first.max():.4g}" if first.size else "; they agree at every temperature"
    return f" The odd against the even layers' estimates: largest |z| {top}{low}{part}."


def main(model: str = "minilm", out: str = "bench/TC.md") -> None:
    from ising_nn.paper.compare import markdown_table
    from ising_nn.paper.criticality import certify, certify_canonical, compare_at, tc_answer

    certs, sections, cost, pts = {}, [], [], {}
    for kind, shuffle in (("trained", 0.0), ("shuffled", 1.0)):
        pt, main_, check = _read(model, shuffle)
        pts[kind] = pt
        t_eq = float(pt.header["T_equilibrated"])
        methods = [("replica exchange", t_eq, pt.header,
                    f"{pt.header['sweeps']} sweeps, {pt.header['rungs']} rungs, hot and cold ladders agree")]
        if main_ is None:
            certs[kind] = certify_canonical(pt)
            cost += [dict(network=kind, method=m, T_certified=T_low, **_cost(sec), how=what)
                     for m, T_low, sec, what in methods]
            sections += _canonical_section(kind, pt, t_eq)
            continue
        cert = certify(main_, check, pt)
        certs[kind] = cert
        both = cert.T_t >= t_eq
        methods.append(
            ("population annealing", cert.T_cert, [main_.header, check.header],
             f"{main_.runs} runs of R = {main_.population} and {check.runs} of R = {check.population}, "
             f"{main_.header['input.sweeps_per_step']} sweeps per step; families, R against R/4, replica exchange"
             + ("" if cert.parity_ok_t is None else ", odd against even layers")))
        cost += [dict(network=kind, method=m, T_certified=T_low, **_cost(sec), how=what)
                 for m, T_low, sec, what in methods]
        df = compare_at(TEMPS, cert, pt)
        lad = _ladders(pt)
        rows = [dict(T=r.T, PA_U=_pm(r.PA_U, r.PA_U_err), PT_U_hot=_pm(lad["U_hot"][j], lad["U_err_hot"][j]),
                     PT_U_cold=_pm(lad["U_cold"][j], lad["U_err_cold"][j]), PA_C=_pm(r.PA_C, r.PA_C_err),
                     PT_C_hot=_pm(lad["C_hot"][j], lad["C_err_hot"][j]),
                     PT_C_cold=_pm(lad["C_cold"][j], lad["C_err_cold"][j]), rho_t=f"{r.PA_rho_t:.1f}",
                     PA_certified=r.PA_certified, PT_certified=r.PT_certified)
                for j, r in enumerate(df.itertuples())]
        z_pt = np.nanmax(cert.z_pt_t[both]) if both.any() else float("nan")
        z_pt_C = np.nanmax(cert.z_pt_C_t[both]) if both.any() else float("nan")
        k = cert.certified_t
        sections += [
            f"## {kind}", "",
            f"Population annealing certified down to T = {cert.T_cert:.4g}"
            + (f" (below it the first test to fail is: {cert.failed})" if cert.failed else "")
            + f"; replica exchange down to T = {t_eq:.4g}. Where both are certified ({int(both.sum())} "
            f"temperatures), the largest |z| between them is {z_pt:.2f} for U and {z_pt_C:.2f} for C "
            f"(both decide; see `ising_nn.paper.criticality`); over the certified range the "
            f"largest |z| of R against R/4 is {np.nanmax(cert.z_check_t[k]) if k.any() else float('nan'):.2f}, "
            f"and below it {np.nanmax(cert.z_check_t[~k]) if (~k).any() else float('nan'):.2f}."
            + _parities(cert), "",
            markdown_table(pd.DataFrame(rows), 4), ""]
    ans = tc_answer(model, certs["trained"], certs["shuffled"])
    lines = [
        f"# T_c, trained against shuffled ({model})", "",
        f"- date: {datetime.date.today().isoformat()}; machine: {platform.processor() or platform.machine()}, "
        f"{CORES} cores; command: `make bench-tc` (reads the cached results of `make figures`; the costs are the "
        "wall seconds in their headers, core-hours = seconds x the threads they ran on)",
        "- U, C per spin; errors: population annealing jackknife over runs, replica exchange's hot and cold "
        "ladders (started from random spins and from the ground-state search) jackknife at each rung; "
        "rho_t: mean family statistic of the runs (the families criterion needs M_eff R >= 100 rho_t)", "",
        "## Cost and lowest certified temperature", "",
        markdown_table(pd.DataFrame(cost), 4), "",
        *sections,
        *_estimators(model, pts),
        "## The answer", "",
        ans.statement(), "",
        markdown_table(ans.table(), 4), "",
    ]
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    main()
