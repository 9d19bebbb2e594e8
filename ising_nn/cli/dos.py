"""``ising-nn dos COUPLINGS -o DOS.dat``: Wang-Landau density of states of a network's Ising model."""

from __future__ import annotations

import argparse
import os
import sys

from ising_nn import validate
from ising_nn.cli._args import add_deprecated, add_network_args
from ising_nn.results.dos import write_dos
from ising_nn.results.spins import check_spins_match, load_spins

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser(
        "dos",
        help="density of states g(E) by Wang-Landau sampling (parallel windows, 1/t refinement)",
        description=(
            "Density of states of the Ising model of a network by Wang-Landau sampling: energy windows in "
            "parallel with replica exchange, the 1/t refinement, ln g from a transition-matrix fit of all "
            "proposals, E <= 0 sampled and mirrored (g(E) = g(-E) exactly). Writes '# key: value' header "
            "lines, then columns 'E ln_g_per_spin' (natural log, sum of g = 2^N), one row per bin with states."
        ),
    )
    p.add_argument("couplings", metavar="COUPLINGS",
                   help="anything 'ising-nn couplings' accepts: .npz, model name or folder, authors' folder")
    p.add_argument("-o", "--output", required=True, metavar="DOS.dat", help="output file (written atomically)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--bin-width", type=float, metavar="W", help="energy bin width of the output")
    g.add_argument("--bins", type=int, metavar="B", help="output bins over the full range (default 400)")
    p.add_argument("--time-limit", type=float, metavar="T", help="seconds (the run stops and says so)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the sampler (default 0)")
    p.add_argument("--threads", type=int, metavar="K", help="cores (default: all)")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="state file (.npz) written every minute and at the end (default with --resume: "
                        "DOS.dat.ckpt.npz)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint if it exists")
    p.add_argument("--ln-f-final", type=float, metavar="X",
                   help="stop when every window's ln f reaches X (default 1e-6; 1e-10 with --time-limit)")
    p.add_argument("--sweeps", type=float, metavar="S",
                   help="the budget: S sweeps (N attempts) per window; the same result on any machine")
    add_deprecated(p, "--max-sweeps", "--sweeps", type=float)
    p.add_argument("--estimator", choices=("tm", "wl"), default="tm",
                   help="ln g from the transition-matrix fit (default) or the joined WL windows")
    p.add_argument("--layout", default="auto", metavar="{auto,rows,records}",
                   help="couplings as spin records (faster, 3 copies in memory) or rows (2 copies); the same "
                        "result either way (default auto: records when they fit in a quarter of memory)")
    p.add_argument("--run-length", type=int, metavar="R",
                   help="attempts per run: a random spin, then the R - 1 after it in memory order (1 to 16; "
                        "default 1, every spin random as the authors do; 16: ~1.3x the attempts/s on MiniLM, a "
                        "different valid walk: against exact g(E) more accurate per second on one network, "
                        "less on another); --resume keeps the checkpoint's")
    st = p.add_mutually_exclusive_group()
    st.add_argument("--start-spins", metavar="SPINS.npz",
                    help="a low-energy state from `ising-nn quench --save-spins` (of the same couplings) to start "
                         "the lowest windows from; the range then reaches down to it (a new run only: --resume "
                         "keeps the checkpoint's range)")
    st.add_argument("--start-anneal", type=float, metavar="T",
                    help="anneal for T seconds first (`quench --method anneal`, the same seed) and start from "
                         "its state, as --start-spins does; T comes on top of --time-limit (15-20 s suit MiniLM)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_network_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ising_nn.model.load import load_couplings
    from ising_nn.wanglandau.run import wang_landau

    validate.seconds("--time-limit", args.time_limit)
    c = load_couplings(args.couplings, blocks=args.blocks, shuffle=args.shuffle, seed=args.shuffle_seed)
    ckpt = args.checkpoint
    if ckpt is None and args.resume:
        ckpt = f"{args.output}.ckpt.npz"
    start = None
    extra: dict[str, object] = {"time_limit": args.time_limit}
    validate.seconds("--start-anneal", args.start_anneal)
    if args.start_anneal is not None and args.resume and os.path.exists(ckpt):
        print(f"--start-anneal: resuming from {ckpt}, whose range is already set; no anneal", file=sys.stderr)
    elif args.start_anneal is not None:
        from ising_nn.quench.search import quench

        r = quench(c, "anneal", seed=args.seed, time_limit=args.start_anneal)
        start = r.spins
        extra.update(start_spins=f"anneal, --start-anneal {args.start_anneal:g}",
                     start_spins_energy=repr(float(r.energy)), start_spins_method="anneal",
                     start_anneal_seconds=f"{r.seconds:.3f}")
        print(f"--start-anneal: E = {r.energy:.6g} (E/N = {r.energy_per_spin:.6g}) after {r.seconds:.1f} s",
              file=sys.stderr)
    if args.start_spins is not None:
        saved = load_spins(args.start_spins)
        start = check_spins_match(saved, c, f"--start-spins {args.start_spins!r}")
        if args.resume and os.path.exists(ckpt):
            # the same command line starts a run and continues it: the checkpoint already holds the range
            print(f"--start-spins: resuming from {ckpt}, whose range is already set", file=sys.stderr)
        else:
            extra.update(start_spins=args.start_spins, start_spins_energy=saved.header["energy"],
                         start_spins_method=saved.header.get("method", ""))
    dos = wang_landau(
        c, bin_width=args.bin_width, bins=args.bins, seed=args.seed, threads=args.threads,
        time_limit=args.time_limit, checkpoint=ckpt, resume=args.resume, progress=not args.no_progress,
        ln_f_final=args.ln_f_final, max_sweeps=args.sweeps, estimator=args.estimator, layout=args.layout,
        run_length=args.run_length, start_spins=start,
    )
    write_dos(dos, args.output, extra)
    h = dos.header
    print(
        f"{args.output}: {dos.E_k.size} bins, E from {dos.E_min:.6g} to {dos.E_max:.6g} (N = {c.n_spins}), "
        f"{h.get('stop_reason')}, ln f {h.get('ln_f_final')}, {h.get('time')} s",
        file=sys.stderr,
    )
    return 0
