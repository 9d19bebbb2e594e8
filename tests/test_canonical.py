"""The canonical engine (ising_nn.canonical) against exact answers.

- the layer heat bath: energy bookkeeping, the Rao-Blackwellised moments, exact conditional and stationary
  distributions of tiny networks (every state enumerated, binomial errors);
- replica exchange and the ladder: the swap rule, placement and refinement;
- the whole engine: U, C, F, S of small networks against exhaustive enumeration and the transfer matrix,
  the exact high-temperature series and the Gaussian centre of ln g of wide networks, the hot/cold test,
  reproducibility, checkpoints, bad input, and the THERMO.dat format.

Statistical checks compare with the engine's own errors. MBAR curves: ``|estimate - exact| <= Z * error``,
``Z = 4``, the error a bootstrap standard deviation over 30 replicates (so z follows roughly Student's t
with 29 degrees of freedom: P(|z| > 4) = 4e-4 per point, and the points of a smooth curve are strongly
correlated). Per-rung estimates: their errors are delete-one-block jackknife errors over 20 blocks, so z
follows Student's t with 19 degrees of freedom (heavier tails: P(|t_19| > 4) = 8e-4, seen in practice:
over 8 seeds of the small network 5.9 % of |z| > 2 and 0.7 % > 3, as t_19 predicts); they are checked
against the two-sided Bonferroni threshold of t_19 for a family-wise false alarm of 1e-3 over all the
comparisons of a test (about 5.4 for 30 comparisons). Every run has a fixed seed, so each check is
deterministic. Where a systematic term is known (the truncation of a series) it is added to the tolerance
and said so. Histograms of exact distributions use exact binomial tail probabilities.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import re
import warnings

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar
from scipy.special import erfc, erfcinv, logsumexp
from scipy.stats import binom, chi2, norm
from scipy.stats import t as student_t

from ising_nn.canonical import LayerChains, canonical_thermo, place_ladder, read_thermo, write_thermo
from ising_nn.canonical.estimators import N_BLOCKS
from ising_nn.canonical.exchange import exchange
from ising_nn.canonical.ladder import MIN_ACCEPTANCE, refine_ladder
from ising_nn.canonical.mbar import ThermoCurve
from ising_nn.canonical.rungs import EQ_ALPHA, EQ_WINDOW, equilibration_test, window_test
from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings
from ising_nn.results.thermo import COLUMNS
from ising_nn.testing.exact import enumerate_energies, transfer_matrix_dos

#: Standard errors allowed between an estimate and the exact value.
Z = 4.0
SMALL = [4, 5, 4, 3]  # N = 16: 65,536 states
WIDE = [64, 256, 64, 256, 64]  # N = 704, 147,456 bonds


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """One torch thread: these batches are tiny, and two OpenMP threads on a 2-core machine shared with other
    processes spin at every barrier (a 1-second run then takes a minute)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ---------------------------------------------------------------------------------------------- helpers
def _t_crit(n_comparisons: int, alpha: float = 1e-3) -> float:
    """Two-sided Bonferroni threshold of Student's t with the jackknife's N_BLOCKS - 1 degrees of freedom."""
    return float(student_t.isf(alpha / (2 * n_comparisons), N_BLOCKS - 1))


def _assert_rungs_match(rk, U_k, C_k, select):
    """Both ladders' U and C at the rungs ``select`` (bool (K,)) against exact values U_k, C_k (shape (K,))."""
    n = 4 * int(select.sum())
    crit = _t_crit(n)
    for name, ex, est, err in (("U", U_k, rk.U_lk, rk.U_err_lk), ("C", C_k, rk.C_lk, rk.C_err_lk)):
        assert np.all(err[:, select] > 0), name
        z = (est[:, select] - ex[select]) / err[:, select]
        assert np.all(np.abs(z) <= crit), (name, crit, np.round(z, 2))


def _binomial_p(n: np.ndarray, R: int, p: np.ndarray) -> np.ndarray:
    """Two-sided exact binomial p-values of counts n out of R for cell probabilities p."""
    lo = binom.cdf(n, R, p)
    hi = binom.sf(n - 1, R, p)
    return np.minimum(1.0, 2 * np.minimum(lo, hi))


@contextlib.contextmanager
def _file_leaks():
    """Record the ResourceWarnings of files left open (collected here, not in some later test's teardown)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield caught
        gc.collect()
    caught[:] = [w for w in caught if issubclass(w.category, ResourceWarning)]


def _net(sizes, seed=0, scale=1.0) -> Couplings:
    rng = np.random.default_rng(seed)
    return Couplings.from_matrices(
        [(scale * rng.normal(size=(a, b))).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])])


def _int_net(sizes, seed=0) -> Couplings:
    rng = np.random.default_rng(seed)
    return Couplings.from_matrices(
        [rng.choice(np.array([-1, 1], np.float32), size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:])])


def _all_states(n: int) -> np.ndarray:
    """All 2^n configurations, (2^n, n) int8; row i has spin j = +1 iff bit j of i is set."""
    bits = (np.arange(1 << n)[:, None] >> np.arange(n)[None, :]) & 1
    return (2 * bits - 1).astype(np.int8)


def _state_index(s: np.ndarray) -> np.ndarray:
    return ((s > 0).astype(np.int64) << np.arange(s.shape[1])).sum(1)


def _exact_thermo(E_j: np.ndarray, ln_g_j: np.ndarray, n_spins: int, T: np.ndarray):
    """Per-spin U, C, F, S at temperatures T from levels E_j with degeneracies e^ln_g_j (sum = 2^N: ln Z is
    absolute, so F and S are too)."""
    T = np.asarray(T, dtype=np.float64)
    lw = ln_g_j[None, :] - E_j[None, :] / T[:, None]
    ln_Z = logsumexp(lw, axis=1)
    p = np.exp(lw - ln_Z[:, None])
    U = (p * E_j).sum(1)
    var = (p * (E_j[None, :] - U[:, None]) ** 2).sum(1)
    F = -T * ln_Z / n_spins
    U = U / n_spins
    return U, var / T**2 / n_spins, F, (U - F) / T


def _high_t_series(c: Couplings) -> tuple[float, float, float]:
    """``(S2, S4, Q)``: sum J^2, sum J^4, and Q = sum over 4-cycles of the product of their couplings.

    ln Z = N ln 2 + beta^2 S2 / 2 + beta^4 (Q - S4 / 12) + O(beta^6) (high-temperature expansion: ln cosh of
    every bond plus the closed loops, the shortest of which are 4-cycles; a layered graph is bipartite, so
    there are no odd loops). Hence U = -beta S2 + beta^3 (S4 / 3 - 4 Q) and
    Var E = S2 - beta^2 (S4 - 12 Q), both up to O(beta^5) and O(beta^4). 4-cycles either lie between two
    layers (i, k in layer l; j, m in layer l + 1) or span three (i in l; j, m in l + 1; k in l + 2).
    """
    Js = [J.astype(np.float64) for J in c.J]
    S2 = sum(float((J * J).sum()) for J in Js)
    S4 = sum(float((J**4).sum()) for J in Js)
    Q = 0.0
    for J in Js:
        A, B = J @ J.T, J.T @ J
        Q += (np.trace(A @ A) - (np.diag(A) ** 2).sum() - (np.diag(B) ** 2).sum() + (J**4).sum()) / 4
    for J0, J1 in zip(Js[:-1], Js[1:]):
        M = (J0.T @ J0) * (J1 @ J1.T)
        Q += (M.sum() - np.trace(M)) / 2
    return S2, S4, float(Q)


def _curve_arrays(curve: ThermoCurve):
    return [np.asarray(getattr(curve, f)) for f in ("T_t", "U_t", "U_err_t", "C_t", "C_err_t", "F_t", "F_err_t",
                                                    "S_t", "S_err_t")]


def _assert_same_result(a, b):
    for x, y in zip(_curve_arrays(a.curve), _curve_arrays(b.curve)):
        np.testing.assert_array_equal(x, y)
    assert (a.curve.Tc, a.curve.Tc_err, a.curve.Tc_at_edge) == (b.curve.Tc, b.curve.Tc_err, b.curve.Tc_at_edge)
    for f in ("beta_k", "U_lk", "U_err_lk", "C_lk", "C_err_lk", "z_k", "equilibrated_k", "g_lk", "acceptance_k"):
        np.testing.assert_array_equal(getattr(a.rungs, f), getattr(b.rungs, f), err_msg=f)
    np.testing.assert_array_equal(a.E_b, b.E_b)
    np.testing.assert_array_equal(a.ln_g_b, b.ln_g_b)
    np.testing.assert_array_equal(a.spins_k, b.spins_k)


def _untimed(header: dict) -> dict:
    return {k: v for k, v in header.items() if k not in ("seconds", "analysis_seconds")}


def _rung0_samples(r, max_samples: int) -> int:
    """Samples the engine keeps for MBAR at beta = 0 (both ladders), as engine._mbar_samples picks them."""
    n = r.rungs.n_sweeps
    return sum(len(range(0, n, max(1, math.ceil(r.rungs.g_lk[l, 0]), math.ceil(n / max_samples))))
               for l in range(2))


def _check_ln_g_centre(r, c: Couplings, p_exact, max_samples: int, p_min: float):
    """ln g / N of the bins near E = 0 against ``p_exact(edges_lo, edges_hi)``, the exact probability of a bin
    under uniform spins. Error of ln p_b: binomial, sqrt((1 - p) / (n0 p)), n0 the beta = 0 rung's samples
    alone (MBAR also uses the other rungs' samples, so its error is smaller: the bound is conservative)."""
    N = c.n_spins
    E_b, ln_g_b = r.E_b, r.ln_g_b
    w = float(np.min(np.diff(E_b)))  # centres on the grid k * w; neighbouring bins near E = 0 all hold samples
    assert w == pytest.approx(float(r.header["ln_g_bin_width"]), abs=1e-4)
    np.testing.assert_allclose(E_b / w, np.round(E_b / w), atol=1e-6)
    # the bins hold every sample, and MBAR's beta = 0 weights sum to one: sum g = 2^N exactly
    assert logsumexp(N * ln_g_b) == pytest.approx(N * math.log(2.0), rel=1e-10)
    p_b = p_exact(E_b - w / 2, E_b + w / 2)
    n0 = _rung0_samples(r, max_samples)
    sel = p_b >= p_min
    assert sel.sum() >= 3, (E_b, p_b)
    err = np.sqrt((1 - p_b[sel]) / (n0 * p_b[sel]))
    dev = N * ln_g_b[sel] - (N * math.log(2.0) + np.log(p_b[sel]))
    assert np.all(np.abs(dev) <= Z * err), (E_b[sel], dev / err)


# ---------------------------------------------------------------------------------------------- heat bath
PRECISIONS = ("float32", "split-bf16", "int8x3")
#: Relative precision of a field: float32 products; split bfloat16 keeps each field to 2^-16 of its size (the
#: remainder's and J_lo's bfloat16 roundings, chain module), so squares and sums of squares to 2^-14; int8x3
#: rounds every coupling to within 2^-24 of the largest one, then adds exactly.
FIELD_RTOL = {"float32": 1e-5, "split-bf16": 2.0**-14, "int8x3": 1e-5}


@pytest.mark.parametrize("precision", PRECISIONS)
def test_half_sweeps_keep_the_energy_bookkeeping(precision):
    c = _net([3, 6, 2, 5, 4], seed=1)
    rng = np.random.default_rng(0)
    R = 8
    ch = LayerChains(c, rng.choice(np.array([-1, 1], np.int8), (R, c.n_spins)), "cpu", 5, precision)
    beta_r = torch.tensor([0.0, 0.1, 0.3, 0.5, 0.8, 1.0, 2.0, 5.0], dtype=torch.float32)[:, None]
    tol = FIELD_RTOL[precision] * float(np.abs(c.buffer).sum())  # any bookkeeping slip is O(|J|)
    for _ in range(20):
        for parity in (0, 1):
            before = ch.spins()
            h = ch.half_sweep(parity, beta_r)
            s = ch.spins()
            assert s.shape == (R, c.n_spins) and s.dtype == np.int8 and set(np.unique(s)) <= {-1, 1}
            # only the layers of this parity moved
            for l, (a, b) in enumerate(zip(c.split(before), c.split(s))):
                if l % 2 != parity:
                    np.testing.assert_array_equal(a, b)
            np.testing.assert_allclose(h.E_r, ch.energies(), rtol=0, atol=tol)
            np.testing.assert_allclose(ch.energies(), c.energy(s), rtol=0, atol=tol)
            assert np.all(h.v_r >= 0)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_beta_zero_half_sweep_has_zero_mean_and_the_field_variance(precision):
    c = _net([3, 6, 2, 5, 4], seed=2)
    rng = np.random.default_rng(1)
    R = 4000
    ch = LayerChains(c, rng.choice(np.array([-1, 1], np.int8), (R, c.n_spins)), "cpu", 3, precision)
    beta_r = torch.zeros((R, 1))
    for parity in (0, 1):
        s = ch.spins()
        h_all = c.split(c.local_fields(s))
        v_expected = sum((h_all[l] ** 2).sum(1) for l in range(parity, len(h_all), 2))
        hs = ch.half_sweep(parity, beta_r)
        np.testing.assert_array_equal(hs.m_r, 0.0)  # tanh(0) = 0 exactly
        np.testing.assert_allclose(hs.v_r, v_expected, rtol=FIELD_RTOL[precision])
        # each updated spin is +1 with probability 1/2: binomial error of the fraction over R * n spins
        moved = np.concatenate([c.split(ch.spins())[l] for l in range(parity, len(h_all), 2)], axis=1)
        frac = (moved > 0).mean()
        assert abs(frac - 0.5) <= Z * math.sqrt(0.25 / moved.size)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_one_half_sweep_draws_the_exact_conditional_distribution(precision):
    """Layers 0 and 2 of a 2+3+2 network given layer 1: 16 configurations whose exact conditional
    probabilities come from c.energy over all of them (not from the tanh rule under test)."""
    c = _net([2, 3, 2], seed=3)
    s1 = np.array([1, -1, 1], np.int8)
    betas = (0.6, 1.7)
    R = 20_000  # per beta
    start = np.tile(np.concatenate([[1, 1], s1, [1, 1]]).astype(np.int8), (2 * R, 1))
    ch = LayerChains(c, start, "cpu", 11, precision)
    beta_r = torch.tensor(np.repeat(betas, R), dtype=torch.float32)[:, None]
    hs = ch.half_sweep(0, beta_r)
    s = ch.spins()
    np.testing.assert_array_equal(s[:, 2:5], np.tile(s1, (2 * R, 1)))  # the odd layer is held
    even = _all_states(4)  # (16, 4): layer 0 then layer 2
    full = np.concatenate([even[:, :2], np.tile(s1, (16, 1)), even[:, 2:]], axis=1)
    E_j = c.energy(full)
    got = _state_index(np.concatenate([s[:, :2], s[:, 5:]], axis=1))
    for g, beta in enumerate(betas):
        p = np.exp(-beta * E_j - logsumexp(-beta * E_j))
        n = np.bincount(got[g * R:(g + 1) * R], minlength=16)
        # exact binomial tails (some cells expect < 1 count), Bonferroni over both betas' 16 cells
        assert np.all(_binomial_p(n, R, p) >= 1e-3 / (2 * 16)), (beta, n, R * p)
        # Rao-Blackwell: the engine's conditional mean and variance of E are the exact ones (float32 fields)
        mean = float((p * E_j).sum())
        var = float((p * (E_j - mean) ** 2).sum())
        tol = FIELD_RTOL[precision]
        np.testing.assert_allclose(hs.m_r[g * R:(g + 1) * R], mean, rtol=tol, atol=tol)
        np.testing.assert_allclose(hs.v_r[g * R:(g + 1) * R], var, rtol=tol, atol=tol)
        # and the drawn energies scatter about them
        E_g = hs.E_r[g * R:(g + 1) * R]
        assert abs(E_g.mean() - mean) <= Z * math.sqrt(var / R)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_heat_bath_samples_the_boltzmann_distribution_of_a_tiny_network(precision):
    """Independent replicas at two temperatures, 100 sweeps from uniform spins (a flip-symmetric start stays
    flip-symmetric, and 7 spins mix in a few sweeps), against exp(-beta E) / Z over all 128 states."""
    c = _net([2, 3, 2], seed=4, scale=0.8)
    states = _all_states(c.n_spins)
    E_j = c.energy(states)
    betas = (0.4, 1.0)
    R = 30_000
    rng = np.random.default_rng(2)
    ch = LayerChains(c, rng.choice(np.array([-1, 1], np.int8), (2 * R, c.n_spins)), "cpu", 7, precision)
    beta_r = torch.tensor(np.repeat(betas, R), dtype=torch.float32)[:, None]
    for _ in range(100):
        ch.half_sweep(0, beta_r)
        ch.half_sweep(1, beta_r)
    got = _state_index(ch.spins())
    for g, beta in enumerate(betas):
        p = np.exp(-beta * E_j - logsumexp(-beta * E_j))
        n = np.bincount(got[g * R:(g + 1) * R], minlength=len(states))
        assert np.all(_binomial_p(n, R, p) >= 1e-3 / (2 * len(states))), beta
        # chi-square over the cells expected to hold >= 5 (the others pooled into one cell)
        big = R * p >= 5
        observed = np.append(n[big], n[~big].sum())
        expected = np.append(R * p[big], R * p[~big].sum())
        keep = expected > 0
        stat = float((((observed - expected) ** 2)[keep] / expected[keep]).sum())
        assert stat <= chi2.isf(1e-4, keep.sum() - 1), (beta, stat)


# ---------------------------------------------------------------------------------------------- exchange
def test_swap_is_accepted_with_the_metropolis_probability():
    rng = np.random.default_rng(5)
    beta_k = np.array([0.5, 1.0, 1.2, 2.0])
    n = 20_000
    acc, att = np.zeros(3, np.int64), np.zeros(3, np.int64)
    # pair (0, 1): colder rung holds the higher energy -> always; pair (2, 3): p = exp(0.8 * (-1.5))
    E_r = np.array([-1.0, 2.0, 0.5, -1.0])
    for _ in range(n):
        slot = np.arange(4)
        exchange(beta_k, slot, E_r, 0, rng, acc, att)
        assert sorted(slot) == [0, 1, 2, 3]
    assert list(att) == [n, 0, n] and acc[0] == n
    p = math.exp(0.8 * -1.5)
    assert abs(acc[2] / n - p) <= Z * math.sqrt(p * (1 - p) / n)
    # odd parity touches the middle pair only; a swap exchanges the slots
    slot = np.arange(4)
    E_r = np.array([0.0, -3.0, 1.0, 0.0])  # pair (1, 2): colder holds the higher energy -> swapped
    exchange(beta_k, slot, E_r, 1, rng, acc, att)
    assert list(slot) == [0, 2, 1, 3] and att[1] == 1 and acc[1] == 1


# ---------------------------------------------------------------------------------------------- ladder
def test_place_ladder_steps_at_the_target_acceptance_for_constant_sigma():
    sigma, beta_max, a = 7.0, 2.0, 0.3
    beta = place_ladder(np.array([0.0, 1.0, 3.0]), np.full(3, sigma), beta_max, acceptance=a)
    assert beta[0] == 0.0 and beta[-1] == beta_max and np.all(np.diff(beta) > 0)
    d = np.diff(beta)
    step = 2 * math.sqrt(2) * float(erfcinv(a)) / sigma
    np.testing.assert_allclose(d[:-1], step, rtol=1e-12)
    assert d[-1] <= step * (1 + 1e-9)
    # Kofke's Gaussian estimate of the acceptance of every full step is the target
    np.testing.assert_allclose(erfc(d[:-1] * sigma / (2 * math.sqrt(2))), a, rtol=1e-12)
    assert len(beta) == math.ceil(beta_max / step) + 1


def test_place_ladder_is_monotone_with_varying_sigma_and_respects_max_rungs():
    beta_p = np.linspace(0.0, 3.0, 7)
    sigma_p = 5.0 * (1 + beta_p**2)
    beta = place_ladder(beta_p, sigma_p, 3.0)
    assert beta[0] == 0.0 and beta[-1] == 3.0 and np.all(np.diff(beta) > 0)
    assert np.all(np.diff(np.diff(beta)[:-1]) < 0)  # sigma grows, so the steps shrink
    capped = place_ladder(beta_p, 1e6 * sigma_p, 3.0, max_rungs=12)
    assert len(capped) <= 12 and capped[0] == 0.0 and capped[-1] == 3.0 and np.all(np.diff(capped) > 0)


def test_refine_ladder_inserts_midpoints_where_swaps_are_rare():
    beta = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    acc = np.array([0.5, 0.1, 0.19, 0.2])
    new = refine_ladder(beta, acc, minimum=0.2)
    np.testing.assert_allclose(new, [0.0, 0.2, 0.35, 0.5, 0.7, 0.9, 1.0])
    np.testing.assert_array_equal(refine_ladder(beta, np.full(4, 0.2), minimum=0.2), beta)
    assert MIN_ACCEPTANCE == 0.2


# ---------------------------------------------------------------------------------------------- the hot/cold test
def test_equilibration_test_flags_disagreeing_rungs_and_everything_colder():
    K = 6
    U = np.tile(np.linspace(0, -1, K), (2, 1))
    C = np.tile(np.linspace(0, 0.5, K), (2, 1))
    Ue = np.full((2, K), 0.01)
    Ce = np.full((2, K), 0.02)
    Ue[:, 0] = Ce[:, 0] = 0.0  # beta = 0: both starts give exactly 0 with error 0
    z, ok = equilibration_test(U, Ue, C, Ce)
    assert np.all(ok) and np.all(z == 0)
    z_crit = norm.isf(EQ_ALPHA / (2 * 2 * K))
    for what in ("U", "C"):
        U2, C2 = U.copy(), C.copy()
        (U2 if what == "U" else C2)[1, 3] += 10 * math.hypot(0.01, 0.01) * (1 if what == "U" else 2)
        z, ok = equilibration_test(U2, Ue, C2, Ce)
        assert z[3] == pytest.approx(10.0) and z_crit < 10
        np.testing.assert_array_equal(ok, [True, True, True, False, False, False])
    # agreement within the Bonferroni threshold passes, beyond it fails
    for factor, passes in ((0.99, True), (1.01, False)):
        U2 = U.copy()
        U2[1, 2] += factor * z_crit * math.hypot(0.01, 0.01)
        assert equilibration_test(U2, Ue, C, Ce)[1][2] == passes


def test_window_test_catches_a_consistent_difference_that_every_single_rung_passes():
    """Cold below hot by two errors at every rung from rung 40 on: each rung passes (Bonferroni threshold
    ~3.8), the mean over 8 rungs is 5.7 errors off and fails, with everything colder; no difference passes."""
    K, w = 80, EQ_WINDOW
    e = 0.01
    U = np.tile(np.linspace(0, -2, K), (2, 1))
    U[1, 40:] -= 2 * math.hypot(e, e)
    C = np.tile(np.linspace(0, 0.3, K), (2, 1))
    Ue, Ce = np.full((2, K), e), np.full((2, K), e)
    z, ok = equilibration_test(U, Ue, C, Ce, alpha=EQ_ALPHA / 2)
    assert ok.all()

    def window(x):
        return np.stack([np.convolve(r, np.ones(w) / w, mode="valid") for r in x])

    # independent rungs: the error of a mean of w is e / sqrt(w)
    zw, ok_w = window_test(window(U), np.full((2, K - w + 1), e / math.sqrt(w)), window(C),
                           np.full((2, K - w + 1), e / math.sqrt(w)), K)
    assert zw.max() == pytest.approx(2 * math.sqrt(w)) and zw.max() > student_t.isf(EQ_ALPHA / 2 / (4 * len(zw)), 19)
    first = int(np.flatnonzero(~ok_w)[0])
    assert 40 - w < first <= 40 and not ok_w[first:].any() and ok_w[:first].all()
    _, ok0 = window_test(window(C), np.full((2, K - w + 1), e), window(C), np.full((2, K - w + 1), e), K)
    assert ok0.all()


# ---------------------------------------------------------------------------------------------- engine: small network
# tmin = 0.8, below the C peak (T ~ 2) but not deep in the ground states: at T = 0.5 rare low excitations
# make the blocking errors of the coldest rungs too small (rms z 1.25 to 1.4 over seeds, against 1.08 here)
SMALL_KW = dict(tmin=0.8, tmax=5.0, sweeps=1000, seed=0, progress=False, points=40, n_bootstrap=30)


@pytest.fixture(scope="module")
def small():
    c = _net(SMALL, seed=0)
    return c, enumerate_energies(c)


@pytest.fixture(scope="module")
def small_run(small):
    return canonical_thermo(small[0], **SMALL_KW)


def test_curve_matches_enumeration(small, small_run):
    c, E = small
    cu = small_run.curve
    np.testing.assert_allclose(cu.T_t, np.geomspace(SMALL_KW["tmin"], SMALL_KW["tmax"], SMALL_KW["points"]))
    exact = _exact_thermo(E, np.zeros_like(E), c.n_spins, cu.T_t)
    for name, ex, est, err in zip("UCFS", exact, (cu.U_t, cu.C_t, cu.F_t, cu.S_t),
                                  (cu.U_err_t, cu.C_err_t, cu.F_err_t, cu.S_err_t)):
        assert np.all(err > 0), name
        z = (est - ex) / err
        assert np.all(np.abs(z) <= Z), (name, cu.T_t[np.argmax(np.abs(z))], np.max(np.abs(z)))
    # T_c: the maximum of the exact C (the parabola through the grid's three highest points is off by ~0.002
    # here, far below T_c's error of ~0.1)
    i = int(np.argmax(exact[1]))
    assert 0 < i < len(cu.T_t) - 1
    Tc = minimize_scalar(lambda T: -_exact_thermo(E, np.zeros_like(E), c.n_spins, np.array([T]))[1][0],
                         bounds=(cu.T_t[i - 1], cu.T_t[i + 1]), method="bounded", options={"xatol": 1e-6}).x
    assert not cu.Tc_at_edge
    assert abs(cu.Tc - Tc) <= Z * cu.Tc_err


def test_each_parity_matches_enumeration_and_the_curve_weights_them(small, monkeypatch):
    """The curve weights two Rao-Blackwellised estimates from the same records, the odd layers' exact marginal
    and the even layers'; each matches enumeration, the weight is the header's, and the bootstrap error of the
    combination (the same resamples for both) is at most the weighted mean of their errors (a standard
    deviation is a norm)."""
    import ising_nn.canonical.tempering as tp

    c, E = small
    seen = {}
    real = tp.rb_mbar_curve

    def spy(L, M, V, *args, other=None, **kw):
        seen.update(odd=real(L, M, V, *args, **kw), even=real(*other, *args, **kw))
        seen["both"] = real(L, M, V, *args, other=other, **kw)
        return seen["both"]

    monkeypatch.setattr(tp, "rb_mbar_curve", spy)
    r = canonical_thermo(c, **{**SMALL_KW, "seed": 1})
    assert "odd and on the even layers'" in r.header["curve_estimator"]
    (odd, w_odd), (even, w_even), (both, w) = seen["odd"], seen["even"], seen["both"]
    assert w_odd == w_even == 1.0 and 0.0 <= w <= 1.0 and r.header["marginal_weight_odd"] == f"{w:.4f}"
    exact = _exact_thermo(E, np.zeros_like(E), c.n_spins, both.T_t)
    for q, ex in zip("UCFS", exact):
        est = {k: getattr(v, f"{q}_t") for k, v in (("odd", odd), ("even", even), ("both", both))}
        err = {k: getattr(v, f"{q}_err_t") for k, v in (("odd", odd), ("even", even), ("both", both))}
        np.testing.assert_allclose(est["both"], w * est["odd"] + (1 - w) * est["even"], rtol=1e-12, atol=1e-15)
        assert np.all(err["both"] <= (w * err["odd"] + (1 - w) * err["even"]) * (1 + 1e-9)), q
        for k in ("odd", "even", "both"):
            z = (est[k] - ex) / err[k]
            assert np.all(np.abs(z) <= Z), (q, k, float(np.max(np.abs(z))))
    assert not np.allclose(odd.C_t, even.C_t)  # two estimators, not one computed twice
    np.testing.assert_array_equal(r.curve.C_t, both.C_t)


def test_parity_weight_is_the_least_variance_combination():
    """Independent replicates with variances 1 and 4: w = 4 / 5; perfectly correlated equal ones: any w, the
    median of 0.5s; one parity with no spread takes all the weight."""
    from ising_nn.canonical.rbmbar import parity_weight

    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (200000, 3)), rng.normal(0, 2, (200000, 3))
    assert parity_weight(np.stack([a, b], 1)) == pytest.approx(0.8, abs=0.01)
    assert parity_weight(np.stack([b, a], 1)) == pytest.approx(0.2, abs=0.01)
    assert parity_weight(np.stack([a, a], 1)) == 0.5
    assert parity_weight(np.stack([np.zeros_like(a), b], 1)) == 1.0


def test_rungs_match_enumeration(small, small_run):
    c, E = small
    rk = small_run.rungs
    K = len(rk.beta_k)
    assert rk.U_lk.shape == rk.C_lk.shape == rk.U_err_lk.shape == rk.C_err_lk.shape == rk.g_lk.shape == (2, K)
    # beta = 0: the conditional mean is 0 and C = beta^2 Var = 0, exactly
    np.testing.assert_array_equal(rk.U_lk[:, 0], 0.0)
    np.testing.assert_array_equal(rk.C_lk[:, 0], 0.0)
    T = rk.T_k.copy()
    T[0] = 1.0  # any: rung 0 is left out below
    U, C, _, _ = _exact_thermo(E, np.zeros_like(E), c.n_spins, T)
    _assert_rungs_match(rk, U, C, np.arange(K) > 0)


def test_hot_and_cold_starts_agree_and_the_ladder_is_well_formed(small_run):
    r = small_run
    rk = r.rungs
    K = len(rk.beta_k)
    assert rk.beta_k[0] == 0.0 and np.all(np.diff(rk.beta_k) > 0)
    assert rk.beta_k[-1] == pytest.approx(1 / SMALL_KW["tmin"], rel=1e-12)
    assert np.isinf(rk.T_k[0]) and rk.T_k[-1] == pytest.approx(SMALL_KW["tmin"])
    assert np.all(rk.equilibrated_k) and r.failed_T == []
    assert r.T_equilibrated == pytest.approx(SMALL_KW["tmin"])
    assert np.all(rk.z_k <= norm.isf(EQ_ALPHA / (4 * K)))
    # every neighbouring pair swaps at least MIN_ACCEPTANCE of the time (the ladder's promise; _tune inserts
    # rungs with a 0.05 margin for its shorter measurement)
    assert rk.acceptance_k.shape == (K - 1,)
    assert np.all(rk.acceptance_k >= MIN_ACCEPTANCE), rk.acceptance_k
    assert rk.n_sweeps == SMALL_KW["sweeps"] and np.all(rk.g_lk >= 1 - 1e-9)
    h = r.header
    assert int(h["rungs"]) == K and int(h["rungs_equilibrated"]) == K and h["failed_T"] == "none"
    assert h["stop_reason"] == "sweeps" and h["production_sweeps"] == SMALL_KW["sweeps"]
    assert h["burn_in"] == SMALL_KW["sweeps"] // 4
    assert float(h["swap_acceptance_min"]) == pytest.approx(rk.acceptance_k.min(), abs=5e-4)
    assert len(h["ladder_T"].split()) == K and h["ladder_T"].split()[0] == "inf"


def test_ln_g_is_normalised(small, small_run):
    c, _ = small
    r = small_run
    assert r.E_b.shape == r.ln_g_b.shape and np.all(np.diff(r.E_b) > 0)
    assert logsumexp(c.n_spins * r.ln_g_b) == pytest.approx(c.n_spins * math.log(2.0), rel=1e-10)
    assert np.all(r.ln_g_b <= math.log(2.0))


def test_final_spins_have_the_reported_energies(small, small_run):
    """Several runs, so that at least one swap in the last sweep is all but certain (each run has one with
    probability ~0.7 at these acceptances)."""
    c, _ = small
    runs = [small_run] + [canonical_thermo(c, **{**QUICK_KW, "sweeps": 80, "seed": s}) for s in range(4)]
    for r in runs:
        K = len(r.rungs.beta_k)
        assert r.spins_k.shape == (K, c.n_spins) and r.spins_k.dtype == np.int8 and r.E_spins_k.shape == (K,)
    for r in runs:
        np.testing.assert_allclose(c.energy(r.spins_k), r.E_spins_k, rtol=0,
                                   atol=1e-5 * float(np.abs(c.buffer).sum()))


def test_cold_start_is_the_given_state(small):
    c, E = small
    cold = -np.ones(c.n_spins, np.int8)
    r = canonical_thermo(c, tmin=0.5, tmax=5.0, sweeps=80, seed=1, progress=False, points=5, n_bootstrap=2,
                         cold_spins=cold)
    assert r.header["cold_start_energy_per_spin"] == f"{c.energy(cold) / c.n_spins:.6f}"


def test_header_names_the_fields_arithmetic(small):
    """The header says which precision ran and, for int8x3, how the couplings were rounded."""
    from ising_nn.kernels.fixed import FIXED_POINT

    c, _ = small
    kw = dict(tmin=0.5, tmax=5.0, sweeps=80, seed=1, progress=False, points=5, n_bootstrap=2)
    r = canonical_thermo(c, **kw, precision="int8x3")
    assert r.header["precision"] == "int8x3" and r.header["fixed_point"] == FIXED_POINT
    assert "fixed_point" not in canonical_thermo(c, **kw, precision="float32").header


def test_integer_network_deeper_than_enumeration_matches_the_transfer_matrix():
    c = _int_net([3] * 12, seed=9)  # N = 36
    levels = transfer_matrix_dos(c)
    r = canonical_thermo(c, tmin=1.0, tmax=6.0, sweeps=600, seed=2, progress=False, points=25, n_bootstrap=30)
    cu = r.curve
    assert r.T_equilibrated == pytest.approx(1.0)
    exact = _exact_thermo(levels.E, levels.ln_g, c.n_spins, cu.T_t)
    for name, ex, est, err in zip("UCFS", exact, (cu.U_t, cu.C_t, cu.F_t, cu.S_t),
                                  (cu.U_err_t, cu.C_err_t, cu.F_err_t, cu.S_err_t)):
        z = (est - ex) / err
        assert np.all(np.abs(z) <= Z), (name, np.max(np.abs(z)))
    T = r.rungs.T_k.copy()
    T[0] = 1.0
    U, C, _, _ = _exact_thermo(levels.E, levels.ln_g, c.n_spins, T)
    _assert_rungs_match(r.rungs, U, C, np.arange(len(T)) > 0)


# ---------------------------------------------------------------------------------------------- high temperature
def test_high_temperature_series_helper_matches_enumeration(small):
    """The series used below, checked: its residual shrinks as beta^5 (U) and beta^4 (Var E)."""
    c, E = small
    S2, S4, Q = _high_t_series(c)
    res_U, res_V = [], []
    for T in (10.0, 20.0, 40.0):
        b = 1.0 / T
        U, C, _, _ = _exact_thermo(E, np.zeros_like(E), c.n_spins, np.array([T]))
        res_U.append(abs(U[0] * c.n_spins - (-b * S2 + b**3 * (S4 / 3 - 4 * Q))))
        res_V.append(abs(C[0] * c.n_spins * T**2 - (S2 - b**2 * (S4 - 12 * Q))))
    # halving beta divides the residuals by ~2^5 and ~2^4 (leading orders would give 2^3 and 2^2)
    assert res_U[0] / res_U[1] > 20 and res_U[1] / res_U[2] > 25
    assert res_V[0] / res_V[1] > 10 and res_V[1] / res_V[2] > 13


WIDE_KW = dict(tmin=5.0, tmax=20.0, sweeps=400, seed=10, progress=False, points=9, n_bootstrap=20, max_samples=150)


@pytest.fixture(scope="module")
def wide():
    c = _net(WIDE, seed=1, scale=0.1)
    return c, canonical_thermo(c, **WIDE_KW)


def _check_high_t(c: Couplings, r, T_lo: float):
    """U -> -beta S2 / N and C -> beta^2 S2 / N. The tolerance is Z errors plus the size of the next order of
    the series (its truncation), and the next order is asserted to be below one error, so that the check is
    as sharp as the statistics allow."""
    N = c.n_spins
    S2, S4, Q = _high_t_series(c)

    def check(beta, U, U_err, C, C_err, where, crit):
        nU = np.abs(beta**3 * (S4 / 3 - 4 * Q)) / N
        nC = np.abs(beta**4 * (S4 - 12 * Q)) / N
        assert np.all(nU < U_err) and np.all(nC < C_err), (where, nU / U_err, nC / C_err)
        zU = (U - (-beta * S2 / N)) / U_err
        zC = (C - beta**2 * S2 / N) / C_err
        assert np.all(np.abs(U + beta * S2 / N) <= crit * U_err + nU), (where, zU)
        assert np.all(np.abs(C - beta**2 * S2 / N) <= crit * C_err + nC), (where, zC)

    cu = r.curve
    check(1 / cu.T_t, cu.U_t, cu.U_err_t, cu.C_t, cu.C_err_t, "curve", Z)
    rk = r.rungs
    k = rk.T_k >= T_lo
    k[0] = False  # beta = 0 has error 0 (and is exact)
    assert k.sum() >= 1
    crit = _t_crit(4 * int(k.sum()))
    for l in range(2):
        check(rk.beta_k[k], rk.U_lk[l, k], rk.U_err_lk[l, k], rk.C_lk[l, k], rk.C_err_lk[l, k], f"ladder {l}",
              crit)


def test_high_temperature_limit_of_a_wide_network(wide):
    # at T >= 5 with |J| ~ 0.1 the fields are ~ 2 (beta h <~ 0.4): the next order is below the errors
    c, r = wide
    assert np.all(r.rungs.equilibrated_k)
    _check_high_t(c, r, WIDE_KW["tmin"] * (1 - 1e-9))


def test_gaussian_centre_of_ln_g_of_a_wide_network(wide):
    """Uniform spins give E = -sum J s s' with mean 0, variance S2 and no odd cumulants (a bipartite graph has
    no triangles); the fourth cumulant -2 S4 + 24 Q changes the density at the centre by a relative
    (24 Q - 2 S4) / (8 S2^2) ~ 1e-5 here, far below the errors. So a bin of width w at E holds
    Phi((E + w/2) / sigma) - Phi((E - w/2) / sigma) ~ w Normal(E; 0, S2) of the 2^N states."""
    c, r = wide
    S2, S4, Q = _high_t_series(c)
    assert abs(24 * Q - 2 * S4) / (8 * S2**2) < 1e-3
    sigma = math.sqrt(S2)

    def p_exact(lo, hi):
        return norm.cdf(hi / sigma) - norm.cdf(lo / sigma)

    _check_ln_g_centre(r, c, p_exact, WIDE_KW["max_samples"], p_min=0.05)


@pytest.fixture(scope="module")
def minilm_run():
    from ising_nn.model.load import load_couplings

    c = load_couplings("minilm")
    # at T >= 150 the next order of the series is 5e-4 of U and 1.5e-3 of C, below the errors of 80 sweeps
    # (checked in _check_high_t; at T = 100 the next order of C exceeds them); a state of all +1 as the cold
    # start (T >= 150 is far above any freezing) spares the quench. About 20 s.
    kw = dict(tmin=150.0, tmax=600.0, sweeps=80, seed=0, progress=False, points=5, n_bootstrap=10,
              max_samples=150, pilot_sweeps=20, tune_sweeps=10, cold_spins=np.ones(c.n_spins, np.int8))
    return c, canonical_thermo(c, **kw), kw


@pytest.mark.slow
def test_high_temperature_limit_of_minilm(minilm_run):
    c, r, kw = minilm_run
    assert np.all(r.rungs.equilibrated_k)
    _check_high_t(c, r, kw["tmin"] * (1 - 1e-9))


@pytest.mark.slow
def test_gaussian_centre_of_ln_g_of_minilm(minilm_run):
    c, r, kw = minilm_run
    S2, S4, Q = _high_t_series(c)
    assert abs(24 * Q - 2 * S4) / (8 * S2**2) < 1e-3
    sigma = math.sqrt(S2)
    _check_ln_g_centre(r, c, lambda lo, hi: norm.cdf(hi / sigma) - norm.cdf(lo / sigma), kw["max_samples"],
                       p_min=0.05)


# ---------------------------------------------------------------------------------------------- reproducibility
QUICK_KW = dict(tmin=0.5, tmax=5.0, sweeps=100, seed=4, progress=False, points=10, n_bootstrap=3)


def test_same_seed_same_result_other_seed_other_result(small):
    c, _ = small
    a = canonical_thermo(c, **QUICK_KW)
    b = canonical_thermo(c, **QUICK_KW)
    _assert_same_result(a, b)
    other = canonical_thermo(c, **{**QUICK_KW, "seed": 5})
    assert not np.array_equal(other.curve.U_t, a.curve.U_t)


def test_time_limit_with_checkpoint_then_resume_completes_the_same_run(small, tmp_path):
    c, _ = small
    full = canonical_thermo(c, **QUICK_KW)
    ck = tmp_path / "state.npz"
    # a time limit shorter than the set-up: the run stops after its first sweep, too early for any estimate
    with pytest.raises(IsingNNError, match="time limit"):
        canonical_thermo(c, checkpoint=ck, time_limit=1e-3, **QUICK_KW)
    assert ck.is_file()
    with np.load(ck) as z:
        meta = json.loads(str(z["meta"]))
    assert meta["stage"] == "burn" and meta["done"] == 1
    with _file_leaks():  # engine bug, tested below
        rest = canonical_thermo(c, checkpoint=ck, resume=True, **QUICK_KW)
    assert rest.header["stop_reason"] == "sweeps" and rest.header["production_sweeps"] == QUICK_KW["sweeps"]
    _assert_same_result(rest, full)
    assert _untimed(rest.header) == _untimed(full.header)  # the resumed run says what the uninterrupted one says
    assert [p.name for p in tmp_path.iterdir()] == ["state.npz"]  # no temporary files left


def test_finished_checkpoint_resumes_to_the_same_result_and_other_inputs_are_refused(small, tmp_path):
    c, _ = small
    ck = tmp_path / "done.npz"
    a = canonical_thermo(c, checkpoint=ck, **QUICK_KW)
    assert ck.is_file()
    with _file_leaks():  # engine bug, tested below
        b = canonical_thermo(c, checkpoint=ck, resume=True, **QUICK_KW)
        _assert_same_result(a, b)
        assert b.header["production_sweeps"] == QUICK_KW["sweeps"]
        for change in ({"seed": 5}, {"sweeps": 120}, {"tmin": 0.6}):
            with pytest.raises(IsingNNError, match=f"other inputs .*{next(iter(change))}"):
                canonical_thermo(c, checkpoint=ck, resume=True, **{**QUICK_KW, **change})
        with pytest.raises(IsingNNError, match="other inputs"):
            canonical_thermo(_net(SMALL, seed=1), checkpoint=ck, resume=True, **QUICK_KW)
        bad = tmp_path / "bad.npz"
        bad.write_text("not a checkpoint")
        with pytest.raises(IsingNNError, match="not a replica-exchange checkpoint|unreadable"):
            canonical_thermo(c, checkpoint=bad, resume=True, **QUICK_KW)
        np.savez(tmp_path / "other.npz", x=np.zeros(3))
        with pytest.raises(IsingNNError, match="not a replica-exchange checkpoint|unreadable"):
            canonical_thermo(c, checkpoint=tmp_path / "other.npz", resume=True, **QUICK_KW)


def test_resuming_closes_the_checkpoint_file(small, tmp_path, monkeypatch):
    c, _ = small
    ck = tmp_path / "done.npz"
    canonical_thermo(c, checkpoint=ck, **QUICK_KW)
    opened = []
    real_load = np.load

    def spy(*args, **kwargs):  # keeps every file np.load returns, so that only an explicit close closes it
        z = real_load(*args, **kwargs)
        opened.append(z)
        return z

    monkeypatch.setattr(np, "load", spy)
    try:
        canonical_thermo(c, checkpoint=ck, resume=True, **QUICK_KW)
        with pytest.raises(IsingNNError, match="other inputs"):
            canonical_thermo(c, checkpoint=ck, resume=True, **{**QUICK_KW, "seed": 5})
        assert len(opened) >= 2
        still_open = [z for z in opened if getattr(z, "fid", None) is not None]
    finally:
        for z in opened:
            if hasattr(z, "close"):
                z.close()
    assert not still_open


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_agrees_with_cpu(small):
    c, _ = small
    kw = {**SMALL_KW, "sweeps": 400}
    a = canonical_thermo(c, **kw)
    b = canonical_thermo(c, **{**kw, "device": "cuda"})
    assert b.header["device"].startswith("cuda")
    for f in ("U", "C", "F", "S"):
        x, ex = getattr(a.curve, f + "_t"), getattr(a.curve, f + "_err_t")
        y, ey = getattr(b.curve, f + "_t"), getattr(b.curve, f + "_err_t")
        assert np.all(np.abs(x - y) <= Z * np.hypot(ex, ey)), f


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(tmin=2.0, tmax=1.0), "tmin must be below tmax"),
        (dict(tmin=1.0, tmax=1.0), "tmin must be below tmax"),
        (dict(tmin=-1.0), "tmin must be a positive temperature"),
        (dict(tmin=0.0), "tmin must be a positive temperature"),
        (dict(tmin=float("nan")), "tmin must be a positive temperature"),
        (dict(tmax=float("inf")), "tmax must be a positive temperature"),
        (dict(sweeps=79), "sweeps must be an integer of at least 80"),
        (dict(sweeps=100.0), "sweeps must be an integer of at least 80"),
        (dict(burn_in=-1), "burn_in must be an integer >= 0"),
        (dict(time_limit=0), "time limit must be a positive number of seconds"),
        (dict(seed=-1), "seed must be an integer >= 0"),
        (dict(points=2), "points must be an integer >= 3"),
        (dict(device="tpu"), "unknown device"),
        (dict(cold_spins=np.ones(15, np.int8)), r"cold_spins must be 16 values .* shape \(15,\)"),
        (dict(cold_spins=np.ones((1, 16), np.int8)), r"cold_spins must be 16 values"),
        (dict(cold_spins=np.zeros(16, np.int8)), r"cold_spins must be 16 values"),
    ],
)
def test_bad_input_is_refused(small, kw, match, tmp_path):
    c, _ = small
    with pytest.raises(IsingNNError, match=match):
        canonical_thermo(c, **{**QUICK_KW, "checkpoint": tmp_path / "ck.npz", **kw})
    assert not any(tmp_path.iterdir())  # refused before anything is written


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_refused(small):
    with pytest.raises(IsingNNError, match="CUDA is not available"):
        canonical_thermo(small[0], **{**QUICK_KW, "device": "cuda"})


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="MPS is available here")
def test_other_unavailable_device_is_refused(small):
    with pytest.raises(IsingNNError, match="mps"):
        canonical_thermo(small[0], **{**QUICK_KW, "device": "mps"})


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_device_beyond_the_count_is_refused(small):
    with pytest.raises(IsingNNError, match="cuda"):
        canonical_thermo(small[0], **{**QUICK_KW, "device": f"cuda:{torch.cuda.device_count()}"})


# ---------------------------------------------------------------------------------------------- THERMO.dat
NUMBER = re.compile(r"^-?\d\.\d{6}e[+-]\d{2,3}$")


def test_thermo_file_round_trip_and_format(small_run, tmp_path):
    r = small_run
    path = tmp_path / "THERMO.dat"
    assert write_thermo(r.curve, path, r.header) == path
    curve, header = read_thermo(path)
    for key in ("T_c", "T_c_err", "T_equilibrated", "failed_T", "n_spins", "seed", "version"):
        assert key in header, key
    assert header["failed_T"] == "none" and float(header["T_c"]) == pytest.approx(r.curve.Tc, abs=5e-5)
    for x, y in zip(_curve_arrays(curve), _curve_arrays(r.curve)):
        np.testing.assert_allclose(x, y, rtol=5e-7, atol=0)  # %.6e: 7 significant digits
    assert curve.Tc == float(r.header["T_c"]) and curve.Tc_err == float(r.header["T_c_err"])
    assert curve.Tc_at_edge == r.curve.Tc_at_edge
    lines = path.read_text().splitlines()
    body = [ln for ln in lines if not ln.startswith("#")]
    assert "# " + " ".join(COLUMNS) in lines and COLUMNS == ("T", "U", "U_err", "C", "C_err", "F", "F_err", "S",
                                                             "S_err")
    assert len(body) == SMALL_KW["points"]
    for ln in body:
        tokens = ln.split()
        assert len(tokens) == 9 and all(NUMBER.match(t) for t in tokens), ln
    # a rewrite is byte-identical, and nothing but the file is left in the folder
    first = path.read_bytes()
    write_thermo(r.curve, path, r.header)
    assert path.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["THERMO.dat"]


def test_thermo_file_with_failed_temperatures(tmp_path):
    T = np.geomspace(1, 2, 4)
    curve = ThermoCurve(T, -T, 0.1 * T, T, T, -2 * T, T, 0.5 * T, T, 1.5, 0.1, True)
    path = write_thermo(curve, tmp_path / "t.dat", {"T_c": "1.5000", "T_c_err": "0.1000", "T_c_at_edge": True,
                                                    "T_equilibrated": "1.0000", "failed_T": "0.5000 0.7500"})
    back, header = read_thermo(path)
    assert header["failed_T"] == "0.5000 0.7500" and back.Tc_at_edge is True
    np.testing.assert_allclose(back.S_err_t, T, rtol=5e-7)


def test_reading_a_bad_thermo_file_is_refused(tmp_path):
    p = tmp_path / "bad.dat"
    p.write_text("# T_c: 1\n1 2 3\n")
    with pytest.raises(IsingNNError, match="3 columns, expected 9"):
        read_thermo(p)
    with pytest.raises(IsingNNError, match="cannot read"):
        read_thermo(tmp_path / "missing.dat")
    p.write_text("# T_c: 1\n1 2 x 4 5 6 7 8 9\n")
    with pytest.raises(IsingNNError, match="cannot read"):
        read_thermo(p)
