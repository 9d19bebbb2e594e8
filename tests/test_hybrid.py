"""Wang-Landau windows started from equilibrium states, and the DOS joined from MBAR and Wang-Landau.

Exact answers come from enumeration (N <= 20). The joined DOS must give the canonical engine's
thermodynamics where the engine's chains are equilibrated, and Wang-Landau's shape below.
"""

import math

import numpy as np
import pytest
from scipy.special import logsumexp

from ising_nn.canonical import MBARSamples, canonical_thermo, hybrid_dos
from ising_nn.canonical.hybrid import JOIN_SIGMAS
from ising_nn.canonical.mbar import mbar_curve, mbar_ln_g
from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings
from ising_nn.results.dos import DOS
from ising_nn.testing.exact import bin_levels, enumerate_dos, enumerate_energies
from ising_nn.thermo.from_dos import thermodynamics
from ising_nn.wanglandau.run import wang_landau


def _net(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return Couplings.from_matrices([rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])])


@pytest.fixture(scope="module")
def net():
    c = _net([4, 5, 5, 4], seed=3)  # N = 18
    r = canonical_thermo(c, tmin=1.0, tmax=8.0, sweeps=2000, seed=0, progress=False, points=40)
    return c, r


def test_windows_start_from_the_nearest_pool_state(net):
    c, r = net
    d = wang_landau(c, bins=30, seed=0, max_sweeps=2e4, ln_f_final=1e-4, progress=False, window_spins=r.spins_k,
                    windows=3)
    assert int(d.header["windows_from_pool"]) >= 1
    E_b, g_b = bin_levels(enumerate_dos(c), d.E_k, d.bin_width)
    np.testing.assert_allclose(E_b, d.E_k, atol=1e-9 * abs(d.E_min))  # every level found
    assert np.abs(d.ln_g_k - g_b).max() < 0.1  # the same walk's accuracy as from the descents' state


def test_window_spins_are_checked(net):
    c, _ = net
    with pytest.raises(IsingNNError, match="window_spins must be an array"):
        wang_landau(c, bins=30, max_sweeps=10, progress=False, window_spins=np.ones((2, c.n_spins + 1)))
    with pytest.raises(IsingNNError, match="window_spins must be an array"):
        wang_landau(c, bins=30, max_sweeps=10, progress=False, window_spins=np.zeros((2, c.n_spins)))


def _exact_dos(c, bins):
    lv = enumerate_dos(c)
    w = 2 * abs(lv.E[0]) / bins
    E_k = (np.arange(bins + 1) - bins / 2) * w  # symmetric grid, E = 0 at a centre
    k = np.rint(lv.E / w).astype(int) + bins // 2
    ln_g = np.full(E_k.size, -np.inf)
    for i in np.unique(k):
        ln_g[i] = logsumexp(lv.ln_g[k == i])
    keep = np.isfinite(ln_g) | np.isfinite(ln_g[::-1])
    ln_g = np.where(np.isfinite(ln_g), ln_g, -50.0)
    return DOS(E_k[keep], ln_g[keep] / c.n_spins, c.n_spins, {})


def _join_at(r, k, N):
    return float(r.rungs.U_lk.mean(0)[k] * N), float(r.rungs.T_k[k] * math.sqrt(N * r.rungs.C_lk.mean(0)[k]))


def test_joined_dos_is_mbar_above_the_join_and_wang_landau_below(net):
    c, r = net
    N = c.n_spins
    exact = _exact_dos(c, 400)
    tilt = 0.3 * exact.E_k / abs(exact.E_k[0])  # a biased "Wang-Landau" ln g, off by up to 0.3 in total
    biased = DOS(exact.E_k, exact.ln_g_per_spin_k + tilt / N, N, {})
    k = 1  # MBAR over the two hottest rungs (T = inf and the next): its samples stay above the ground state
    S = r.samples
    n = int(S.N_k[: k + 1].sum())
    samples = MBARSamples(S.E_n[:n], S.N_k[: k + 1], S.beta_k[: k + 1], S.f_k[: k + 1])
    E_mean, sigma = _join_at(r, k, N)
    sigma *= 0.5  # joins at E_mean - 1.25 sigma: N = 18 spreads so wide that 2.5 sigma reach E_0
    j = hybrid_dos(biased, samples, E_mean, sigma)
    edges = np.concatenate([j.E_k - 0.5 * j.bin_width, [j.E_k[-1] + 0.5 * j.bin_width]])
    lowest = j.E_k[np.searchsorted(edges, samples.E_n.min()) - 1]  # the lowest bin holding a sample
    E_join = max(E_mean - JOIN_SIGMAS * sigma, lowest)
    assert "MBAR" in j.header["ln_g_source"] and float(j.header["E_join"]) == pytest.approx(E_join, abs=1e-3)
    assert logsumexp(j.ln_g_k) == pytest.approx(N * math.log(2), abs=1e-9)  # sum g = 2^N
    np.testing.assert_allclose(j.ln_g_k, j.ln_g_k[::-1], atol=1e-9)  # g(E) = g(-E)
    below = j.E_k < E_join
    assert below.sum() >= 10
    assert np.ptp(j.ln_g_k[below] - biased.ln_g_k[below]) < 1e-6  # Wang-Landau's shape, one constant shift
    E_b, lng_b = mbar_ln_g(samples, N, edges)
    above = (E_b >= E_join) & (E_b <= 0)
    mine = j.ln_g_k[np.searchsorted(j.E_k, E_b[above] - 0.25 * j.bin_width)]
    assert np.ptp(mine - N * lng_b[above]) < 1e-6  # MBAR's ln g, up to the normalisation


def test_joined_dos_gives_the_exact_thermodynamics(net):
    """MBAR's ln g joined to the exact DOS: U(T) within the errors of MBAR on the same raw energies (what the
    joined ln g rests on; the engine's own curve is Rao-Blackwellised, with smaller errors) at every T."""
    c, r = net
    N = c.n_spins
    k = int(np.flatnonzero(r.rungs.equilibrated_k)[-1])
    j = hybrid_dos(_exact_dos(c, 400), r.samples, *_join_at(r, k, N))
    T = r.curve.T_t
    s = r.samples
    raw, _ = mbar_curve(s.E_n, s.N_k, s.beta_k, T, N, n_bootstrap=40, seed=0, f_k_init=s.f_k)
    E = enumerate_energies(c)
    th = thermodynamics(j, T)
    for i, t in enumerate(T):
        w = np.exp(-(E - E.min()) / t)
        U = float((E * w).sum() / w.sum()) / N
        binning = (j.bin_width**2 / 12 / t) / N  # Sheppard: bins of width h shift U by ~ -h^2 / (12 T)
        assert abs(th.U_k[i] - U) < 4 * raw.U_err_t[i] + binning, (t, th.U_k[i], U, raw.U_err_t[i])


def test_join_needs_a_symmetric_wang_landau_dos(net):
    c, r = net
    d = DOS(np.array([-3.0, -2.0, -1.0]), np.zeros(3), c.n_spins, {})
    with pytest.raises(IsingNNError, match="symmetric"):
        hybrid_dos(d, r.samples, -2.0, 1.0)
