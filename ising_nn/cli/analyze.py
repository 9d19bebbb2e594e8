"""``ising-nn analyze MODEL [MODEL ...]``: the data-free report, one row per model (text, ``--json`` or
``-o report.csv``). Stdout carries the report only (nothing with ``-o``); the sweep's progress, its scheduler
and dashboard addresses and the "wrote" line go to stderr."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from ising_nn.errors import IsingNNError

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser(
        "analyze", help="the data-free report of one or more checkpoints (E_0, widths, T_c, per-block widths)",
        description="For each model: spins, couplings, E_0/N and W/N = 2|E_0|/N of the trained network and of "
                    "its whole-network shuffle, their ratio, T_c of both with errors on their certified curves "
                    "(population annealing where the figures' budget runs it, else the canonical engine) with the "
                    "one-sided test of T_c(trained) > T_c(shuffled), and the widths of the first k blocks. "
                    "Results are cached in dos/ and computed as Dask tasks.",
    )
    p.add_argument("models", nargs="+", metavar="MODEL", help="name, hub id, local folder or .npz file")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="a Dask scheduler (default $ISING_NN_SCHEDULER, else a local cluster on this machine)")
    p.add_argument("--connect-timeout", type=float, metavar="SECONDS",
                   help="how long to wait for --scheduler to answer (default $ISING_NN_CONNECT_TIMEOUT, else 10)")
    p.add_argument("--dos-dir", metavar="DIR", help="the cache (default: the repository's dos/)")
    p.add_argument("--no-thermo", action="store_true", help="skip T_c (the canonical engine)")
    p.add_argument("--no-population", action="store_true",
                   help="T_c from the canonical engine alone, without population annealing (an hour for MiniLM on "
                        "two cores when not cached)")
    p.add_argument("--no-blocks", action="store_true", help="skip the per-block widths")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print a JSON list, one object per model")
    out.add_argument("-o", "--output", metavar="REPORT.csv", help="write the table as CSV (-: to stdout)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _clean(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def run(args: argparse.Namespace) -> int:
    from ising_nn.paper.analyze import analyze
    from ising_nn.paper.paths import DOS_DIR
    from ising_nn.paper.sweep import connect_timeout_seconds
    from ising_nn.results.textfile import atomic_path

    timeout = connect_timeout_seconds(args.connect_timeout)  # a bad value fails before any model is read
    if args.output not in (None, "-") and not Path(args.output).parent.resolve().is_dir():
        raise IsingNNError(f"output folder of {args.output!r} does not exist; create it first")
    df = analyze(args.models, scheduler=args.scheduler, out_dir=args.dos_dir or DOS_DIR, thermo=not args.no_thermo,
                 blocks=not args.no_blocks, population=not args.no_population, progress=not args.no_progress,
                 connect_timeout=timeout)
    if args.json:
        rows = [{k: _clean(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
        print(json.dumps(rows))
        return 0
    flat = df.assign(**{c: df[c].map(lambda x: " ".join(f"{v:.4f}" for v in x))
                        for c in ("W_per_spin_blocks_trained", "W_per_spin_blocks_shuffled")})
    if args.output == "-":
        flat.to_csv(sys.stdout, index=False, float_format="%.6g")
    elif args.output:
        with atomic_path(args.output) as tmp:
            flat.to_csv(tmp, index=False, float_format="%.6g")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(flat.T.to_string(header=False, float_format=lambda x: f"{x:.4g}"))
    return 0
