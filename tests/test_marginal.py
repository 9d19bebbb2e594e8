"""The exact marginal of either parity of layers (ising_nn.kernels.marginal, LayerChains.marginal,
ising_nn.canonical.rbmbar): the kernel against its pure-Python reference, the sums against the half-sweep's own
moments and against enumeration of the summed spins, and the targets each rung's samples carry."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from ising_nn.canonical import LayerChains
from ising_nn.canonical.rbmbar import marginal_targets
from ising_nn.kernels.marginal import marginal_sums, marginal_sums_reference
from ising_nn.model.couplings import Couplings


def _net(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return Couplings.from_matrices([rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])])


def test_kernel_matches_its_reference():
    rng = np.random.default_rng(0)
    h = rng.normal(0, 3, (4, 257)).astype(np.float32)
    beta = rng.uniform(0, 2, (4, 5))
    beta[0, 0], beta[1, 3] = 0.0, np.nan
    out = [np.full((4, 5), 0.5) for _ in range(3)]  # the kernel adds to what is there
    ref = [np.full((4, 5), 0.5) for _ in range(3)]
    marginal_sums(h, beta, *out)
    marginal_sums_reference(h, beta, *ref)
    for o, r in zip(out, ref):
        # float32 terms, float64 sums: about 1e-7 of each term's size
        np.testing.assert_allclose(o, r, rtol=0, atol=2e-7 * 257 * 6)
    assert abs(out[0][0, 0] - 0.5) < 1e-4  # L(0) = 0, up to float32 rounding of ln 2 per spin
    assert out[0][1, 3] == 0.5  # NaN: skipped


@pytest.mark.parametrize("parity", [0, 1])
def test_marginal_is_the_half_sweeps_moments_and_the_enumerated_sum(parity):
    """At a replica's own beta, M and V are the half-sweep's Rao-Blackwellised m and v (same fields); and
    L + n ln 2 is ln sum over the summed layers' spins of exp(-beta E), by enumeration (parity 0: the even layers
    0 and 2, 6 spins, given the odd; parity 1: the odd layers 1 and 3, 6 spins, given the even)."""
    c = _net([3, 4, 3, 2], seed=1)
    rng = np.random.default_rng(2)
    R = 3
    s = rng.choice(np.array([-1, 1], np.int8), (R, c.n_spins))
    beta_r = np.array([0.3, 0.7, 1.1])
    ch = LayerChains(c, s, "cpu", 0, "float32")
    L, M, V = ch.marginal(np.stack([beta_r, 0.5 * beta_r], 1), parity=parity)
    h = ch.half_sweep(parity, beta_r)  # draws the summed layers; the others (what M, V condition on) stay
    np.testing.assert_allclose(M[:, 0], h.m_r, rtol=1e-5)
    np.testing.assert_allclose(V[:, 0], h.v_r, rtol=1e-5)
    summed = [parity, parity + 2]
    offs = np.concatenate([[0], np.cumsum(c.layer_sizes)])
    idx = np.concatenate([np.arange(offs[l], offs[l + 1]) for l in summed])
    for r in range(R):
        for j, b in enumerate((beta_r[r], 0.5 * beta_r[r])):
            w = []
            for y in itertools.product((-1, 1), repeat=len(idx)):
                x = s[r].astype(np.float64).copy()
                x[idx] = y
                w.append(-b * float(c.energy(x.astype(np.int8))))
            lnZ = np.logaddexp.reduce(w)
            assert abs(L[r, j] + len(idx) * math.log(2.0) - lnZ) < 1e-5 * max(1.0, abs(lnZ))
    with pytest.raises(ValueError):
        ch.marginal(beta_r[:, None], parity=2)


def test_torch_path_matches_the_kernel():
    c = _net([5, 7, 6, 4], seed=3)
    s = np.random.default_rng(4).choice(np.array([-1, 1], np.int8), (4, c.n_spins))
    beta = np.array([[0.0, 0.2, np.nan], [0.5, 1.0, 2.0], [0.1, np.nan, np.nan], [3.0, 0.4, 0.8]])
    ch = LayerChains(c, s, "cpu", 0, "float32")
    a = [ch.marginal(beta, parity=p) for p in (0, 1)]
    ch.cpu = False  # the code path of other devices, on the CPU
    b = [ch.marginal(beta, parity=p) for p in (0, 1)]
    ok = ~np.isnan(beta)
    for p in (0, 1):
        for x, y in zip(a[p], b[p]):
            np.testing.assert_allclose(x[ok], y[ok], rtol=1e-5, atol=1e-4)


def test_targets_hold_the_window_and_the_grid_between():
    """Rung j is in rung k's window when |beta_j - beta_k| max(sigma_j, sigma_k) <= spread; the grid points
    between the window's outermost rungs come with it; every grid point is carried by some rung."""
    beta_k = np.concatenate([[0.0], np.linspace(0.1, 2.0, 20)])
    sigma = np.concatenate([[0.0], np.linspace(1.0, 8.0, 20)])
    beta_t = 1.0 / np.geomspace(0.5, 10.0, 30)
    t = marginal_targets(beta_k, beta_t, sigma, spread=2.0)
    K = len(beta_k)
    widths = []
    for k in range(K):
        idx = t.index_kj[k]
        rungs = idx[(idx >= 0) & (idx < K)]
        want = np.flatnonzero(np.abs(beta_k - beta_k[k]) * np.maximum(sigma, sigma[k]) <= 2.0)
        np.testing.assert_array_equal(rungs, np.arange(want.min(), want.max() + 1))
        widths.append(len(rungs))
        grid = idx[idx >= K] - K
        lo, hi = beta_k[rungs.min()], beta_k[rungs.max()]
        np.testing.assert_array_equal(grid, np.flatnonzero((beta_t >= lo) & (beta_t <= hi)))
        used = idx >= 0
        np.testing.assert_array_equal(t.beta_kj[k, used], np.concatenate([beta_k, beta_t])[idx[used]])
        assert np.isnan(t.beta_kj[k, ~used]).all()
    assert widths[1] > widths[-1] > 1  # wide where M hardly varies, narrow where it does
    assert set(range(len(beta_t))) <= set((t.index_kj[t.index_kj >= K] - K).tolist())
