"""The weight tensors of a torch model that form its Ising couplings, and shuffling them in the model.

Which tensors: per block, those :mod:`ising_nn.model.hf` reads (the family's layout from
:mod:`ising_nn.model.hf_families`): the attention projections q, k, v (GPT-2: the fused ``c_attn``), then proj,
fc1, fc2. Biases, embeddings, norms and heads are not couplings and are never touched.

Shuffling the model (documented choice). The Ising coupling of the attention is ``qkv = W_q + W_k + W_v``,
a sum that cannot be split back into three matrices, so a shuffle of the couplings cannot be written into a
working network. We therefore shuffle the network's own weights: all values of the tensors above, pooled
over the whole network in one flat vector (block by block, tensor by tensor, each in its storage order),
with exactly :func:`ising_nn.model.transforms.shuffle` (each value picked with probability f, the picked values
permuted among themselves; f = 1 is a uniform permutation of all of them). The shuffled model's couplings
are then made by :func:`ising_nn.model.load.load_couplings` as for any model, so the task metric and the Ising
quantities come from the same weights. Consequences: the pool holds 12 h^2 values per block (q, k, v, proj:
h^2 each; fc1, fc2: 4 h^2 each) where the couplings hold 10 h^2, and an entry of ``qkv`` changes when any of
its three terms moves (about ``1 - (1 - f)^3`` of them). At f = 0 the model is unchanged.
"""

from __future__ import annotations

import copy

import numpy as np

from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings, Provenance
from ising_nn.model.hf import _match
from ising_nn.model.hf_families import layout_for
from ising_nn.model.transforms import shuffle as shuffle_couplings

__all__ = ["coupling_tensors", "weight_pool", "set_weight_pool", "shuffle_model"]


def coupling_tensors(model) -> list[tuple[str, object]]:
    """``(name, parameter)`` of every tensor that forms the couplings, in pool order.

    Parameters
    ----------
    model : Hugging Face torch model of a supported family (``ising_nn.model.hf_families.SUPPORTED``)
    """
    cfg = getattr(model, "config", None)
    if cfg is None or not hasattr(model, "named_parameters"):
        raise IsingNNError(f"expected a Hugging Face torch model, got {type(model).__name__}")
    _, layout = layout_for(cfg)
    params = dict(model.named_parameters())
    blocks = _match(params, layout, f"model {type(model).__name__}")
    return [(block[r], params[block[r]]) for block in blocks for r in layout.tensor_roles]


def weight_pool(model) -> np.ndarray:
    """All coupling-forming weights of ``model`` as one float32 vector (a copy), in pool order."""
    parts = [p.detach().float().reshape(-1).numpy() for _, p in coupling_tensors(model)]
    return np.concatenate(parts).astype(np.float32, copy=False)


def set_weight_pool(model, pool_i: np.ndarray) -> None:
    """Write a pool vector (as from :func:`weight_pool`) back into ``model``'s tensors, in place."""
    import torch

    tensors = coupling_tensors(model)
    total = sum(p.numel() for _, p in tensors)
    pool_i = np.asarray(pool_i)
    if pool_i.shape != (total,):
        raise IsingNNError(f"weight pool must have shape ({total},), got {pool_i.shape}")
    at = 0
    with torch.no_grad():
        for _, p in tensors:
            n = p.numel()
            p.copy_(torch.from_numpy(np.ascontiguousarray(pool_i[at : at + n])).reshape(p.shape).to(p.dtype))
            at += n


def shuffle_model(model, fraction: float, seed: int | None = 0):
    """A copy of ``model`` with a fraction of its coupling-forming weights shuffled network-wide.

    Parameters
    ----------
    model : Hugging Face torch model
    fraction : float in [0, 1]
    seed : int
        Seed of :func:`ising_nn.model.transforms.shuffle`.

    Returns
    -------
    torch model
        A deep copy; ``model`` is not changed. At ``fraction = 0`` the copy equals the model.
    """
    pool = weight_pool(model)
    # a one-matrix "chain" (1 x n) makes the flat pool a Couplings: the shuffle is transforms.shuffle itself
    c = Couplings(pool, (1, pool.size), Provenance(model="weight pool"))
    shuffled = shuffle_couplings(c, fraction, seed=seed)
    out = copy.deepcopy(model)
    set_weight_pool(out, shuffled.buffer)
    return out.eval()
