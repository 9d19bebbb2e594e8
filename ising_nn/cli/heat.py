"""``ising-nn heat DOS.dat -o HEAT.dat``: the specific heat C(T) of a density of states, columns ``T C``."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ising_nn.errors import IsingNNError
from ising_nn.results.dos import read_dos
from ising_nn.results.heat import write_heat
from ising_nn.thermo.from_dos import paper_style_heat, tc_estimate, temperature_grid, thermodynamics

__all__ = ["register", "run", "grid"]


def register(sub) -> None:
    p = sub.add_parser(
        "heat",
        help="specific heat C(T) of a DOS file (physical per spin, or the paper's recipe)",
        description=(
            "Specific heat C(T) of a density of states. Default: the physical C(T) per spin (k_B = 1, T in "
            "the couplings' energy units), which needs N (our files carry it; give --n-spins for a "
            "headerless file). --paper-style: the recipe that reproduces the paper's figures (E' = E / W "
            "with W the trained model's DOS width, weights exp(column2 - E'/T), T in (0, 1]); it needs no "
            "N and is not the physical specific heat. Writes columns 'T C' after '# key: value' header lines."
        ),
    )
    p.add_argument("dos", metavar="DOS.dat", help="DOS file: ours, or the authors' headerless two columns")
    p.add_argument("-o", "--output", required=True, metavar="HEAT.dat",
                   help="output file (written atomically)")
    p.add_argument("--paper-style", action="store_true",
                   help="the paper's recipe instead of the physical C(T)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--width", type=float, metavar="W",
                   help="paper style: energy scale W (default: the width of --trained, else of DOS.dat)")
    g.add_argument("--trained", metavar="DOS.dat",
                   help="paper style: the trained model's DOS, whose width scales the curve")
    p.add_argument("--n-spins", type=int, metavar="N", help="N for a DOS file without an n_spins header")
    p.add_argument("--replicas", nargs="+", metavar="DOS.dat", default=[],
                   help="independent runs (other seeds) of the same DOS: T_c mean and standard error over "
                        "all of them go into the header")
    p.add_argument("--tmin", type=float,
                   help="lowest temperature (default: from the DOS; paper style 1/points)")
    p.add_argument("--tmax", type=float, help="highest temperature (default: from the DOS; paper style 1)")
    p.add_argument("--points", type=int, help="temperatures (default 400; paper style 1000)")
    p.set_defaults(func=run)


def grid(
    tmin: float | None, tmax: float | None, points: int | None, paper_style: bool, dos=None
) -> np.ndarray:
    """The temperature grid the options ask for (linear for the paper style, geometric otherwise)."""
    if points is not None and points < 3:
        raise IsingNNError(f"--points must be at least 3, got {points}")
    for name, v in (("--tmin", tmin), ("--tmax", tmax)):
        if v is not None and not (np.isfinite(v) and v > 0):
            raise IsingNNError(f"{name} must be a positive temperature, got {v}")
    if tmin is not None and tmax is not None and not tmin < tmax:
        raise IsingNNError(f"--tmin must be below --tmax, got {tmin} and {tmax}")
    if paper_style:
        n = 1000 if points is None else points
        if tmin is None and tmax is None:
            return np.arange(1, n + 1) / n
        lo = tmin if tmin is not None else min(1.0 / n, tmax / n)
        hi = tmax if tmax is not None else max(1.0, 2 * lo)
        return np.linspace(lo, hi, n)
    n = 400 if points is None else points
    if tmin is not None and tmax is not None:
        return np.geomspace(tmin, tmax, n)
    auto = temperature_grid(dos, n)
    lo = tmin if tmin is not None else float(auto[0])
    hi = tmax if tmax is not None else float(auto[-1])
    if not lo < hi:
        raise IsingNNError(
            f"--tmin/--tmax give an empty range with the DOS's own bound ({lo:g} to {hi:g}); give both"
        )
    return np.geomspace(lo, hi, n)


def run(args: argparse.Namespace) -> int:
    dos = read_dos(args.dos)
    if not args.paper_style and (args.width is not None or args.trained is not None):
        raise IsingNNError("--width and --trained belong to --paper-style; add --paper-style or drop them")
    if args.paper_style and args.replicas:
        raise IsingNNError("--replicas belongs to the physical C(T); drop --paper-style or --replicas")
    fields: dict[str, object] = {"source": args.dos, "model": dos.header.get("model", "unknown")}
    if args.paper_style:
        T = grid(args.tmin, args.tmax, args.points, True)
        trained = read_dos(args.trained) if args.trained else None
        res = paper_style_heat(dos, args.width, T, trained=trained)
        C = res.C_k
        fields.update({
            "quantity": "paper-style C(T) (E' = E / W, weights exp(column2 - E'/T)); NOT the physical "
                        "specific heat",
            "width": f"{res.width:.10g}",
            "width_from": "--width" if args.width is not None else (args.trained or args.dos),
            "Tc": f"{res.Tc:.6g}",
            "Tc_err": f"{res.Tc_err:.3g} (half the grid spacing)",
        })
        line = f"paper-style Tc = {res.Tc:.4g} (W = {res.width:.6g})"
    else:
        n = args.n_spins if args.n_spins is not None else dos.n_spins
        if n is None:
            raise IsingNNError(
                f"{args.dos!r} has no n_spins header, and the physical C(T) per spin needs N: give "
                "--n-spins N, or use --paper-style (needs no N)"
            )
        T = grid(args.tmin, args.tmax, args.points, False, dos=type(dos)(dos.E_k, dos.ln_g_per_spin_k, n))
        res = thermodynamics(dos, T, n_spins=n)
        C = res.C_k
        fields.update({
            "quantity": "specific heat per spin C(T) = Var(E) / (N T^2), k_B = 1, T in the couplings' units",
            "n_spins": n,
            "Tc": f"{res.Tc:.8g}" if res.peak_interior else "nan (C(T) peaks at an end of the grid)",
            "Tc_err": f"{res.Tc_err:.3g} ({res.Tc_err_method})",
            "C_max": f"{res.C_max:.8g}",
        })
        line = (f"Tc = {res.Tc:.6g} +- {res.Tc_err:.2g} ({res.Tc_err_method}), C_max = {res.C_max:.4g}"
                if res.peak_interior else "C(T) peaks at an end of the temperature grid: widen --tmin/--tmax")
        if args.replicas:
            others = [thermodynamics(read_dos(f), T, n_spins=args.n_spins).Tc for f in args.replicas]
            est = tc_estimate([res.Tc, *others])
            fields["Tc_replicas"] = (f"{est.Tc:.8g} +- {est.Tc_err:.3g} (standard error over {len(est.Tc_r)} "
                                     f"runs: {' '.join(f'{x:.6g}' for x in est.Tc_r)})")
            line += f"; over {len(est.Tc_r)} runs Tc = {est.Tc:.6g} +- {est.Tc_err:.2g}"
    fields.update({"tmin": f"{T[0]:.8g}", "tmax": f"{T[-1]:.8g}", "points": T.size})
    write_heat(args.output, T, C, fields)
    print(f"{line}; wrote {args.output}", file=sys.stderr)  # stdout: nothing, the data is in HEAT.dat
    return 0
