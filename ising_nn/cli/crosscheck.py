"""``ising-nn crosscheck A.dat B.dat``: do two THERMO files of one network agree? Where, and down to which
temperature are they cross-validated (:mod:`ising_nn.thermo.agreement`). Data to stdout or ``-o``; the
summary to stderr."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from ising_nn.errors import IsingNNError

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser(
        "crosscheck",
        help="compare two THERMO files of one network (e.g. --method pt and --method pa): the cross-validated range",
        description=(
            "Compares U and C of two 'ising-nn thermo' files of the same network at every temperature both cover "
            "(the sparser file's; the other interpolated in ln T): a two-sided test of each difference over its "
            "combined error at family-wise level --alpha (Bonferroni, Student's t with runs - 1 degrees of "
            "freedom for population annealing). A method's own test (hot and cold starts agree; the families "
            "criterion) is necessary, not sufficient, so the header gives T_agreed (the two agree from the "
            "hottest compared temperature down to there) and T_cross_validated (they agree and at least one "
            "certifies itself). Writes '# key: value' header lines, then columns "
            "'T U_a U_a_err U_b U_b_err z_U C_a C_a_err C_b C_b_err z_C z_crit agree certified_a certified_b' "
            "(z_crit: the largest |z| of U that passes; few runs make it large and the test weak)."
        ),
    )
    p.add_argument("a", metavar="A.dat", help="a file written by 'ising-nn thermo'")
    p.add_argument("b", metavar="B.dat", help="another file of the same network")
    p.add_argument("-o", "--output", default="-", metavar="CROSS.dat",
                   help="output file, written atomically (default -: stdout)")
    p.add_argument("--alpha", type=float, default=0.01, metavar="P",
                   help="family-wise false-alarm probability (default 0.01)")
    p.add_argument("--z-max", type=float, metavar="Z",
                   help="a fixed per-temperature threshold on |z| instead of --alpha (the benches use 3: stricter "
                        "with many runs, so a chance excursion shortens the range; with few runs it fails correct "
                        "curves often)")
    p.add_argument("--force", action="store_true",
                   help="compare even when the headers describe different systems (model, spins, shuffle, ...)")
    p.set_defaults(func=run)


def _same_system(ha: dict, hb: dict) -> list[str]:
    from ising_nn.thermo.agreement import SAME_SYSTEM_KEYS

    return [f"{k} {ha[k]!r} against {hb[k]!r}" for k in SAME_SYSTEM_KEYS if k in ha and k in hb and ha[k] != hb[k]]


def run(args: argparse.Namespace) -> int:
    from ising_nn.results.textfile import atomic_path, format_header
    from ising_nn.results.thermo import read_thermo
    from ising_nn.thermo.agreement import COLUMNS, agreement

    if not (math.isfinite(args.alpha) and 0.0 < args.alpha < 1.0):
        raise IsingNNError(f"--alpha must lie in (0, 1), got {args.alpha}")
    if args.z_max is not None and not (math.isfinite(args.z_max) and args.z_max > 0):
        raise IsingNNError(f"--z-max must be a positive number, got {args.z_max}")
    if args.output != "-" and not Path(args.output).parent.resolve().is_dir():
        raise IsingNNError(f"output folder of {args.output!r} does not exist; create it first")
    (ca, ha), (cb, hb) = read_thermo(args.a), read_thermo(args.b)
    diff = _same_system(ha, hb)
    if diff and not args.force:
        raise IsingNNError(f"{args.a!r} and {args.b!r} describe different systems ({'; '.join(diff)}); "
                           "--force compares them anyway")
    r = agreement((ca, ha), (cb, hb), alpha=args.alpha, z_max=args.z_max)
    header = dict(command="ising-nn crosscheck", a=args.a, b=args.b, method_a=ha.get("method", "?"),
                  method_b=hb.get("method", "?"), model=ha.get("model", "?"), n_spins=ha.get("n_spins", "?"),
                  **({"different_systems": "; ".join(diff)} if diff else {}), **r.header())
    text = format_header(header) + "# " + " ".join(COLUMNS) + "\n"

    def write(fh):
        fh.write(text)
        np.savetxt(fh, r.table(), fmt="%.6e")

    if args.output == "-":
        write(sys.stdout)
        sys.stdout.flush()
    else:
        with atomic_path(args.output) as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                write(fh)
    print(r.summary(args.a, args.b), file=sys.stderr)
    return 0
