"""Hugging Face transformer layouts: which tensors make each block's ``qkv``, ``proj``, ``fc1``, ``fc2``.

Every supported family is one :class:`Layout`: a regular expression per role, matched against parameter
names at the end of the name after the block index (``...<container>.<i>.<suffix>``), so base models and
task-head models (``bert.``, ``transformer.``, ``model.decoder.``, ``vit.`` ... prefixes) both match.
Transformers 5 renamed some in-memory parameters (ViT/DeiT/BEiT ``attention.q_proj`` instead of
``attention.attention.query``) while ``save_pretrained`` still writes the old names; both are accepted.

Config-only facts (layer sizes, counts) come from the config dictionary alone, so the paper's counts need
no weights.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ising_nn.errors import IsingNNError

__all__ = [
    "Layout",
    "LAYOUTS",
    "MODEL_TYPES",
    "SUPPORTED",
    "ROLES",
    "config_dict",
    "layout_for",
    "config_dims",
    "layer_sizes_from_config",
    "counts_from_config",
]

#: The four coupling matrices of one block, in chain order.
ROLES = ("qkv", "proj", "fc1", "fc2")


def _rx(containers: tuple[str, ...], *suffixes: str) -> re.Pattern:
    cont = "|".join(containers)
    alts = "|".join(suffixes)
    return re.compile(rf"(?:^|\.)(?:{cont})\.(?P<i>\d+)\.(?:{alts})$")


@dataclass(frozen=True)
class Layout:
    """Where one family keeps its block matrices.

    Attributes
    ----------
    name : str
        Family name (provenance ``family`` for the paper's families).
    patterns : dict of str to compiled regex
        Role -> pattern with a group ``i`` (block index). Roles: ``q``, ``k``, ``v`` (separate projections)
        or ``qkv`` (fused), then ``proj``, ``fc1``, ``fc2``.
    fused : str or None
        ``"gpt2"``: one (h, 3h) Conv1D weight, columns [q | k | v]; ``"bloom"``: one (3h, h) Linear weight,
        rows laid out (n_head, 3, head_dim); None: separate q, k, v.
    conv1d : bool
        Weights stored (in, out) (GPT-2 ``Conv1D``) rather than (out, in) (``nn.Linear``).
    inner_keys : tuple of str
        Config keys of the MLP width; empty or None-valued means 4 h.
    """

    name: str
    patterns: dict[str, re.Pattern]
    fused: str | None = None
    conv1d: bool = False
    inner_keys: tuple[str, ...] = ("intermediate_size",)

    @property
    def attention_roles(self) -> tuple[str, ...]:
        return ("qkv",) if self.fused else ("q", "k", "v")

    @property
    def tensor_roles(self) -> tuple[str, ...]:
        """Roles of the tensors read per block (q, k, v separately when not fused)."""
        return self.attention_roles + ("proj", "fc1", "fc2")


_L = ("layer", "layers")
_GPT2 = Layout(
    "gpt2",
    {
        "qkv": _rx(("h",), r"attn\.c_attn\.weight"),
        "proj": _rx(("h",), r"attn\.c_proj\.weight"),
        "fc1": _rx(("h",), r"mlp\.c_fc\.weight"),
        "fc2": _rx(("h",), r"mlp\.c_proj\.weight"),
    },
    fused="gpt2",
    conv1d=True,
    inner_keys=("n_inner",),
)
_OPT = Layout(
    "opt",
    {
        "q": _rx(_L, r"self_attn\.q_proj\.weight"),
        "k": _rx(_L, r"self_attn\.k_proj\.weight"),
        "v": _rx(_L, r"self_attn\.v_proj\.weight"),
        "proj": _rx(_L, r"self_attn\.out_proj\.weight"),
        "fc1": _rx(_L, r"fc1\.weight"),
        "fc2": _rx(_L, r"fc2\.weight"),
    },
    inner_keys=("ffn_dim",),
)
_BLOOM = Layout(
    "bloom",
    {
        "qkv": _rx(("h",), r"self_attention\.query_key_value\.weight"),
        "proj": _rx(("h",), r"self_attention\.dense\.weight"),
        "fc1": _rx(("h",), r"mlp\.dense_h_to_4h\.weight"),
        "fc2": _rx(("h",), r"mlp\.dense_4h_to_h\.weight"),
    },
    fused="bloom",
    inner_keys=(),
)
_BERT_PATTERNS = {
    "q": _rx(_L, r"attention\.self\.query\.weight"),
    "k": _rx(_L, r"attention\.self\.key\.weight"),
    "v": _rx(_L, r"attention\.self\.value\.weight"),
    "proj": _rx(_L, r"attention\.output\.dense\.weight"),
    "fc1": _rx(_L, r"intermediate\.dense\.weight"),
    "fc2": _rx(_L, r"output\.dense\.weight"),
}
# Saved files keep the 4.x names; transformers 5 in-memory modules use q_proj/o_proj/mlp.fc1.
_VIT_PATTERNS = {
    "q": _rx(_L, r"attention\.attention\.query\.weight", r"attention\.q_proj\.weight"),
    "k": _rx(_L, r"attention\.attention\.key\.weight", r"attention\.k_proj\.weight"),
    "v": _rx(_L, r"attention\.attention\.value\.weight", r"attention\.v_proj\.weight"),
    "proj": _rx(_L, r"attention\.output\.dense\.weight", r"attention\.o_proj\.weight"),
    "fc1": _rx(_L, r"intermediate\.dense\.weight", r"mlp\.fc1\.weight"),
    "fc2": _rx(_L, r"output\.dense\.weight", r"mlp\.fc2\.weight"),
}
_DISTILBERT = Layout(
    "distilbert",
    {
        "q": _rx(_L, r"attention\.q_lin\.weight"),
        "k": _rx(_L, r"attention\.k_lin\.weight"),
        "v": _rx(_L, r"attention\.v_lin\.weight"),
        "proj": _rx(_L, r"attention\.out_lin\.weight"),
        "fc1": _rx(_L, r"ffn\.lin1\.weight"),
        "fc2": _rx(_L, r"ffn\.lin2\.weight"),
    },
    inner_keys=("hidden_dim",),
)

#: Layout per family.
LAYOUTS: dict[str, Layout] = {
    "gpt2": _GPT2,
    "opt": _OPT,
    "bloom": _BLOOM,
    "bert": Layout("bert", _BERT_PATTERNS),
    "vit": Layout("vit", _VIT_PATTERNS),
    "deit": Layout("deit", _VIT_PATTERNS),
    "beit": Layout("beit", _VIT_PATTERNS),
    "distilbert": _DISTILBERT,
}
#: config ``model_type`` -> layout name (BERT-like encoders share BERT's layout).
MODEL_TYPES: dict[str, str] = {
    "gpt2": "gpt2",
    "opt": "opt",
    "bloom": "bloom",
    "bert": "bert",
    "roberta": "bert",
    "xlm-roberta": "bert",
    "vit": "vit",
    "deit": "deit",
    "beit": "beit",
    "distilbert": "distilbert",
}
SUPPORTED = tuple(sorted(MODEL_TYPES))

_HIDDEN = ("hidden_size", "n_embd", "n_embed", "dim", "d_model")
_LAYERS = ("num_hidden_layers", "n_layer", "n_layers")
_HEADS = ("num_attention_heads", "n_head", "n_heads")


def config_dict(config) -> dict:
    """A plain dict from a transformers config, a mapping, a ``config.json`` path or a model folder."""
    if isinstance(config, Mapping):
        return dict(config)
    if hasattr(config, "to_dict"):
        return config.to_dict()
    if isinstance(config, (str, os.PathLike)):
        p = Path(config)
        if p.is_dir():
            p = p / "config.json"
        if not p.is_file():
            raise IsingNNError(f"{str(p)!r} not found; a Hugging Face model folder holds a config.json")
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IsingNNError(f"{str(p)!r} is not a readable JSON config ({exc})") from None
        if not isinstance(d, dict):
            raise IsingNNError(f"{str(p)!r} is not a JSON object; expected a Hugging Face config.json")
        return d
    raise IsingNNError(
        f"expected a transformers config, a dict, or a path to config.json, got {type(config).__name__}"
    )


def layout_for(config) -> tuple[str, Layout]:
    """``(model_type, layout)`` of a config; unknown architectures raise :class:`IsingNNError`."""
    d = config_dict(config)
    mt = d.get("model_type")
    if not isinstance(mt, str) or mt not in MODEL_TYPES:
        raise IsingNNError(
            f"unknown architecture {mt!r} (config model_type); supported: {', '.join(SUPPORTED)}"
        )
    return mt, LAYOUTS[MODEL_TYPES[mt]]


def _first(d: Mapping, keys: tuple[str, ...], what: str) -> int | None:
    for k in keys:
        v = d.get(k)
        if v is not None:
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise IsingNNError(f"config {k} = {v!r} is not a positive integer ({what})")
            return v
    return None


def config_dims(config) -> tuple[int, int, int, int | None]:
    """``(blocks L, width h, MLP width, heads)`` from a config alone."""
    d = config_dict(config)
    _, layout = layout_for(d)
    h = _first(d, _HIDDEN, "hidden size")
    L = _first(d, _LAYERS, "number of blocks")
    if h is None or L is None:
        raise IsingNNError(
            f"config lacks the hidden size or the number of layers (looked for {_HIDDEN} and {_LAYERS})"
        )
    inner = _first(d, layout.inner_keys, "MLP width") if layout.inner_keys else None
    return L, h, inner if inner is not None else 4 * h, _first(d, _HEADS, "attention heads")


def layer_sizes_from_config(config) -> tuple[int, ...]:
    """Spins per layer ``(n_0, ..., n_{4L})`` of the paper's mapping, from a config alone (no weights).

    Each block chains ``h --qkv--> h --proj--> h --fc1--> inner --fc2--> h``.
    """
    L, h, inner, _ = config_dims(config)
    return (h,) + (h, h, inner, h) * L


def counts_from_config(config) -> tuple[int, int]:
    """``(n_spins, n_bonds)`` of the paper's mapping from a config alone."""
    s = layer_sizes_from_config(config)
    return sum(s), sum(a * b for a, b in zip(s[:-1], s[1:], strict=False))
