"""Local-field kernels (ising_nn.kernels.fields) against fresh float64 recomputation."""

import numba as nb
import numpy as np
import pytest

from ising_nn.kernels.fields import (
    energy_direct,
    energy_from_fields,
    flip_global,
    flip_spin,
    init_fields,
    layer_index,
    layer_of,
    transpose_buffer,
)
from ising_nn.model.couplings import Couplings
from ising_nn.testing.reference import ref_energy, ref_fields, ref_flip


def _net(sizes, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    mats = [(scale * rng.normal(size=(a, b))).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    return Couplings.from_matrices(mats)


def _args(c):
    return c.buffer, c.sizes_array, c.bond_offsets, c.spin_offsets


def _spins(c, seed=1):
    return (np.random.default_rng(seed).integers(0, 2, c.n_spins) * 2 - 1).astype(np.int8)


def test_transpose_buffer_holds_every_transposed_matrix():
    c = _net([5, 70, 3, 66, 1])  # sizes around the 64 tile
    bT = transpose_buffer(c.buffer, c.sizes_array, c.bond_offsets)
    off = c.bond_offsets
    for l, J in enumerate(c.J):
        np.testing.assert_array_equal(bT[off[l] : off[l + 1]].reshape(J.shape[1], J.shape[0]), J.T)


def test_init_fields_and_energies_match_reference():
    c = _net([4, 9, 1, 7, 5])
    s = _spins(c)
    h = np.empty(c.n_spins)
    init_fields(*_args(c), s, h)
    np.testing.assert_allclose(h, ref_fields(c, s), rtol=0, atol=1e-12)
    E = ref_energy(c, s)
    assert energy_from_fields(s, h) == pytest.approx(E, abs=1e-12)
    assert energy_direct(*_args(c), s) == pytest.approx(E, abs=1e-12)


def test_flip_returns_dE_and_updates_neighbour_fields_like_the_reference():
    c = _net([3, 6, 4, 5])
    bT = transpose_buffer(c.buffer, c.sizes_array, c.bond_offsets)
    s = _spins(c)
    h = np.empty(c.n_spins)
    init_fields(*_args(c), s, h)
    s_ref, h_ref = s.astype(int).tolist(), h.tolist()
    li = layer_index(c.spin_offsets)
    rng = np.random.default_rng(2)
    for g in rng.integers(0, c.n_spins, 200):
        E0 = ref_energy(c, s)
        l = int(li[g])
        dE = flip_spin(l, int(g - c.spin_offsets[l]), c.buffer, bT, *_args(c)[1:], s, h)
        assert dE == pytest.approx(ref_energy(c, s) - E0, abs=1e-10)
        assert ref_flip(c, int(g), s_ref, h_ref) == dE
        # same float64 operations in the same order: bit-identical
        np.testing.assert_array_equal(h, np.array(h_ref))
        np.testing.assert_array_equal(s, np.array(s_ref, dtype=np.int8))


def test_layer_lookup():
    c = _net([3, 1, 4, 2])
    li = layer_index(c.spin_offsets)
    assert li.tolist() == [0, 0, 0, 1, 2, 2, 2, 2, 3, 3]
    assert [layer_of(g, c.spin_offsets) for g in range(c.n_spins)] == li.tolist()


@nb.njit
def _many_flips(idx, li, buffer, bT, sizes, bond_off, spin_off, s, h):
    dE = 0.0
    for g in idx:
        dE += flip_global(g, li, buffer, bT, sizes, bond_off, spin_off, s, h)
    return dE


def test_field_drift_stays_bounded_after_a_million_flips():
    """Fields are float64 updated by exact +-2 J (J float32): each update rounds once, relative 1.1e-16, so
    after n = 1e6 flips a field of magnitude |h| <~ 30 drifts by about sqrt(n updates of it) * 1e-16 * |h|,
    far below 1e-9; float32 fields would drift by ~1e-7 per update (1e-4 after 1e6)."""
    c = _net([40, 60, 40, 60, 40], seed=3)
    bT = transpose_buffer(c.buffer, c.sizes_array, c.bond_offsets)
    s = _spins(c, 4)
    h = np.empty(c.n_spins)
    init_fields(*_args(c), s, h)
    E = energy_from_fields(s, h)
    li = layer_index(c.spin_offsets)
    idx = np.random.default_rng(5).integers(0, c.n_spins, 1_000_000)
    E += _many_flips(idx, li, c.buffer, bT, *_args(c)[1:], s, h)
    fresh = ref_fields(c, s)
    assert np.abs(h - fresh).max() < 1e-9
    assert abs(E - ref_energy(c, s)) < 1e-7
    assert np.abs(fresh).max() > 1.0  # the bound is not vacuous
