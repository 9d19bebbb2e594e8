"""Options shared by the subcommands, and the old spellings kept one release with a deprecation message.

One name per meaning across the CLI: ``--seed`` seeds the sampler or search, ``--shuffle-seed`` the shuffle;
``--sweeps`` is a sampler's budget; ``--time-limit`` a cap in seconds; ``--no-progress`` turns the bar off.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_network_args", "add_deprecated", "apply_deprecated"]


def add_network_args(p: argparse.ArgumentParser) -> None:
    """``--blocks``, ``--shuffle`` and ``--shuffle-seed`` (the seed of the shuffle, never of the sampler)."""
    p.add_argument("--blocks", type=int, metavar="K", help="keep only the first K blocks")
    p.add_argument("--shuffle", type=float, default=0.0, metavar="F",
                   help="shuffle a fraction F in [0, 1] of the couplings, whole network pooled (default: 0)")
    p.add_argument("--shuffle-seed", type=int, default=0, metavar="S", help="seed of the shuffle (default: 0)")


def add_deprecated(p: argparse.ArgumentParser, old: str, new: str | None, **kw) -> None:
    """Accept ``old`` (hidden from --help); :func:`apply_deprecated` moves its value to ``new``'s destination
    (``new=None``: a flag that no longer does anything) and says so on stderr."""
    dest = "_old_" + old.lstrip("-").replace("-", "_")
    p.add_argument(old, dest=dest, default=None, help=argparse.SUPPRESS, **kw)
    p.set_defaults(**{"_deprecated_" + dest: new})


def apply_deprecated(args: argparse.Namespace) -> None:
    for key, new in list(vars(args).items()):
        if not key.startswith("_deprecated_"):
            continue
        dest = key.removeprefix("_deprecated_")
        value = getattr(args, dest)
        if value is None:
            continue
        old = "--" + dest.removeprefix("_old_").replace("_", "-")
        if new is None:
            print(f"ising-nn {args.command}: {old} is deprecated and does nothing now (see --help)", file=sys.stderr)
            continue
        print(f"ising-nn {args.command}: {old} is deprecated and will be removed: use {new}", file=sys.stderr)
        setattr(args, new.lstrip("-").replace("-", "_"), value)
