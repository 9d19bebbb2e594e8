"""Couplings from Hugging Face transformer models, with the paper's mapping.

Each block contributes four matrices, chained ``h --qkv--> h --proj--> h --fc1--> inner --fc2--> h`` with
``qkv = W_q + W_k + W_v`` (summed), rows = input neurons and columns = output neurons (the transpose of an
``nn.Linear.weight``; GPT-2's ``Conv1D`` weights are already (in, out)). Fused projections are split first:
GPT-2 ``c_attn`` (h, 3h) holds [q | k | v] column blocks; Bloom ``query_key_value`` (3h, h) holds rows
laid out per head as (n_head, 3, head_dim).

Memory: the couplings buffer is allocated once and each view is filled from one tensor at a time. A local
folder's safetensors files are read tensor by tensor without building the torch model (each read opens the
file afresh, so only one tensor's pages are touched and they are unmapped before the next); fp16/bf16 are
cast to float32 per tensor. In-memory models use their ``state_dict()`` tensors (no copy for float32 on
the CPU).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings, Provenance, check_finite
from ising_nn.model.hf_families import (
    SUPPORTED,
    Layout,
    config_dict,
    config_dims,
    counts_from_config,
    layer_sizes_from_config,
    layout_for,
)
from ising_nn.model.hf_sources import MappingTensors, SafetensorsFiles, index_files, torch_state

__all__ = [
    "couplings_from_pretrained",
    "couplings_from_model",
    "couplings_from_state_dict",
    "layer_sizes_from_config",
    "counts_from_config",
    "is_hf_folder",
    "SUPPORTED",
]


# ---------------------------------------------------------------------------------------- extraction
def _match(names: Iterable[str], layout: Layout, where: str) -> list[dict[str, str]]:
    """Tensor name per role per block, blocks 0 .. L-1."""
    table: dict[int, dict[str, str]] = {}
    for n in names:
        for role in layout.tensor_roles:
            m = layout.patterns[role].search(n)
            if m:
                slot = table.setdefault(int(m["i"]), {})
                if role in slot:
                    raise IsingNNError(
                        f"{where}: two tensors match {role} of block {m['i']}: {slot[role]!r} and {n!r}"
                    )
                slot[role] = n
                break
    if not table:
        example = layout.patterns[layout.tensor_roles[0]].pattern
        raise IsingNNError(
            f"{where}: no {layout.name} transformer blocks found (no tensor name matches {example!r})"
        )
    L = max(table) + 1
    for b in range(L):
        missing = [r for r in layout.tensor_roles if r not in table.get(b, {})]
        if missing:
            raise IsingNNError(
                f"{where}: block {b} lacks its {', '.join(missing)} weight(s) "
                f"(pattern {layout.patterns[missing[0]].pattern!r})"
            )
    return [table[b] for b in range(L)]


def _j_shapes(block: dict[str, str], src, layout: Layout, n_head: int | None) -> list[tuple[str, tuple]]:
    """``(tensor name, shape as J)`` of the four matrices of a block, validating the fused layouts."""

    def as_j(name):
        s = src.shape(name)
        if len(s) != 2:
            raise IsingNNError(f"tensor {name!r} has shape {s}; expected a 2-D weight matrix")
        return s if layout.conv1d else (s[1], s[0])

    out = []
    if layout.fused:
        name = block["qkv"]
        r, c = as_j(name)
        if c % 3:
            raise IsingNNError(f"fused q/k/v tensor {name!r} has {c} outputs, not a multiple of 3")
        if layout.fused == "bloom" and (n_head is None or (c // 3) % n_head):
            raise IsingNNError(
                f"fused q/k/v tensor {name!r}: width {c // 3} is not divisible by the config's heads {n_head}"
            )
        out.append((name, (r, c // 3)))
    else:
        shapes = {r: as_j(block[r]) for r in ("q", "k", "v")}
        if len(set(shapes.values())) != 1:
            raise IsingNNError(f"q, k, v weights of {block['q']!r} differ in shape: {shapes}")
        out.append((block["q"], shapes["q"]))
    out += [(block[r], as_j(block[r])) for r in ("proj", "fc1", "fc2")]
    return out


def _read(src, name: str) -> np.ndarray:
    a = src.read(name)
    check_finite(a, f"tensor {name!r}")
    return a


def _fill_block(views, block, src, layout: Layout, n_head: int | None) -> None:
    qkv = views[0]
    if layout.fused == "gpt2":
        W = _read(src, block["qkv"])  # (h, 3h) Conv1D: columns [q | k | v]
        h = W.shape[1] // 3
        np.add(W[:, :h], W[:, h : 2 * h], out=qkv)
        qkv += W[:, 2 * h :]
    elif layout.fused == "bloom":
        W = _read(src, block["qkv"])  # (3h, h) Linear: output rows laid out (n_head, 3, head_dim)
        h = W.shape[0] // 3
        W4 = W.reshape(n_head, 3, h // n_head, W.shape[1])
        s = W4[:, 0] + W4[:, 1]
        s += W4[:, 2]
        qkv[...] = s.reshape(h, W.shape[1]).T  # output neuron head * head_dim + d, as the heads merge
    else:
        for r in ("q", "k", "v"):
            W = _read(src, block[r])
            if r == "q":
                qkv[...] = W if layout.conv1d else W.T
            else:
                qkv += W if layout.conv1d else W.T
    for r, view in zip(("proj", "fc1", "fc2"), views[1:], strict=True):
        W = _read(src, block[r])
        view[...] = W if layout.conv1d else W.T


def _extract(src, config: dict, name: str) -> Couplings:
    model_type, layout = layout_for(config)
    L_cfg, _, _, n_head = config_dims(config)
    where = f"model {name!r}"
    blocks = _match(src.names(), layout, where)
    if len(blocks) != L_cfg:
        raise IsingNNError(f"{where}: found {len(blocks)} blocks but its config says {L_cfg}")
    shapes = [js for b in blocks for js in _j_shapes(b, src, layout, n_head)]
    for (n0, s0), (n1, s1) in zip(shapes[:-1], shapes[1:], strict=False):
        if s0[1] != s1[0]:
            raise IsingNNError(
                f"{where}: matrix shapes do not chain: {n0!r} gives {s0} and {n1!r} gives {s1} "
                "(as input x output)"
            )
    sizes = [shapes[0][1][0]] + [s[1] for _, s in shapes]
    prov = Provenance(model=name, family=model_type, matrices_per_block=4, blocks=len(blocks))
    c = Couplings.allocate(sizes, prov)
    J = c.J
    for b, block in enumerate(blocks):
        _fill_block(J[4 * b : 4 * b + 4], block, src, layout, n_head)
    return c


# ---------------------------------------------------------------------------------------- public
def couplings_from_state_dict(tensors: Mapping, config, *, name: str = "state_dict") -> Couplings:
    """Couplings from a state dict (name -> torch tensor or array) and its config.

    Parameters
    ----------
    tensors : mapping of str to tensor, shapes as stored by the model
    config : transformers config, dict, or path to ``config.json``
        Its ``model_type`` picks the layout.
    name : str
        Model name for the provenance.
    """
    return _extract(MappingTensors(tensors), config_dict(config), name)


def couplings_from_model(model, *, name: str | None = None) -> Couplings:
    """Couplings from an in-memory Hugging Face model (base or task-head), using its ``state_dict()``."""
    cfg = getattr(model, "config", None)
    if cfg is None or not hasattr(cfg, "to_dict") or not hasattr(model, "state_dict"):
        raise IsingNNError(
            f"an in-memory model must be a Hugging Face model with a .config (got {type(model).__name__})"
        )
    d = cfg.to_dict()
    layout_for(d)  # an unknown architecture fails before the state dict is touched
    name = name or getattr(cfg, "_name_or_path", "") or type(model).__name__
    return _extract(MappingTensors(model.state_dict()), d, name)


def is_hf_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder holding a ``config.json``."""
    p = Path(path)
    return p.is_dir() and (p / "config.json").is_file()


def couplings_from_pretrained(folder: str | os.PathLike, *, name: str | None = None) -> Couplings:
    """Couplings from a local Hugging Face model folder (``config.json`` plus weights).

    Reads ``model.safetensors`` (or the shards of ``model.safetensors.index.json``) tensor by tensor
    without building the model; a folder with only ``pytorch_model.bin`` (or its sharded index) is read
    with ``torch.load(mmap=True)``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise IsingNNError(f"model folder {str(folder)!r} not found")
    d = config_dict(folder)
    layout_for(d)
    name = name or str(folder)
    if (folder / "model.safetensors").is_file():
        src = SafetensorsFiles([folder / "model.safetensors"])
    elif (folder / "model.safetensors.index.json").is_file():
        src = SafetensorsFiles(index_files(folder / "model.safetensors.index.json"))
    elif (folder / "pytorch_model.bin").is_file():
        src = MappingTensors(torch_state([folder / "pytorch_model.bin"]))
    elif (folder / "pytorch_model.bin.index.json").is_file():
        src = MappingTensors(torch_state(index_files(folder / "pytorch_model.bin.index.json")))
    else:
        raise IsingNNError(
            f"{str(folder)!r} holds no weights: expected model.safetensors, model.safetensors.index.json, "
            "pytorch_model.bin or pytorch_model.bin.index.json"
        )
    return _extract(src, d, name)
