"""The core: energies against brute force, shuffles, first blocks, files (npz, authors' text), validation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from ising_nn import (
    Couplings,
    IsingNNError,
    Provenance,
    first_blocks,
    load_authors_folder,
    load_npz,
    save_authors_folder,
    save_npz,
    shuffle,
)
from ising_nn.results.textfile import atomic_path, format_header, read_header

U32 = float(np.finfo(np.float32).eps) / 2  # unit roundoff of float32


def random_couplings(sizes, seed=0, prov=None) -> Couplings:
    rng = np.random.default_rng(seed)
    mats = [rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:], strict=False)]
    return Couplings.from_matrices(mats, prov or Provenance("random", "test", 1))


def blocks_couplings(blocks=3, h=4, seed=0) -> Couplings:
    sizes = [h] + [h, h, 4 * h, h] * blocks
    return random_couplings(sizes, seed, Provenance("blocks", "test", 4, blocks))


def brute_energy(c: Couplings, s: np.ndarray) -> float:
    """E = - sum over every bond of J_ij s_i s_j, one bond at a time, in float64."""
    layers = c.split(s)
    e = 0.0
    for l, J in enumerate(c.J):
        for i in range(J.shape[0]):
            for j in range(J.shape[1]):
                e -= float(J[i, j]) * float(layers[l][i]) * float(layers[l + 1][j])
    return e


def energy_bound(c: Couplings) -> float:
    """Rounding bound of :meth:`Couplings.energy`: float32 sums of n_l terms cost <= n_l u sum |J_l|."""
    return sum(J.shape[0] * U32 * float(np.abs(J).sum()) for J in c.J) * 1.01 + 1e-12


def field_bound(c: Couplings) -> float:
    """Rounding bound of one float32 local field: at most n_max terms, each side of a layer."""
    n_max = max(c.layer_sizes)
    row = max(float(np.abs(J).sum(axis=1).max()) for J in c.J)
    col = max(float(np.abs(J).sum(axis=0).max()) for J in c.J)
    return n_max * U32 * (row + col) * 1.01


# ---------------------------------------------------------------------------------------- energy
def test_energy_against_brute_force_single_and_batch():
    c = random_couplings((3, 5, 2, 4, 6), seed=1)
    rng = np.random.default_rng(2)
    S = rng.choice(np.array([-1, 1], dtype=np.int8), size=(7, c.n_spins))
    brute = np.array([brute_energy(c, s) for s in S])
    batch = c.energy(S)
    assert batch.shape == (7,)
    assert np.abs(batch - brute).max() <= energy_bound(c)
    for s, b in zip(S, brute, strict=True):
        e = c.energy(s)
        assert isinstance(e, float) and abs(e - b) <= energy_bound(c)


def test_energy_exhaustive_symmetry_of_the_bipartite_chain():
    """Flipping every other layer maps E to -E for every configuration (so g(E) = g(-E))."""
    c = random_couplings((2, 3, 2, 3), seed=4)
    S = np.array(list(itertools.product([-1, 1], repeat=c.n_spins)), dtype=np.int8)
    E = c.energy(S)
    flip = np.concatenate([np.full(n, -1 if l % 2 else 1, np.int8) for l, n in enumerate(c.layer_sizes)])
    np.testing.assert_array_equal(c.energy(S * flip), -E)
    brute = np.array([brute_energy(c, s) for s in S[::37]])
    assert np.abs(E[::37] - brute).max() <= energy_bound(c)
    np.testing.assert_array_equal(np.sort(E), np.sort(-E))  # the exact spectrum is symmetric


def test_local_fields_equal_half_the_flip_energy_change():
    c = random_couplings((4, 3, 5, 2), seed=5)
    s = np.random.default_rng(6).choice(np.array([-1.0, 1.0]), size=c.n_spins)
    h = c.local_fields(s)
    e0 = c.energy(s)
    off = c.spin_offsets
    for i in range(c.n_spins):
        t = s.copy()
        t[i] = -t[i]
        assert abs((c.energy(t) - e0) - 2 * s[i] * h[i]) <= 2 * energy_bound(c)
        l = int(np.searchsorted(off, i, side="right") - 1)
        k = i - off[l]
        direct = 0.0
        if l < c.n_layers:
            direct += float(c.J[l][k] @ s[off[l + 1] : off[l + 2]])
        if l > 0:
            direct += float(c.J[l - 1][:, k] @ s[off[l - 1] : off[l]])
        assert abs(h[i] - direct) <= 2 * field_bound(c)
    H = c.local_fields(np.stack([s, -s]))  # batched BLAS may sum in another order than single
    np.testing.assert_allclose(H, np.stack([h, -h]), rtol=0, atol=2 * field_bound(c))


def test_spin_shape_checked():
    c = random_couplings((2, 3))
    with pytest.raises(IsingNNError, match="spins must have shape"):
        c.energy(np.ones(4))
    with pytest.raises(IsingNNError, match="spins must have shape"):
        c.energy(np.ones((1, 1, 5)))


# ---------------------------------------------------------------------------------------- shape facts
def test_offsets_views_and_stats():
    c = random_couplings((3, 5, 2), seed=7)
    assert c.n_spins == 10 and c.n_bonds == 25 and c.nbytes == 100 and c.n_layers == 2
    np.testing.assert_array_equal(c.bond_offsets, [0, 15, 25])
    np.testing.assert_array_equal(c.spin_offsets, [0, 3, 8, 10])
    assert all(np.shares_memory(J, c.buffer) for J in c.J)
    x = c.buffer.astype(np.float64)
    st = c.weight_stats()
    np.testing.assert_allclose([st.mean, st.std, st.min, st.max, st.mean_abs],
                               [x.mean(), x.std(), x.min(), x.max(), np.abs(x).mean()], rtol=1e-12)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_rejected(bad):
    m = np.ones((2, 3), np.float32)
    m[1, 2] = bad
    with pytest.raises(IsingNNError, match="matrix 1 holds 1 NaN or Inf"):
        Couplings.from_matrices([np.ones((4, 2), np.float32), m])


def test_shapes_must_chain_and_be_2d():
    with pytest.raises(IsingNNError, match="do not chain"):
        Couplings.from_matrices([np.ones((2, 3)), np.ones((4, 2))])
    with pytest.raises(IsingNNError, match="must be 2-D"):
        Couplings.from_matrices([np.ones(3)])
    with pytest.raises(IsingNNError, match="at least one"):
        Couplings.from_matrices([])
    with pytest.raises(IsingNNError, match="need 6"):
        Couplings(np.zeros(5, np.float32), (2, 3))
    with pytest.raises(IsingNNError, match="float32"):
        Couplings(np.zeros(6), (2, 3))


# ---------------------------------------------------------------------------------------- shuffles
def distinct(sizes, seed=0) -> Couplings:
    """Couplings whose values are all different (exact in float32 below 2**24)."""
    n = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    vals = np.random.default_rng(seed).permutation(n).astype(np.float32)
    return Couplings(vals, tuple(sizes), Provenance("distinct", "test", 1))


def test_shuffle_keeps_the_multiset_and_is_seeded():
    c = distinct((50, 80, 40))
    for f in (0.0, 0.3, 1.0):
        s = shuffle(c, f, seed=11)
        np.testing.assert_array_equal(np.sort(s.buffer), np.sort(c.buffer))
        np.testing.assert_array_equal(shuffle(c, f, seed=11).buffer, s.buffer)
        assert (s.provenance.shuffle, s.provenance.shuffle_seed) == (f, 11)
    assert not np.array_equal(shuffle(c, 1.0, seed=1).buffer, shuffle(c, 1.0, seed=2).buffer)
    before = c.buffer.copy()
    shuffle(c, 1.0)
    np.testing.assert_array_equal(c.buffer, before)  # the input is not changed


def test_shuffle_zero_is_identity_and_one_permutes():
    c = distinct((100, 200, 50))
    zero = shuffle(c, 0.0, seed=3)
    np.testing.assert_array_equal(zero.buffer, c.buffer)
    assert not np.shares_memory(zero.buffer, c.buffer)
    one = shuffle(c, 1.0, seed=3)
    # a uniform permutation has 1 fixed point on average (Poisson(1)); 10 has probability ~1e-7
    assert int((one.buffer == c.buffer).sum()) < 10
    # pooled across layers: the first layer receives values from the others
    first = one.J[0].ravel()
    assert (first >= c.J[0].size).sum() > 0


@pytest.mark.parametrize("f", [0.05, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("per_layer", [False, True])
def test_fraction_moved_is_binomial(f, per_layer):
    """Each coupling is picked with probability f, picked values permuted: moved = K - F with
    K ~ Binomial(n, f) and F the fixed points of a uniform permutation (mean 1, variance 1). So
    z = (moved - n f) / sqrt(n f (1 - f)) is standard normal up to an O(1 / sigma) offset; |z| < 5 fails
    with probability ~6e-7."""
    c = distinct((200, 300, 100), seed=1)
    n = c.n_bonds
    s = shuffle(c, f, seed=13, per_layer=per_layer)
    moved = int((s.buffer != c.buffer).sum())
    z = (moved - n * f) / math.sqrt(n * f * (1 - f))
    assert abs(z) < 5, z


def test_per_layer_keeps_each_layers_multiset():
    c = distinct((30, 40, 20, 10), seed=2)
    for f in (0.5, 1.0):
        s = shuffle(c, f, seed=4, per_layer=True)
        assert s.provenance.per_layer
        for a, b in zip(s.J, c.J, strict=True):
            np.testing.assert_array_equal(np.sort(a, axis=None), np.sort(b, axis=None))
        assert not np.array_equal(s.buffer, c.buffer)


@pytest.mark.parametrize("f", [-0.1, 1.0001, float("nan"), "half", None])
def test_shuffle_fraction_outside_0_1(f):
    with pytest.raises(IsingNNError, match="shuffle fraction"):
        shuffle(distinct((2, 3)), f)


# ---------------------------------------------------------------------------------------- first blocks
def test_first_blocks_counts_and_view():
    c = blocks_couplings(blocks=3, h=4)
    assert c.n_blocks == 3 and c.n_layers == 12
    for k in (1, 2, 3):
        b = first_blocks(c, k)
        assert b.n_blocks == k and b.provenance.blocks == k
        assert b.n_spins == (7 * k + 1) * 4 and b.n_bonds == 10 * k * 16
        assert np.shares_memory(b.buffer, c.buffer)
        np.testing.assert_array_equal(b.J[-1], c.J[4 * k - 1])


@pytest.mark.parametrize("k", [0, 4, -1, 1.5, True, "2"])
def test_first_blocks_outside_1_L(k):
    with pytest.raises(IsingNNError, match="from 1 to 3"):
        first_blocks(blocks_couplings(blocks=3), k)


# ---------------------------------------------------------------------------------------- files
def test_npz_round_trip(tmp_path):
    prov = Provenance("m", "bert", 4, 2, 0.5, 3, True)
    c = blocks_couplings(blocks=2, seed=8).replace(**{k: getattr(prov, k) for k in prov.__dataclass_fields__})
    save_npz(c, tmp_path / "c.npz")
    r = load_npz(tmp_path / "c.npz")
    assert r.layer_sizes == c.layer_sizes and r.provenance == prov
    np.testing.assert_array_equal(r.buffer, c.buffer)
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


def test_npz_bad_files(tmp_path):
    with pytest.raises(IsingNNError, match="not found"):
        load_npz(tmp_path / "missing.npz")
    (tmp_path / "garbage.npz").write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(IsingNNError, match="not a readable .npz"):
        load_npz(tmp_path / "garbage.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(IsingNNError, match="not a readable .npz"):
        load_npz(tmp_path / "text.npz")
    np.savez(tmp_path / "other.npz", a=np.ones(2))
    with pytest.raises(IsingNNError, match="no arrays J_0"):
        load_npz(tmp_path / "other.npz")
    np.savez(tmp_path / "nan.npz", J_0=np.array([[1.0, np.nan]], np.float32))
    with pytest.raises(IsingNNError, match="NaN or Inf"):
        load_npz(tmp_path / "nan.npz")
    np.savez(tmp_path / "chain.npz", J_0=np.ones((2, 3), np.float32), J_1=np.ones((2, 2), np.float32))
    with pytest.raises(IsingNNError, match="do not chain"):
        load_npz(tmp_path / "chain.npz")
    np.savez(tmp_path / "3d.npz", J_0=np.ones((2, 2, 2), np.float32))
    with pytest.raises(IsingNNError, match="2-D"):
        load_npz(tmp_path / "3d.npz")
    with pytest.raises(IsingNNError, match="must end in .npz"):
        save_npz(random_couplings((2, 2)), tmp_path / "c.txt")
    with pytest.raises(IsingNNError, match="does not exist"):
        save_npz(random_couplings((2, 2)), tmp_path / "nodir" / "c.npz")


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    c = random_couplings((2, 3))
    save_npz(c, tmp_path / "keep.npz")
    before = (tmp_path / "keep.npz").read_bytes()

    def broken(path, **arrays):
        with open(path, "wb") as fh:
            fh.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        save_npz(random_couplings((2, 3), seed=1), tmp_path / "keep.npz")
    with pytest.raises(OSError, match="disk full"):
        save_npz(c, tmp_path / "new.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.npz"]
    assert (tmp_path / "keep.npz").read_bytes() == before
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "x.dat") as tmp:
            tmp.write_text("partial")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.npz"]


def test_authors_folder_round_trip(tmp_path):
    c = blocks_couplings(blocks=2, seed=9)
    save_authors_folder(c, tmp_path / "a")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names[:4] == ["layers.0.fc1.txt", "layers.0.fc2.txt", "layers.0.proj.txt", "layers.0.qkv.txt"]
    r = load_authors_folder(tmp_path / "a")
    np.testing.assert_array_equal(r.buffer, c.buffer)  # %.9g round-trips float32 exactly
    assert r.layer_sizes == c.layer_sizes and r.n_blocks == 2 and r.provenance.family == "authors"
    with pytest.raises(IsingNNError, match="already exists"):
        save_authors_folder(c, tmp_path / "a")
    with pytest.raises(IsingNNError, match="whole blocks"):
        save_authors_folder(random_couplings((2, 3, 2)), tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_authors_folder_bad_input(tmp_path):
    with pytest.raises(IsingNNError, match="not a folder in the authors' format"):
        load_authors_folder(tmp_path)
    c = blocks_couplings(blocks=1)
    save_authors_folder(c, tmp_path / "a")
    (tmp_path / "a" / "layers.0.fc1.txt").unlink()
    with pytest.raises(IsingNNError, match="missing layers.0.fc1.txt"):
        load_authors_folder(tmp_path / "a")
    save_authors_folder(c, tmp_path / "b")
    (tmp_path / "b" / "layers.0.proj.txt").write_text("1 2\nx y\n")
    with pytest.raises(IsingNNError, match="not a whitespace-separated matrix"):
        load_authors_folder(tmp_path / "b")
    save_authors_folder(c, tmp_path / "c")
    np.savetxt(tmp_path / "c" / "layers.0.proj.txt", np.ones((4, 5)))
    with pytest.raises(IsingNNError, match="do not chain"):
        load_authors_folder(tmp_path / "c")
    save_authors_folder(c, tmp_path / "d")
    np.savetxt(tmp_path / "d" / "layers.0.fc2.txt", np.full((16, 4), np.nan))
    with pytest.raises(IsingNNError, match="NaN or Inf"):
        load_authors_folder(tmp_path / "d")


def test_header_round_trip(tmp_path):
    text = format_header({"model": "gpt2", "n_spins": 65280, "note": "two\nlines"})
    (tmp_path / "h.dat").write_text(text + "1 2\n# not header\n")
    h = read_header(tmp_path / "h.dat")
    assert h["model"] == "gpt2" and h["n_spins"] == "65280" and h["note"] == "two lines"
    assert h["version"].startswith("ising-nn ")
    p = Provenance("m", "opt", 4, 3, 0.25, 9, False)
    assert Provenance.from_header(p.as_header()) == p
