"""Options shared by the subcommands that sample a network: which part of it, and its shuffle."""

from __future__ import annotations

import argparse

__all__ = ["add_network_args"]


def add_network_args(p: argparse.ArgumentParser) -> None:
    """``--blocks``, ``--shuffle`` and ``--shuffle-seed`` (the seed of the shuffle, never of the sampler)."""
    p.add_argument("--blocks", type=int, metavar="K", help="keep only the first K blocks")
    p.add_argument("--shuffle", type=float, default=0.0, metavar="F",
                   help="shuffle a fraction F in [0, 1] of the couplings, whole network pooled (default: 0)")
    p.add_argument("--shuffle-seed", type=int, default=0, metavar="S", help="seed of the shuffle (default: 0)")
