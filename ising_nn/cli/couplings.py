"""``ising-nn couplings`` (build and save couplings) and ``ising-nn info`` (describe a network's model)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ising_nn.cli._args import add_deprecated, add_network_args
from ising_nn.errors import IsingNNError
from ising_nn.model.files import save_npz
from ising_nn.model.load import DEFAULT_MODEL, ModelInfo, describe, load_couplings

__all__ = ["register", "run_couplings", "run_info", "human_bytes", "format_info"]

_MODEL_HELP = (
    "minilm (default: the bundled trained all-MiniLM-L6-v2), a hub name (gpt2, gpt2-medium, opt-125m, "
    "opt-350m, opt-1.3b, bert-base, bert-large, vit-base, deit-base, beit-base, bloom-560m, or org/name), "
    "a local Hugging Face model folder, a folder in the authors' text format, or a .npz couplings file"
)


def _add_transform_args(p: argparse.ArgumentParser) -> None:
    add_network_args(p)
    # the old spelling, kept one release: every other subcommand's --seed seeds its sampler
    add_deprecated(p, "--seed", "--shuffle-seed", type=int)
    p.add_argument("--per-layer", action="store_true",
                   help="shuffle within each matrix instead of across the whole network (the authors pool)")


def register(sub) -> None:
    p = sub.add_parser(
        "couplings", help="build a network's couplings and save them as .npz",
        description="Build the couplings J_l of a network's layered Ising model and write them to a .npz "
                    "file (atomically).",
    )
    p.add_argument("model", nargs="?", default=DEFAULT_MODEL, metavar="MODEL", help=_MODEL_HELP)
    p.add_argument("-o", "--output", required=True, metavar="OUT.npz", help="output file (.npz)")
    _add_transform_args(p)
    p.set_defaults(func=run_couplings)

    q = sub.add_parser(
        "info", help="describe a network's Ising model (family, sizes, spins, bonds, weights)",
        description="Family, blocks, layer sizes, spins, bonds, memory and weight statistics of a "
                    "network's layered Ising model.",
    )
    q.add_argument("model", nargs="?", default=DEFAULT_MODEL, metavar="MODEL_OR_FILE", help=_MODEL_HELP)
    q.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    _add_transform_args(q)
    q.set_defaults(func=run_info)


def _transform_kw(args) -> dict:
    return {"blocks": args.blocks, "shuffle": args.shuffle, "seed": args.shuffle_seed, "per_layer": args.per_layer}


def run_couplings(args) -> int:
    out = Path(args.output)
    # Fail before loading a large model, not after.
    if out.suffix != ".npz":
        raise IsingNNError(f"couplings output must end in .npz, got {str(out)!r}")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise IsingNNError(f"output folder {str(folder)!r} does not exist; create it first")
    c = load_couplings(args.model, **_transform_kw(args))
    save_npz(c, out)
    p = c.provenance
    shuffled = f", shuffle {p.shuffle:g} (seed {p.shuffle_seed})" if p.shuffle else ""
    print(f"wrote {out}: {p.model} ({p.family}), {c.n_blocks} blocks{shuffled}, {c.n_spins:,} spins, "
          f"{c.n_bonds:,} bonds, {human_bytes(c.nbytes)}", file=sys.stderr)  # stdout: nothing, the data is in OUT
    return 0


def human_bytes(n: int) -> str:
    """``n`` bytes in binary units (``33.8 MiB``)."""
    x = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if x < 1024:
            return f"{int(x)} B" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1024
    return f"{x:.1f} TiB"


def format_info(info: ModelInfo) -> str:
    """The text ``ising-nn info`` prints."""
    s = info.stats
    if info.shuffle:
        where = "within each matrix" if info.per_layer else "whole network"
        shuffle = f"fraction {info.shuffle:g} ({where}, seed {info.shuffle_seed})"
    else:
        shuffle = "none (trained weights)"
    rows = [
        ("model", f"{info.model} ({info.source})"),
        ("family", info.family),
        ("blocks", f"{info.blocks} ({info.matrices_per_block} matrices each)"),
        ("layer sizes", f"{info.sizes_text()}  [{len(info.layer_sizes)} layers]"),
        ("spins", f"{info.n_spins:,}"),
        ("bonds", f"{info.n_bonds:,}"),
        ("memory", f"{human_bytes(info.nbytes)} (float32 couplings)"),
        ("weights", f"mean {s.mean:.4g}, std {s.std:.4g}, min {s.min:.4g}, max {s.max:.4g}, "
                    f"mean |J| {s.mean_abs:.4g}"),
        ("shuffle", shuffle),
    ]
    return "\n".join(f"{k + ':':<13}{v}" for k, v in rows)


def run_info(args) -> int:
    info = describe(args.model, **_transform_kw(args))
    print(json.dumps(info.as_dict()) if args.json else format_info(info))
    return 0
