"""Thermodynamics against exact answers: the open chain in closed form, brute-force Boltzmann sums over every
state of a small layered network, and the paper-style T_c values published with the paper."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import gammaln, logsumexp

from ising_nn import Couplings
from ising_nn.errors import IsingNNError
from ising_nn.paper.paths import paper_data_dir
from ising_nn.results.dos import DOS, write_dos
from ising_nn.thermo.from_dos import (
    canonical_moments,
    paper_style_heat,
    replica_tc,
    smooth_dos,
    temperature_grid,
    thermodynamics,
)


def chain_exact(J_i: np.ndarray, T: np.ndarray, n: int):
    """Open chain of n spins, bonds J_i: Z = 2^n prod cosh(J_i/T). Per-spin U, C, F, S."""
    x = J_i[None, :] / T[:, None]
    U = -(J_i[None, :] * np.tanh(x)).sum(1) / n
    C = (x**2 / np.cosh(x) ** 2).sum(1) / n
    ln_Z = n * np.log(2) + np.log(np.cosh(x)).sum(1)
    F = -T * ln_Z / n
    return U, C, F, (U - F) / T


def chain_dos(n: int, J: float = 1.0) -> DOS:
    """Exact DOS of an open chain, equal couplings: m broken bonds, E = -J (n-1-2m), g = 2 binom(n-1, m)."""
    m = np.arange(n)
    E = -J * (n - 1 - 2 * m)
    ln_g = np.log(2) + gammaln(n) - gammaln(m + 1) - gammaln(n - m)
    return DOS.from_ln_g(E, ln_g, n, {"model": "chain"})


def test_chain_closed_form():
    n = 60
    d = chain_dos(n)
    T = np.geomspace(0.05, 50, 200)
    th = thermodynamics(d, T)
    U, C, F, S = chain_exact(np.ones(n - 1), T, n)
    np.testing.assert_allclose(th.U_k, U, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(th.C_k, C, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(th.F_k, F, rtol=1e-10)
    np.testing.assert_allclose(th.S_k, S, rtol=1e-9, atol=1e-12)
    # <E^2> - <E>^2 as a difference loses ~1e-16 of <E^2> (why thermo sums the variance about the mean)
    np.testing.assert_allclose(th.mean_E2_k - th.mean_E_k**2, C * n * T**2, rtol=1e-8, atol=1e-12 * n**2)
    # Schottky peak of a bond: x tanh x = 1 at x = J / Tc.
    x_star = brentq(lambda x: x * np.tanh(x) - 1.0, 0.5, 2.0, xtol=1e-14)
    assert th.peak_interior
    assert th.Tc == pytest.approx(1.0 / x_star, rel=1e-7)
    assert th.C_max == pytest.approx((n - 1) / n * x_star**2 / np.cosh(x_star) ** 2, rel=1e-10)


def test_large_chain_is_stable():
    """N = 20000: ln g ~ 1e4, Boltzmann factors far beyond float range without log-sum-exp."""
    n = 20000
    T = np.geomspace(0.05, 50, 50)
    th = thermodynamics(chain_dos(n), T)
    U, C, F, S = chain_exact(np.ones(n - 1), T, n)
    assert np.isfinite(th.C_k).all()
    np.testing.assert_allclose(th.C_k, C, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(th.F_k, F, rtol=1e-10)
    # at high T every state counts: S -> ln 2 per spin for a DOS normalised to 2^N
    assert th.S_k[-1] == pytest.approx(np.log(2), abs=1e-3)


def _enumerate(c: Couplings) -> np.ndarray:
    s = np.array(list(itertools.product((-1, 1), repeat=c.n_spins)), dtype=np.int8)
    return c.energy(s)


def test_brute_force_boltzmann_sums():
    rng = np.random.default_rng(3)
    sizes = (3, 4, 3, 2)
    c = Couplings.from_matrices(
        [rng.normal(size=(a, b)).astype(np.float32) for a, b in itertools.pairwise(sizes)]
    )
    E_s = _enumerate(c)
    n = c.n_spins
    E_u, counts = np.unique(np.round(E_s, 9), return_counts=True)
    d = DOS.from_ln_g(E_u, np.log(counts), n)
    T = np.geomspace(0.1, 20, 80)
    th = thermodynamics(d, T)
    a = -E_s[None, :] / T[:, None]
    ln_Z = logsumexp(a, axis=1)
    w = np.exp(a - ln_Z[:, None])
    m1 = w @ E_s
    m2 = w @ E_s**2
    np.testing.assert_allclose(th.mean_E_k, m1, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(th.mean_E2_k, m2, rtol=1e-9)
    np.testing.assert_allclose(th.C_k, (m2 - m1**2) / (n * T**2), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(th.F_k, -T * ln_Z / n, rtol=1e-10)
    # the bipartite chain of layers: g(E) = g(-E) exactly
    np.testing.assert_allclose(np.sort(E_s), np.sort(-E_s), atol=1e-5)


def test_derivative_identities():
    """C = dU/dT and S = -dF/dT, numerically, on a DOS that is not a product of bonds."""
    rng = np.random.default_rng(0)
    sizes = (4, 5, 4)
    c = Couplings.from_matrices(
        [rng.normal(size=(a, b)).astype(np.float32) for a, b in itertools.pairwise(sizes)]
    )
    E_u, counts = np.unique(np.round(_enumerate(c), 9), return_counts=True)
    d = DOS.from_ln_g(E_u, np.log(counts), c.n_spins)
    T = np.geomspace(0.2, 10, 4001)
    th = thermodynamics(d, T)
    np.testing.assert_allclose(np.gradient(th.U_k, T)[5:-5], th.C_k[5:-5], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(-np.gradient(th.F_k, T)[5:-5], th.S_k[5:-5], rtol=1e-4, atol=1e-7)


def _integer_chain_dos(J_i: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact DOS of an open chain with integer couplings, by convolution over the bonds (in log space)."""
    total = int(J_i.sum())
    ln_g = np.full(2 * total + 1, -np.inf)
    ln_g[total] = np.log(2.0)  # offset: index = E + total; two states per bond configuration
    for j in J_i.astype(int):
        new = np.full_like(ln_g, -np.inf)
        new[: ln_g.size - j] = np.logaddexp(new[: ln_g.size - j], ln_g[j:])
        new[j:] = np.logaddexp(new[j:], ln_g[: ln_g.size - j])
        ln_g = new
    E = np.arange(-total, total + 1, dtype=float)
    keep = np.isfinite(ln_g)
    return E[keep], ln_g[keep]


def _rebin(E, ln_g, width):
    idx = np.floor((E - E.min()) / width).astype(int)
    Eb = E.min() + (np.unique(idx) + 0.5) * width - 0.5
    gb = np.array([logsumexp(ln_g[idx == k]) for k in np.unique(idx)])
    return Eb, gb


def test_binning_error_estimate_bounds_the_true_error():
    """Tc of a coarsely binned DOS misses the exact Tc by no more than its own Tc_err estimate."""
    rng = np.random.default_rng(1)
    n = 120
    J_i = rng.integers(5, 40, size=n - 1).astype(float)
    E, ln_g = _integer_chain_dos(J_i, n)
    exact = thermodynamics(DOS.from_ln_g(E, ln_g, n), np.geomspace(1, 100, 300))
    T = np.geomspace(1, 100, 300)
    x = J_i[None, :] / T[:, None]
    np.testing.assert_allclose(exact.C_k, (x**2 / np.cosh(x) ** 2).sum(1) / n, rtol=1e-8)
    for width in (8, 16, 32):
        Eb, gb = _rebin(E, ln_g, width)
        th = thermodynamics(DOS.from_ln_g(Eb, gb, n), T)
        assert th.Tc_err_method == "binning"
        assert abs(th.Tc - exact.Tc) <= th.Tc_err
        assert th.Tc_err < 0.1 * exact.Tc


def test_default_grid_brackets_the_peak():
    for n in (10, 200, 5000):
        d = chain_dos(n, J=0.03)
        T = temperature_grid(d, 100)
        assert T.size == 100 and (np.diff(T) > 0).all()
        th = thermodynamics(d)
        assert th.peak_interior
        # one interior peak: C rises from ~0 at the cold end, then falls
        C, i = th.C_k, int(np.argmax(th.C_k))
        assert (np.diff(C[: i + 1]) >= 0).all() and (np.diff(C[i:]) <= 0).all()
        assert C[0] < 1e-2 * C[i] and C[-1] < 0.5 * C[i]
        x_star = brentq(lambda x: x * np.tanh(x) - 1.0, 0.5, 2.0)
        assert th.Tc == pytest.approx(0.03 / x_star, rel=1e-6)


def test_replicas_spread():
    rng = np.random.default_rng(5)
    base = chain_dos(100)
    reps = [
        DOS.from_ln_g(base.E_k, base.ln_g_k + rng.normal(0, 0.05, base.E_k.size), 100) for _ in range(4)
    ]
    est = replica_tc(reps)
    tcs = np.array([thermodynamics(r).Tc for r in reps])
    assert est.Tc == pytest.approx(tcs.mean())
    assert est.Tc_err == pytest.approx(tcs.std(ddof=1) / 2)
    assert est.Tc_err > 0
    assert np.isnan(replica_tc(reps[:1]).Tc_err)


def test_bad_input(tmp_path):
    d = chain_dos(10)
    headerless = DOS(d.E_k, d.ln_g_per_spin_k, None, {})
    with pytest.raises(IsingNNError, match="n_spins"):
        thermodynamics(headerless)
    assert thermodynamics(headerless, n_spins=10).Tc == pytest.approx(thermodynamics(d).Tc)
    with pytest.raises(IsingNNError, match="temperatures"):
        thermodynamics(d, [1.0, -1.0])
    with pytest.raises(IsingNNError, match="3 energy bins"):
        thermodynamics(DOS.from_ln_g([0.0, 1.0], [0.0, 0.0], 2))
    with pytest.raises(IsingNNError, match="DOS"):
        thermodynamics(42)
    with pytest.raises(IsingNNError, match="width"):
        paper_style_heat(d, width=-1.0)
    p = tmp_path / "chain.dat"
    write_dos(d, p)
    assert thermodynamics(p, np.array([1.0])).C_k[0] == pytest.approx(thermodynamics(d, [1.0]).C_k[0])


def test_canonical_moments_shift_invariance():
    """An additive constant in ln g changes ln Z only."""
    d = chain_dos(30)
    T = np.geomspace(0.1, 10, 7)
    a = canonical_moments(d.E_k, d.ln_g_k, T)
    b = canonical_moments(d.E_k, d.ln_g_k + 123.0, T)
    np.testing.assert_allclose(b[0] - a[0], 123.0)
    np.testing.assert_allclose(a[1], b[1])
    np.testing.assert_allclose(a[2], b[2])


# -------------------------------------------------------------------------- paper style
def test_paper_style_formula():
    """The recipe by hand on a small DOS: weights exp(column2 - E'/T), E' = E / W_trained."""
    rng = np.random.default_rng(2)
    E = np.linspace(-50, 20, 40)
    col2 = rng.uniform(0, 0.3, E.size)
    d = DOS(E, col2, None, {})
    W = 100.0
    ps = paper_style_heat(d, width=W)
    assert ps.T_k[0] == pytest.approx(0.001) and ps.T_k[-1] == 1.0 and ps.T_k.size == 1000
    for t in (0.01, 0.3, 1.0):
        k = int(np.argmin(abs(ps.T_k - t)))
        w = np.exp(col2 - (E / W) / t)
        w /= w.sum()
        m = (w * E / W).sum()
        assert ps.C_k[k] == pytest.approx(((w * (E / W) ** 2).sum() - m * m) / t**2, rel=1e-8)
    assert ps.Tc == ps.T_k[np.argmax(ps.C_k)]
    assert paper_style_heat(d).width == pytest.approx(70.0)
    assert paper_style_heat(d, trained=DOS(2 * E, col2)).width == pytest.approx(140.0)


PUBLISHED_TC = {  # ../shared/PAPER.md: peak temperatures of the published specific-heat figures
    "opt-125m": (0.109, 0.031),
    "opt-350m": (0.046, 0.009),
    "opt-1.3b": (0.112, 0.013),
    "gpt2": (0.047, 0.038),
    "gpt2-medium": (0.036, 0.083),
    "bloom": (0.034, 0.034),
    "bert-base": (0.110, 0.027),
    "bert-large": (0.100, 0.055),
    "vit-base": (0.054, 0.018),
    "deit-base": (0.048, 0.040),
    "beit-base": (0.039, 0.027),
}


@pytest.mark.skipif(paper_data_dir() is None, reason="the authors' files (../shared/paper-data) are absent")
@pytest.mark.parametrize("model", sorted(PUBLISHED_TC))
def test_paper_style_reproduces_published_tc(model):
    root = paper_data_dir() / "dos"
    trained = root / f"{model}.dat"
    t = paper_style_heat(trained)
    s = paper_style_heat(root / f"{model}_shuffled.dat", trained=trained)
    assert s.width == t.width
    assert (round(t.Tc, 3), round(s.Tc, 3)) == PUBLISHED_TC[model]


def test_spike_narrower_than_the_grid():
    """A non-concave ln g (a lone ground state below a huge plateau) makes <E> jump at one temperature; the
    peak of C(T) is far narrower than the default grid spacing and must still be found."""
    E = np.linspace(-1.0, 1.0, 201)
    ln_g = np.where(E < -0.999, 0.0, 500.0 + 0.1 * (E + 1))
    d = DOS.from_ln_g(E, ln_g, 100)
    th = thermodynamics(d)
    T = np.geomspace(th.Tc * 0.999, th.Tc * 1.001, 20001)
    _, _, var = canonical_moments(E, ln_g, T)
    C = var / (100 * T**2)
    assert th.peak_interior
    assert th.Tc == pytest.approx(T[np.argmax(C)], rel=1e-6)
    assert th.C_max >= C.max() * (1 - 1e-9)
    assert th.C_max > 5 * th.C_k.max()  # the grid itself missed the top


# -------------------------------------------------------------------------- opt-in smoothing of ln g
def _n_maxima(C: np.ndarray) -> int:
    return int(((C[1:-1] > C[:-2]) & (C[1:-1] > C[2:])).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_smoothing_removes_spikes_of_a_noisy_exact_dos(seed):
    """Open chain, N = 400, exact DOS plus independent Gaussian noise (sigma = 0.3, mirrored as our WL files
    are) in ln g. Its raw C(T) has several maxima; the smoothed one a single peak near the exact Tc.

    Tolerances: the noise's second differences (sqrt(6) 0.3 ~ 0.7 per bin^2) exceed the true curvature of
    ln g near Tc (~0.05 per bin^2) tenfold, so the fit's curvature, which sets C, carries a residual error of
    a few per cent from ~10 coefficients fitted to 400 noisy bins. Measured over seeds 0-7: 7 of 8 smoothed
    curves have one peak, with |dTc| / Tc <= 9 % and max |dC| <= 7.5 % of C_max; seed 4 keeps 3 maxima
    and misses Tc by 11 % (smoothing is not a guarantee). The bounds 12 % and 10 % leave room for that
    spread, far below the raw curve's spikes.
    """
    n = 400
    d = chain_dos(n)
    z = np.random.default_rng(seed).normal(0.0, 0.3, n)
    noisy = DOS.from_ln_g(d.E_k, d.ln_g_k + (z + z[::-1]) / np.sqrt(2), n)
    T = np.geomspace(0.3, 5, 300)
    exact, raw = thermodynamics(d, T), thermodynamics(noisy, T)
    sm = thermodynamics(noisy, T, smooth=True)
    assert _n_maxima(raw.C_k) > 1
    assert _n_maxima(sm.C_k) == 1 and sm.peak_interior
    assert sm.Tc == pytest.approx(exact.Tc, rel=0.12)
    m = (T > 0.5) & (T < 3)
    assert np.abs(sm.C_k - exact.C_k)[m].max() < 0.10 * exact.C_max


def test_smoothing_an_exact_dos_changes_little():
    """The exact chain DOS is smooth: the fit (degree at the cap) moves Tc by < 0.5 % and C by < 1 % of
    C_max (measured 0.16 % and 0.09 %; the rest is the polynomial's error near the log-singular ends)."""
    d = chain_dos(400)
    T = np.geomspace(0.5, 3, 200)
    exact, sm = thermodynamics(d, T), thermodynamics(smooth_dos(d), T)
    assert sm.Tc == pytest.approx(exact.Tc, rel=5e-3)
    assert np.abs(sm.C_k - exact.C_k).max() < 0.01 * exact.C_max
    assert _n_maxima(sm.C_k) == 1


def test_smoothed_dos_symmetric_normalised_labelled():
    n = 200
    d = chain_dos(n)
    z = np.random.default_rng(7).normal(0.0, 0.5, n)
    s = smooth_dos(DOS.from_ln_g(d.E_k, d.ln_g_k + z, n, {"model": "chain"}))
    np.testing.assert_allclose(s.E_k, -s.E_k[::-1], atol=1e-9)
    np.testing.assert_allclose(s.ln_g_k, s.ln_g_k[::-1], rtol=0, atol=1e-8 * n)
    assert logsumexp(s.ln_g_k) == pytest.approx(n * np.log(2), rel=1e-12)
    assert s.header["model"] == "chain" and s.header["smoothing"].startswith("even polynomial degree ")
    assert "(auto)" in s.header["smoothing"]
    k = smooth_dos(d, degree=6, refine=1)
    np.testing.assert_array_equal(k.E_k, d.E_k)  # refine=1 keeps the original bins
    assert k.header["smoothing"] == "even polynomial degree 6 (given)"
    assert thermodynamics(d, [1.0]).C_k[0] != thermodynamics(d, [1.0], smooth=True).C_k[0]  # raw is default
    with pytest.raises(IsingNNError, match="degree"):
        smooth_dos(d, degree=3)
    with pytest.raises(IsingNNError, match="N"):
        smooth_dos(DOS(d.E_k, d.ln_g_per_spin_k, None, {}))
