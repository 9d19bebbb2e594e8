"""``ising-nn thermo COUPLINGS -o THERMO.dat``: canonical thermodynamics by replica exchange + MBAR (``--method pt``)
or population annealing (``--method pa``)."""

from __future__ import annotations

import argparse
import os
import sys

from ising_nn import validate
from ising_nn.cli._args import add_network_args
from ising_nn.errors import IsingNNError
from ising_nn.results.spins import check_spins_match, load_spins

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser(
        "thermo",
        help="canonical thermodynamics U, C, F, S (replica-exchange heat bath, MBAR) with errors",
        description=(
            "Canonical thermodynamics of the Ising model of a network: whole layers drawn by heat bath (all "
            "replicas in one matrix product per layer), replica exchange over a ladder placed so that every "
            "neighbouring pair swaps with at least 20%% acceptance, a hot and a cold start that must agree "
            "before a temperature is used, and MBAR (pymbar's solver protocol, on each rung's window) over all "
            "temperatures. Writes '# key: value' "
            "header lines (T_c, its error, the temperatures that failed the hot/cold test), then columns "
            "'T U U_err C C_err F F_err S S_err' per spin (k_B = 1, the couplings' energy units)."
        ),
    )
    p.add_argument("couplings", metavar="COUPLINGS",
                   help="anything 'ising-nn couplings' accepts: .npz, model name or folder, authors' folder")
    p.add_argument("-o", "--output", required=True, metavar="THERMO.dat", help="output file (written atomically)")
    p.add_argument("--tmin", type=float, default=1.0, metavar="T", help="lowest temperature (default 1)")
    p.add_argument("--tmax", type=float, default=10.0, metavar="T", help="highest output temperature (default 10)")
    p.add_argument("--sweeps", type=int, default=2000, metavar="S",
                   help="production sweeps (default 2000; a count, so reruns agree across machines)")
    p.add_argument("--time-limit", type=float, metavar="S", help="seconds (the run stops and the header says so)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the sampler (default 0)")
    p.add_argument("--device", default="cpu", metavar="D", help="torch device: cpu (default), cuda, cuda:1, ...")
    p.add_argument("--cold-spins", metavar="SPINS.npz",
                   help="cold start from `ising-nn quench --save-spins` (default: a fast quench of the couplings)")
    p.add_argument("--points", type=int, default=200, metavar="P", help="output temperatures (default 200)")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="state file (.npz) written every minute and at the end (default with --resume: "
                        "THERMO.dat.ckpt.npz)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint if it exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--method", choices=("pt", "pa"), default="pt",
                   help="pt: replica exchange from a hot and a cold start + MBAR (default); pa: population annealing, "
                        "independent runs combined by weighted averaging")
    p.add_argument("--precision", choices=("auto", "float32", "split-bf16", "int8x3"), default="auto",
                   help="of the layer fields: auto (int8x3 on a CPU with int8 dot products, else float32; "
                        "bench/SWEEP.md), float32, split-bf16, int8x3 (couplings to 23 bits of the largest, "
                        "exact int8 products)")
    pa = p.add_argument_group("population annealing (--method pa)")
    pa.add_argument("--population", type=int, default=512, metavar="R", help="replicas per run (default 512)")
    pa.add_argument("--runs", type=int, default=4, metavar="M", help="independent runs (default 4, at least 2)")
    pa.add_argument("--sweeps-per-step", type=int, default=10, metavar="S",
                    help="heat-bath sweeps at each temperature (default 10)")
    pa.add_argument("--hot-sweeps", type=int, default=None, metavar="S",
                    help="heat-bath sweeps at each temperature above --tmax (default: --sweeps-per-step)")
    pa.add_argument("--overlap", type=float, default=0.85, metavar="A",
                    help="energy-histogram overlap of successive temperatures (default 0.85)")
    pa.add_argument("--scheduler", metavar="ADDRESS",
                    help="run the runs as Dask tasks: 'local' (a local cluster) or a scheduler address; default: "
                         "one after the other in this process")
    add_network_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ising_nn.canonical import canonical_thermo, write_thermo
    from ising_nn.model.load import load_couplings

    validate.seconds("--time-limit", args.time_limit)
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir):
        raise IsingNNError(f"output folder {out_dir!r} does not exist; create it first")
    c = load_couplings(args.couplings, blocks=args.blocks, shuffle=args.shuffle, seed=args.shuffle_seed)
    cold = None
    if args.cold_spins is not None:
        cold = check_spins_match(load_spins(args.cold_spins), c, f"--cold-spins {args.cold_spins!r}")
    if args.method == "pa":
        return _run_pa(args, c)
    ckpt = args.checkpoint if args.checkpoint is not None else (f"{args.output}.ckpt.npz" if args.resume else None)
    r = canonical_thermo(c, tmin=args.tmin, tmax=args.tmax, sweeps=args.sweeps, seed=args.seed,
                         device=args.device, cold_spins=cold, time_limit=args.time_limit, checkpoint=ckpt,
                         resume=args.resume, progress=not args.no_progress, points=args.points,
                         precision=args.precision)
    header = {**r.header, "model": args.couplings, "command": "ising-nn thermo"}
    write_thermo(r.curve, args.output, header)
    print(f"{args.output}: T_c = {r.curve.Tc:.4g} +- {r.curve.Tc_err:.2g}, hot and cold starts agree down to "
          f"T = {r.T_equilibrated:.4g} (necessary, not sufficient: 'ising-nn crosscheck' against --method pa), "
          f"{len(r.rungs.beta_k)} rungs, {r.header['seconds']} s", file=sys.stderr)
    return 0


def _run_pa(args: argparse.Namespace, c) -> int:
    from ising_nn.canonical import population_annealing, write_thermo

    ckpt = args.checkpoint if args.checkpoint is not None else (f"{args.output}.ckpt" if args.resume else None)
    r = population_annealing(c, tmin=args.tmin, tmax=args.tmax, population=args.population, runs=args.runs,
                             sweeps=args.sweeps_per_step, hot_sweeps=args.hot_sweeps, overlap=args.overlap,
                             seed=args.seed, device=args.device, precision=args.precision, scheduler=args.scheduler,
                             checkpoint=ckpt, resume=args.resume, time_limit=args.time_limit,
                             progress=not args.no_progress)
    header = {**r.header, "model": args.couplings, "command": "ising-nn thermo --method pa"}
    write_thermo(r.curve, args.output, header)
    print(f"{args.output}: T_c = {r.curve.Tc:.4g} +- {r.curve.Tc_err:.2g}, families criterion met down to "
          f"T = {r.T_equilibrated:.4g} (necessary, not sufficient: 'ising-nn crosscheck' against --method pt), "
          f"{len(r.beta_i) - 1} steps, {r.header['seconds']} s", file=sys.stderr)
    return 0
