"""A paper-sized model run end to end at the figures' budget (``make bench-paper-run`` writes
``bench/PAPER_RUN.md``).

:mod:`bench.bench_paper` times a few sweeps of each stage and projects the rest; this runs the whole chain that
``make figures`` runs for a model, on models of the paper's size (default ``gpt2`` and ``opt-125m``, 65,280
spins each, built from ``GPT2Config()`` and ``OPTConfig()`` with random weights, saved with
``save_pretrained`` and loaded by path):

1. the ground-state search, ``cached_quench`` (anneal, 64 restarts);
2. the canonical engine, ``cached_thermo`` (two ladders, hot and cold, 1,000 production sweeps, MBAR);
3. the density of states, ``cached_dos`` (Wang-Landau, 10 sweeps per window, started from the canonical
   engine's states and joined to its MBAR ln g).

The temperature range is the figures' [1, 10] in units of the couplings' scale, as for every model
(:func:`ising_nn.paper.budget.temperature_range`): T in [1, 10] * sqrt(sum J^2 / N) / 1.5714 (MiniLM's);
random weights give couplings about a third of MiniLM's.

Then it checks the result as ``tests/test_scale.py`` checks the shipped MiniLM files
(:func:`ising_nn.paper.checks.dos_against_canonical`): U(T) and C(T) of the DOS against the canonical
engine's from ``T_valid`` up, the Gaussian centre of ln g (variance sum J^2) and g(E) = g(-E); and reports the
canonical engine's accuracy (the largest relative error of C over the equilibrated range; the target of
issue 17 is 2 %), each stage's wall time and the process's peak memory.

The run caches into ``--out`` (default ``/tmp/ising-nn-paper-run``); a rerun reads what is there, so
``--report`` rewrites the table from the cache in seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import time
from datetime import date
from pathlib import Path

OUT = Path(__file__).resolve().parent / "PAPER_RUN.md"
MODELS = ("gpt2", "opt-125m")  # the paper's two smallest models, 65,280 spins each


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def run(model: str, out_dir: Path) -> dict:
    """The three stages of the module docstring, in this process; returns their times and memory."""
    from bench.bench_paper import build
    from ising_nn.model.load import load_couplings
    from ising_nn.paper import budget
    from ising_nn.paper.cache import cached_quench
    from ising_nn.paper.dos import cached_dos
    from ising_nn.paper.thermo import cached_thermo

    folder = out_dir / "models" / model
    if not (folder / "config.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        build(model, folder)
    row = {"model": model, "path": str(folder)}
    t = time.perf_counter()
    c = load_couplings(str(folder))
    row.update(load_s=time.perf_counter() - t, n_spins=c.n_spins, n_bonds=c.n_bonds,
               scale=math.sqrt(c.sum_J2 / c.n_spins))
    b = budget()
    del c
    kw = dict(out_dir=out_dir / "dos", verbose=True)
    t = time.perf_counter()
    q = cached_quench(str(folder), method=b.quench_method, restarts=b.quench_restarts, **kw)
    row.update(quench_s=time.perf_counter() - t, quench_peak_gb=_peak_gb(), E0_per_spin=q.energy_per_spin)
    t = time.perf_counter()
    cached_thermo(str(folder), b=b, **kw)
    row.update(thermo_s=time.perf_counter() - t, thermo_peak_gb=_peak_gb())
    t = time.perf_counter()
    cached_dos(str(folder), sweeps=b.wl_sweeps, bins=b.bins, start_method=b.quench_method,
               start_restarts=b.quench_restarts, canonical=b, **kw)
    row.update(dos_s=time.perf_counter() - t, dos_peak_gb=_peak_gb())
    return row


def checks(row: dict, out_dir: Path) -> dict:
    """The independent checks of the module docstring, from the cache (seconds)."""
    from ising_nn.paper import CachedThermo, dos_path, quench_path, thermo_path, wl_path
    from ising_nn.paper.checks import C_accuracy, dos_against_canonical, gaussian_centre
    from ising_nn.results.dos import read_dos
    from ising_nn.results.textfile import read_header

    model, dos_dir = row["path"], out_dir / "dos"
    th = CachedThermo.read(thermo_path(model, out_dir=dos_dir))
    dos_file = dos_path(model, out_dir=dos_dir)
    dos, wl = read_dos(dos_file), read_dos(wl_path(dos_file))
    h = th.header
    T_eq = float(h["T_equilibrated"])
    a = dos_against_canonical(th.raw_curve, T_eq, dos)
    g = gaussian_centre(dos, row["scale"] ** 2 * row["n_spins"])
    acc = C_accuracy(th.curve, T_eq)
    quench_seconds = float(read_header(quench_path(model, out_dir=dos_dir))["seconds"])
    return {"quench_seconds": quench_seconds, "tmin": float(h["input.tmin"]), "tmax": float(h["input.tmax"]),
            "thermo_seconds": float(h["seconds"]),
            "rungs": int(h["rungs"]),
            "rungs_equilibrated": int(h["rungs_equilibrated"]), "T_equilibrated": T_eq, "T_c": float(h["T_c"]),
            "T_c_err": float(h["T_c_err"]), "T_c_at_edge": h["T_c_at_edge"] == "True",
            "swap_acceptance_min": float(h["swap_acceptance_min"]), "tau_int_max": float(h["tau_int_max"]),
            "ess_min": int(h["ess_min"]), "C_rel_err_max": acc,
            "sweeps_to_2pc": int(math.ceil(int(h["sweeps"]) * (acc / 0.02) ** 2)),
            "wl_seconds": float(wl.header["time"]), "wl_windows": int(wl.header["windows"]),
            "bins": len(dos.E_k), "bin_width": dos.bin_width, "T_valid": a.T_valid, "n_T": a.n_T,
            "bin_over_spread": a.bin_over_spread, "z_U": a.z_U, "z_C": a.z_C, "agree": a.ok,
            "centre_curvature": g.curvature, "centre_curvature_err": g.curvature_err, "centre_ok": g.ok,
            "asymmetry": g.asymmetry}


def _stages(r: dict) -> str:
    edge = " (at the edge: a bound)" if r["T_c_at_edge"] else ""
    # the stages' times are the samplers' own (headers); a stage read from the cache says so
    cached = " (cached)" if r["quench_s"] < 0.5 * r["quench_seconds"] else ""
    rows = [
        ("load + couplings", f"{r['load_s']:.1f} s", "", f"sqrt(sum J^2 / N) = {r['scale']:.4f}"),
        ("ground state (anneal, 64 restarts)", f"{r['quench_seconds']:.0f} s{cached}",
         f"{r['quench_peak_gb']:.1f} GB", f"E_0 / N = {r['E0_per_spin']:.4f}"),
        ("canonical engine (2 ladders, 1,000 sweeps, MBAR)", f"{r['thermo_s'] / 60:.1f} min",
         f"{r['thermo_peak_gb']:.1f} GB", f"{r['rungs']} rungs, {r['rungs_equilibrated']} equilibrated (down to "
         f"T = {r['T_equilibrated']:.4f}); T_c = {r['T_c']:.4f} +- {r['T_c_err']:.4f}{edge}"),
        ("density of states (Wang-Landau, 10 sweeps/window, joined to MBAR)", f"{r['dos_s'] / 60:.1f} min",
         f"{r['dos_peak_gb']:.1f} GB", f"{r['wl_windows']} windows, {r['bins']} bins of {r['bin_width']:.2f}"),
        ("all", f"{(r['load_s'] + r['quench_seconds'] + r['thermo_s'] + r['dos_s']) / 3600:.2f} h",
         f"{max(r['quench_peak_gb'], r['thermo_peak_gb'], r['dos_peak_gb']):.1f} GB", ""),
    ]
    return "\n".join(["| stage | wall time | peak memory | result |", "|---|---|---|---|",
                      *("| " + " | ".join(x) + " |" for x in rows)])


def section(r: dict, projected: dict | None) -> str:
    """One model's table, checks and raw row."""
    proj = ""
    if projected:
        proj = (f"`bench/PAPER.md` projected {projected['canonical_projected_s'] / 3600:.2f} h for the canonical "
                f"engine (its sampling only: no pilot, tuning or MBAR) and {projected['wl_projected_s'] / 3600:.2f} h "
                f"for Wang-Landau from a few timed sweeps; measured "
                f"{r['thermo_seconds'] / 3600:.2f} h and {r['wl_seconds'] / 3600:.2f} h.\n")
    return f"""## {r['model']}: {r['n_spins']:,} spins, {r['n_bonds']:,} couplings, T in [{r['tmin']:g}, {r['tmax']:g}]

{_stages(r)}

{proj}
**Checks** (as `tests/test_scale.py` on MiniLM):
- DOS against the canonical engine at {r['n_T']} temperatures from T_valid = {r['T_valid']:.4f} up: largest
  deviation beyond the bins' Sheppard shifts {max(r['z_U'], 0):.2f} standard errors in U and
  {max(r['z_C'], 0):.2f} in C (limit 4); bins at most
  {r['bin_over_spread']:.3f} of the canonical energy spread (limit 1/3): **{'pass' if r['agree'] else 'FAIL'}**.
- Gaussian centre: curvature of ln g in x = E / sqrt(sum J^2) is {r['centre_curvature']:.5f}
  +- {r['centre_curvature_err']:.5f} (exact -1/2): **{'pass' if r['centre_ok'] else 'FAIL'}**;
  max |ln g(E) - ln g(-E)| = {r['asymmetry']:.1e}.
- Canonical accuracy: the largest relative error of C over the equilibrated range is
  {100 * r['C_rel_err_max']:.1f} % (swap acceptance >= {r['swap_acceptance_min']:.3f},
  tau_int <= {r['tau_int_max']:.2f} sweeps, ESS >= {r['ess_min']}).
  The 2 % target needs about {r['sweeps_to_2pc']:,} sweeps (error ~ 1 / sqrt(sweeps)), about
  {r['thermo_seconds'] * r['sweeps_to_2pc'] / 1000 / 3600:.1f} h here: a projection, not a run.

Raw row:

```
{json.dumps(r)}
```
"""


def report(rows: list[dict], projected: dict[str, dict]) -> str:
    models = " ".join(r["model"] for r in rows)
    return (f"# Paper-sized models end to end\n\n{date.today().isoformat()}, {platform.node()}, "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores;\ncommand: "
            f"`python -m bench.bench_paper_run --models {models}` (`make bench-paper-run`).\n\n"
            + __doc__.split(chr(10) * 2, 1)[1] + "\n"
            + "\n".join(section(r, projected.get(r["model"])) for r in rows))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--out", type=Path, default=Path("/tmp/ising-nn-paper-run"))
    ap.add_argument("--report", action="store_true", help="only rewrite the tables from the cache")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for model in args.models:
        rows_file = args.out / f"{model}.json"
        if not args.report:
            rows_file.write_text(json.dumps(run(model, args.out)) + "\n")
        row = json.loads(rows_file.read_text())
        row.update(checks(row, args.out))
        rows.append(row)
    projected = {}
    paper = OUT.with_name("PAPER.md")
    for line in paper.read_text().splitlines() if paper.is_file() else []:
        if line.startswith("{"):
            projected[json.loads(line)["model"]] = json.loads(line)
    OUT.write_text(report(rows, projected))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    sys.exit(main())
