"""Exact densities of states (ising_nn.testing.exact): enumeration, transfer matrix and chains agree."""

import numpy as np
import pytest
from scipy.special import logsumexp

from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings
from ising_nn.testing.exact import (
    bin_levels,
    chain_dos,
    enumerate_dos,
    enumerate_energies,
    rank_one_dos,
    rank_one_network,
    transfer_matrix_dos,
)


def _int_net(sizes, seed=0, lo=-2, hi=2):
    rng = np.random.default_rng(seed)
    return Couplings.from_matrices(
        [rng.integers(lo, hi + 1, size=(a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    )


def _chain(n_spins, J=1.5, seed=0):
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], n_spins - 1)
    return Couplings.from_matrices([np.full((1, 1), J * sg, np.float32) for sg in signs])


def test_enumeration_energies_match_direct_computation():
    rng = np.random.default_rng(1)
    c = Couplings.from_matrices([rng.normal(size=s).astype(np.float32) for s in ((3, 4), (4, 3))])
    E = enumerate_energies(c)
    # Gray-code order from all +1: spin i of state t is -1 where bit i of t ^ (t >> 1) is set
    t = np.arange(1 << c.n_spins)
    s = 1 - 2 * (((t ^ (t >> 1))[:, None] >> np.arange(c.n_spins)) & 1)
    np.testing.assert_allclose(E, c.energy(s.astype(np.float64)), atol=1e-5)


def test_enumeration_is_normalised_and_exactly_symmetric():
    rng = np.random.default_rng(2)
    c = Couplings.from_matrices([rng.normal(size=s).astype(np.float32) for s in ((3, 5), (5, 4))])
    lev = enumerate_dos(c)
    assert logsumexp(lev.ln_g) == pytest.approx(c.n_spins * np.log(2), abs=1e-12)
    # g(E) = g(-E): flipping every odd layer maps E to -E (one-to-one)
    E = np.sort(enumerate_energies(c))
    np.testing.assert_allclose(E, -E[::-1], atol=1e-9)


def test_transfer_matrix_equals_enumeration_for_integer_couplings():
    c = _int_net([3, 4, 2, 4, 3], seed=3)
    tm = transfer_matrix_dos(c)
    en = enumerate_dos(c, decimals=6)
    np.testing.assert_array_equal(tm.E, en.E)
    np.testing.assert_allclose(tm.ln_g, en.ln_g, atol=1e-12)


def test_transfer_matrix_deep_network_symmetric_and_normalised():
    c = _int_net([3] * 60, seed=4, lo=-1, hi=1)  # 180 spins: far beyond enumeration
    tm = transfer_matrix_dos(c)
    assert logsumexp(tm.ln_g) == pytest.approx(c.n_spins * np.log(2), rel=1e-13)
    np.testing.assert_array_equal(tm.E, -tm.E[::-1])
    np.testing.assert_allclose(tm.ln_g, tm.ln_g[::-1], atol=1e-9)


def test_chain_binomial_equals_enumeration_and_transfer_matrix():
    c = _chain(13)
    ch = chain_dos(c)
    en = enumerate_dos(c, decimals=6)
    np.testing.assert_allclose(ch.E, en.E)
    np.testing.assert_allclose(ch.ln_g, en.ln_g, atol=1e-12)
    deep = _chain(400, J=1.0, seed=5)  # any depth: the transfer matrix against the binomial
    np.testing.assert_allclose(transfer_matrix_dos(deep).ln_g, chain_dos(deep).ln_g, atol=1e-9)


@pytest.mark.parametrize(("sizes", "scales"), [([5, 5, 5, 4], [1, 2, 1]), ([3, 7, 6], [3, 1]), ([1, 9, 1], [2, 1]),
                                               ([4, 4], [2])])
def test_rank_one_equals_enumeration(sizes, scales):
    c = rank_one_network(sizes, scales, seed=1)
    r1, en = rank_one_dos(c), enumerate_dos(c, decimals=6)
    np.testing.assert_array_equal(r1.E, en.E)
    np.testing.assert_allclose(r1.ln_g, en.ln_g, atol=1e-12)


def test_rank_one_equals_transfer_matrix_and_scales_to_wide_layers():
    c = rank_one_network([9, 10, 8, 10, 9], [1, 2, 1, 3], seed=2)  # 46 spins: beyond enumeration
    r1, tm = rank_one_dos(c), transfer_matrix_dos(c)
    np.testing.assert_array_equal(r1.E, tm.E)
    np.testing.assert_allclose(r1.ln_g, tm.ln_g, atol=1e-10)
    c = rank_one_network([128, 128, 128])  # beyond the transfer matrix
    wide = rank_one_dos(c)
    assert logsumexp(wide.ln_g) == pytest.approx(c.n_spins * np.log(2), rel=1e-13)
    np.testing.assert_array_equal(wide.E, -wide.E[::-1])
    np.testing.assert_allclose(wide.ln_g, wide.ln_g[::-1], atol=1e-9)


def test_bin_levels_sums_degeneracies_onto_a_grid():
    c = _chain(9)
    lev = chain_dos(c)  # levels spaced 3
    E_b, ln_b = bin_levels(lev, lev.E[:2], 6.0)
    assert logsumexp(ln_b) == pytest.approx(logsumexp(lev.ln_g))
    assert np.allclose(np.diff(E_b), 6.0)
    assert E_b.size == (lev.E.size + 1) // 2 + (lev.E.size % 2 == 0)


def test_exact_bad_inputs():
    with pytest.raises(IsingNNError, match="N <="):
        enumerate_energies(_int_net([10, 10, 10]))
    with pytest.raises(IsingNNError, match="integer"):
        transfer_matrix_dos(Couplings.from_matrices([np.full((2, 2), 0.5, np.float32)]))
    with pytest.raises(IsingNNError, match="at most"):
        transfer_matrix_dos(_int_net([13, 2]))
    with pytest.raises(IsingNNError, match="one spin"):
        chain_dos(_int_net([2, 2]))
    with pytest.raises(IsingNNError, match=r"c u v\^T"):
        rank_one_dos(_int_net([3, 3], lo=-1, hi=1))
