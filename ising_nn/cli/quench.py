"""``ising-nn quench``: the lowest energy found, E/N, and the span ``W = 2 |E_0|`` of realisable energies."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ising_nn.cli._args import add_deprecated, add_network_args
from ising_nn.errors import IsingNNError
from ising_nn.model.load import DEFAULT_MODEL, load_couplings
from ising_nn.quench.search import METHODS, QuenchResult, quench
from ising_nn.results.spins import save_spins

__all__ = ["register", "run", "format_result"]

_COUPLINGS_HELP = (
    "anything `ising-nn couplings` accepts: minilm (default), a hub name, a local Hugging Face model "
    "folder, an authors' text folder, or a .npz couplings file"
)


def register(sub) -> None:
    p = sub.add_parser(
        "quench", help="search for the ground-state energy E_0 (and W = 2|E_0|)",
        description="Search for the lowest energy of a network's Ising model. Prints E and E/N (one JSON "
                    "object with --json). Methods: anneal (batched annealing, the best E_0), fast (a short "
                    "anneal of whole layers, the quickest below the authors' energy), layer "
                    "(layer-parallel greedy descent), single (single-spin greedy descent with kept local "
                    "fields), authors (the authors' 1,000,000-step quench, for comparison).",
    )
    p.add_argument("couplings", nargs="?", default=DEFAULT_MODEL, metavar="COUPLINGS", help=_COUPLINGS_HELP)
    p.add_argument("--method", choices=METHODS, default="anneal", help="search method (default: anneal)")
    p.add_argument("--restarts", type=int, metavar="R",
                   help="independent starts (default: 32 for anneal, 1 otherwise)")
    p.add_argument("--steps", type=int, metavar="N",
                   help="single-spin attempts per restart (authors: 1,000,000; single: until a local minimum); "
                        "layer, fast: the most greedy sweeps")
    p.add_argument("--sweeps", type=int, metavar="S",
                   help="sweeps of the annealing schedule (anneal: 200, fast: 12)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the search (default: 0)")
    p.add_argument("--time-limit", type=float, metavar="T",
                   help="stop after about T seconds (anneal, fast without --restarts: restarts until then)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_deprecated(p, "--progress", None, action="store_const", const=True)
    add_network_args(p)
    p.add_argument("--per-layer", action="store_true", help="shuffle within each matrix instead")
    p.add_argument("--save-spins", metavar="SPINS.npz",
                   help="also write the lowest configuration found (with its energy and provenance) for "
                        "`ising-nn dos --start-spins`")
    p.set_defaults(func=run)


def format_result(r: QuenchResult) -> str:
    """Two human-readable lines: E and E/N, then W and the run's facts."""
    starts = f"{r.restarts} restart{'s' if r.restarts != 1 else ''}"
    note = " (stopped early)" if r.stopped_early else ""
    return (
        f"E = {r.energy:,.4f}   E/N = {r.energy_per_spin:.6f}   N = {r.n_spins:,} spins\n"
        f"W = 2|E_0| = {r.width:,.4f}   W/N = {r.width_per_spin:.6f}   "
        f"[{r.method}, {starts}, seed {r.seed}, {r.seconds:.2f} s{note}]"
    )


def run(args: argparse.Namespace) -> int:
    c = load_couplings(args.couplings, blocks=args.blocks, shuffle=args.shuffle, seed=args.shuffle_seed,
                       per_layer=args.per_layer)
    if args.save_spins is not None:  # checked before the search, not after it
        folder = Path(args.save_spins).parent
        if not str(args.save_spins).endswith(".npz") or not folder.is_dir():
            raise IsingNNError(f"--save-spins must name a .npz file in an existing folder, got {args.save_spins!r}")
    r = quench(c, args.method, restarts=args.restarts, seed=args.seed, time_limit=args.time_limit,
               steps=args.steps, sweeps=args.sweeps, progress=not args.no_progress)
    if args.save_spins is not None:
        save_spins(args.save_spins, r.spins, c, r.energy, method=r.method, seed=r.seed, restarts=r.restarts,
                   seconds=f"{r.seconds:.3f}", couplings=str(args.couplings))
    if args.json:
        d = r.summary()
        p = c.provenance
        d.update(n_bonds=c.n_bonds, blocks=c.n_blocks, shuffle=p.shuffle, shuffle_seed=p.shuffle_seed,
                 per_layer=p.per_layer, couplings=str(args.couplings))
        print(json.dumps(d))
    else:
        print(format_result(r))
    return 0
