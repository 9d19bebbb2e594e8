"""The ``ising-nn`` command line: one subcommand module per job, each with ``register(subparsers)``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from ising_nn._version import __version__
from ising_nn.cli import analyze, couplings, crosscheck, dos, heat, quench, thermo
from ising_nn.cli._args import apply_deprecated
from ising_nn.errors import IsingNNError

__all__ = ["main", "build_parser"]

_MODULES = (couplings, quench, dos, heat, thermo, crosscheck, analyze)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ising-nn",
        description="Ising models of deep neural networks: couplings, ground states, densities of states.",
    )
    p.add_argument("--version", action="version", version=f"ising-nn {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for m in _MODULES:
        m.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    apply_deprecated(args)
    try:
        rc = args.func(args)
    except IsingNNError as exc:
        print(f"ising-nn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ising-nn {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader (`| head`) closed the pipe: not an error of ours; keep Python's exit-time flush quiet too
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
