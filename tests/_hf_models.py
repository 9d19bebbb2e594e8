"""Tiny random transformers of every supported family, and the model's own q/k/v/proj/fc1/fc2 maps.

``build(family, folder)`` saves a small model (hidden 32, 2 blocks, 4 heads, MLP 4h unless told) with
``save_pretrained`` and returns the folder; ``reference_matrices(model, family)`` computes each block's
four matrices by running the model's own modules on basis vectors, so the tests compare the extraction
against the network's computation rather than against a restatement of the mapping.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import torch
import transformers
from transformers import modeling_utils

H, BLOCKS, HEADS = 32, 2, 4
FAMILIES = ("gpt2", "opt", "bloom", "bert", "roberta", "distilbert", "vit", "deit", "beit")


def config(family: str, h: int = H, blocks: int = BLOCKS, heads: int = HEADS, inner: int | None = None):
    """A small config of ``family`` (MLP width ``inner``, default 4 h)."""
    inner = inner or 4 * h
    vocab = {"vocab_size": 64, "max_position_embeddings": 16}
    image = {"image_size": 8, "patch_size": 4, "num_channels": 3}
    bert_like = {"hidden_size": h, "num_hidden_layers": blocks, "num_attention_heads": heads,
                 "intermediate_size": inner}
    if family == "gpt2":
        return transformers.GPT2Config(n_embd=h, n_layer=blocks, n_head=heads, n_inner=inner,
                                       vocab_size=64, n_positions=16, bos_token_id=0, eos_token_id=0)
    if family == "opt":
        return transformers.OPTConfig(hidden_size=h, num_hidden_layers=blocks, num_attention_heads=heads,
                                      ffn_dim=inner, word_embed_proj_dim=h, pad_token_id=0, bos_token_id=0,
                                      eos_token_id=0, **vocab)
    if family == "bloom":  # Bloom's MLP is always 4 h
        return transformers.BloomConfig(hidden_size=h, n_layer=blocks, n_head=heads, vocab_size=64,
                                        pad_token_id=0, bos_token_id=0, eos_token_id=0)
    if family == "bert":
        return transformers.BertConfig(**bert_like, **vocab)
    if family == "roberta":
        return transformers.RobertaConfig(**bert_like, vocab_size=64, max_position_embeddings=20,
                                          pad_token_id=0, bos_token_id=0, eos_token_id=0)
    if family == "distilbert":
        return transformers.DistilBertConfig(dim=h, n_layers=blocks, n_heads=heads, hidden_dim=inner,
                                             pad_token_id=0, **vocab)
    if family == "vit":
        return transformers.ViTConfig(**bert_like, **image)
    if family == "deit":
        return transformers.DeiTConfig(**bert_like, **image)
    if family == "beit":
        return transformers.BeitConfig(**bert_like, **image)
    raise KeyError(family)


_HEADS = {
    "gpt2": "GPT2LMHeadModel", "opt": "OPTForCausalLM", "bloom": "BloomForCausalLM",
    "bert": "BertForSequenceClassification", "roberta": "RobertaForSequenceClassification",
    "distilbert": "DistilBertForSequenceClassification", "vit": "ViTForImageClassification",
    "deit": "DeiTForImageClassificationWithTeacher", "beit": "BeitForImageClassification",
}


def make_model(family: str, *, seed: int = 0, head: bool = False, **cfg):
    """A random model (base, or with a task head when ``head``); every parameter drawn N(0, 1)."""
    torch.manual_seed(seed)
    c = config(family, **cfg)
    if head:
        m = getattr(transformers, _HEADS[family])(c)
    else:
        m = transformers.AutoModel.from_config(c)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_()  # distinct non-zero weights and biases: q, k, v and biases all matter
    return m.eval()


def build(family: str, folder, *, seed: int = 0, head: bool = False, dtype=None, **save_kw):
    """Save a random model of ``family`` into ``folder`` with ``save_pretrained``; return the folder."""
    m = make_model(family, seed=seed, head=head)
    if dtype is not None:
        m = m.to(dtype)
    m.save_pretrained(folder, **save_kw)
    return folder


def tiny_bert(folder):
    """A BERT of hidden 32, 2 blocks, 2 heads and MLP 64 with transformers' own initialisation (seed 0), saved
    into ``folder``: the benches' end-to-end tests run on it; returns the folder."""
    torch.manual_seed(0)
    cfg = transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                  vocab_size=100)
    transformers.BertModel(cfg).save_pretrained(folder)
    return folder


def load(folder):
    """The saved model, loaded back by path."""
    return transformers.AutoModel.from_pretrained(folder).eval()


# ---------------------------------------------------------------------------------------- reference
class _Captured(Exception):
    pass


def _capture_qkv(attn, x: torch.Tensor):
    """q, k, v that ``attn`` hands its attention function for input ``x`` (T, h): each (T, h).

    Patches the attention-function registry so that the module's own projection and head split run and
    their results are caught at the attention call.
    """
    got = {}

    def fake(module, q, k, v, *args, **kwargs):
        got["qkv"] = (q, k, v)
        raise _Captured

    with mock.patch.object(modeling_utils.ALL_ATTENTION_FUNCTIONS, "get_interface",
                           lambda *a, **k: fake):
        try:
            attn(x[None])
        except _Captured:
            pass
    # (1, heads, T, head_dim) -> (T, heads * head_dim): the order in which the heads merge
    return [t[0].transpose(0, 1).reshape(x.shape[0], -1) for t in got["qkv"]]


def _modules(model, family: str):
    """Per block: (attention module, proj, fc1, fc2) modules."""
    base = model.base_model
    if family == "gpt2":
        return [(b.attn, b.attn.c_proj, b.mlp.c_fc, b.mlp.c_proj) for b in base.h]
    if family == "opt":
        return [(b.self_attn, b.self_attn.out_proj, b.fc1, b.fc2) for b in base.decoder.layers]
    if family == "bloom":
        return [(b.self_attention, b.self_attention.dense, b.mlp.dense_h_to_4h, b.mlp.dense_4h_to_h)
                for b in base.h]
    if family in ("bert", "roberta"):
        return [(b.attention.self, b.attention.output.dense, b.intermediate.dense, b.output.dense)
                for b in base.encoder.layer]
    if family == "distilbert":
        return [(b.attention, b.attention.out_lin, b.ffn.lin1, b.ffn.lin2) for b in base.transformer.layer]
    if family in ("vit", "deit", "beit"):
        return [(b.attention, b.attention.o_proj, b.mlp.fc1, b.mlp.fc2) for b in base.layers]
    raise KeyError(family)


def _linear_map(f, n_in: int) -> np.ndarray:
    """Matrix M (n_in, n_out) with f(x) = x M + f(0): rows are the images of the basis vectors."""
    eye = torch.eye(n_in, dtype=torch.float64)
    return (f(eye) - f(torch.zeros(1, n_in, dtype=torch.float64))).numpy()


def _qkv_terms(attn, family: str, h: int) -> list[np.ndarray]:
    """The model's own q, k, v maps (each (h, h), rows = inputs)."""
    if family == "bloom":  # Bloom calls no attention function; its own _reshape splits the fused rows

        def g(x):
            q, k, v = attn._reshape(attn.query_key_value(x[None]))
            return [t[0].transpose(0, 1).reshape(x.shape[0], -1) for t in (q, k, v)]
    else:
        # OPT scales q inside the module before the attention call; undo it to get W_q
        scale = attn.scaling if family == "opt" else 1.0

        def g(x):
            q, k, v = _capture_qkv(attn, x)
            return [q / scale, k, v]

    return [_linear_map(lambda x, t=t: g(x)[t], h) for t in range(3)]


def reference_matrices(model, family: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The 4 L matrices (rows = inputs) computed by running the model's modules, in float64.

    Returns ``(M_l, S_l)``: ``S_l`` is ``|W_q| + |W_k| + |W_v|`` for the qkv matrices (the scale of the
    float32 rounding of a three-term sum) and zeros for the single matrices.
    """
    model = model.double().eval()
    d = model.config.to_dict()
    h = d.get("hidden_size") or d.get("n_embd") or d["dim"]
    mats, scales = [], []
    with torch.no_grad():
        for attn, proj, fc1, fc2 in _modules(model, family):
            q, k, v = _qkv_terms(attn, family, h)
            mats.append(q + k + v)
            scales.append(np.abs(q) + np.abs(k) + np.abs(v))
            m1 = _linear_map(fc1, h)
            for m in (_linear_map(proj, h), m1, _linear_map(fc2, m1.shape[1])):
                mats.append(m)
                scales.append(np.zeros_like(m))
    return mats, scales
