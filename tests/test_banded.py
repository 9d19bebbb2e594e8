"""MBAR on samples in blocks (ising_nn.canonical.banded) against pymbar's dense solution and exact answers.

pymbar on the dense ``u_kn`` (``+inf`` where a sample has no weight) is the slow reference: the same estimator,
so the free energies must agree to the solvers' tolerance, not to a statistical error. The replica-exchange
curve built on the blocks (:func:`ising_nn.canonical.rbmbar.rb_mbar_curve`) is held to the dense pymbar path
it replaced, kept here as the reference, on the same resamples.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import logsumexp

from ising_nn.canonical import banded
from ising_nn.canonical.mbar import _mbar
from ising_nn.canonical.rbmbar import marginal_targets, rb_mbar_curve

#: Agreement of two solutions of one estimator: pymbar's and ours both stop at a relative change of 1e-12.
F_RTOL = 1e-9


def _windowed(K=14, n=400, window=3, seed=0):
    """Reduced potentials of Gaussian energies at K temperatures, each rung's samples evaluated at the rungs
    within ``window`` of its own and +inf elsewhere (replica exchange's marginal windows)."""
    rng = np.random.default_rng(seed)
    beta_k = np.linspace(0.0, 1.3, K)
    N_k = np.full(K, n)
    N_k[3] = n // 2  # unequal counts
    E_n = np.concatenate([rng.normal(-50.0 * b, 7.0, m) for b, m in zip(beta_k, N_k)])
    u_kn = beta_k[:, None] * E_n[None, :]
    home = np.repeat(np.arange(K), N_k)
    u_kn[np.abs(np.arange(K)[:, None] - home[None, :]) > window] = np.inf
    return u_kn, N_k


def _pymbar(u_kn, N_k, f=None):
    return np.asarray(_mbar(u_kn, N_k, f).f_k)


@pytest.mark.parametrize("window", [1, 3, 20])
def test_solve_matches_pymbar_on_windowed_and_dense_samples(window):
    """window 20 > K: every sample at every state (pymbar's usual case)."""
    u_kn, N_k = _windowed(window=window)
    blocks = banded.blocks_from_dense(u_kn, N_k)
    assert max(b.u_nj.shape[1] for b in blocks) == min(2 * window + 1, len(N_k))
    f = banded.solve(blocks, N_k)
    ref = _pymbar(u_kn, N_k)
    assert f[0] == 0.0
    np.testing.assert_allclose(f, ref, rtol=F_RTOL, atol=F_RTOL * np.abs(ref).max())


def test_solution_satisfies_the_self_consistent_equations():
    """f_k = -ln sum_n exp(-u_kn) / sum_j N_j exp(f_j - u_jn), evaluated densely; started as the engine starts
    it, within O(1) of the answer."""
    u_kn, N_k = _windowed(window=2, seed=3)
    start = _pymbar(u_kn, N_k) + np.random.default_rng(0).normal(0.0, 1.0, len(N_k))
    f = banded.solve(banded.blocks_from_dense(u_kn, N_k), N_k, f_k_init=start)
    log_D = logsumexp(np.log(N_k)[:, None] + f[:, None] - u_kn, axis=0)
    rhs = -logsumexp(-u_kn - log_D[None, :], axis=1)
    np.testing.assert_allclose(f, rhs - rhs[0], rtol=F_RTOL, atol=1e-9)
    denominators = np.concatenate(banded.log_denominators(banded.blocks_from_dense(u_kn, N_k), N_k, f))
    np.testing.assert_allclose(denominators, log_D, rtol=1e-13)


def test_solve_recovers_the_exact_free_energies_of_harmonic_oscillators():
    """u_k(x) = k_k x^2 / 2 with x drawn exactly from each state: f_k - f_0 = ln(k_k / k_0) / 2, within pymbar's
    own asymptotic error (4 of them, for 9 comparisons)."""
    rng = np.random.default_rng(7)
    k_k = np.array([1.0, 1.5, 2.2, 3.0, 4.5, 6.0, 9.0, 13.0, 20.0, 30.0])
    N_k = np.full(len(k_k), 800)
    x_n = np.concatenate([rng.normal(0.0, 1.0 / math.sqrt(k), n) for k, n in zip(k_k, N_k)])
    u_kn = 0.5 * k_k[:, None] * x_n[None, :] ** 2
    f = banded.solve(banded.blocks_from_dense(u_kn, N_k), N_k)
    exact = 0.5 * np.log(k_k / k_k[0])
    err = _mbar(u_kn, N_k, None).compute_free_energy_differences()["dDelta_f"][0]
    assert np.all(np.abs(f - exact)[1:] <= 4.0 * err[1:])
    assert np.abs(f - exact)[1:].max() > 0.0  # a sample, not the answer


def test_resample_keeps_each_block_and_its_states():
    u_kn, N_k = _windowed(K=6, n=50, window=2)
    blocks = banded.blocks_from_dense(u_kn, N_k)
    rows = [np.arange(n)[::-1] for n in N_k]
    again = banded.resample(blocks, rows)
    assert [b.lo for b in again] == [b.lo for b in blocks]
    for a, b, r in zip(again, blocks, rows):
        np.testing.assert_array_equal(a.u_nj, b.u_nj[r])


def test_bad_input_is_refused():
    u_kn, N_k = _windowed(K=5, n=20)
    with pytest.raises(ValueError, match="samples"):
        banded.blocks_from_dense(u_kn[:, :-1], N_k)
    with pytest.raises(ValueError, match="every state"):
        banded.solve(banded.blocks_from_dense(u_kn, N_k), np.array([20, 20, 0, 20, 20]))
    far = np.arange(len(N_k), dtype=float) * 100.0  # hybr gives up from here, as pymbar's does
    with pytest.raises(RuntimeError, match="did not converge"):
        banded.solve(banded.blocks_from_dense(u_kn, N_k), N_k, f_k_init=far, maxiter=2)


# ------------------------------------------------------------------ the replica-exchange curve on blocks
def _dense_reference(L, M, V, targets, K_eq, step_lk, t_out, n_spins, f_k_init, n_bootstrap, seed):
    """The dense pymbar path that rb_mbar_curve used before the blocks (one parity): U, C, F, S and the
    bootstrap's standard deviations."""
    K = targets.beta_kj.shape[0]
    n_rec = L.shape[0]
    keep = []
    for k in range(K_eq):
        lad = np.concatenate([np.full(len(range(0, n_rec, int(step_lk[i, k]))), i) for i in range(2)])
        rec = np.concatenate([np.arange(0, n_rec, int(step_lk[i, k])) for i in range(2)])
        keep.append((lad, rec))
    n_out = len(t_out)
    col_of = np.full(K + len(targets.beta_t), -1)
    col_of[:K_eq] = np.arange(K_eq)
    col_of[K + t_out] = K_eq + np.arange(n_out)
    N_k = np.array([len(rec) for _, rec in keep])
    n = int(N_k.sum())
    u = np.full((K_eq + n_out, n), np.inf)
    Mx, Vx = np.zeros((n_out, n)), np.zeros((n_out, n))
    start = 0
    for k, (lad, rec) in enumerate(keep):
        idx = targets.index_kj[k]
        cols = np.where(idx >= 0, col_of[np.maximum(idx, 0)], -1)
        use = cols >= 0
        sl = slice(start, start + len(rec))
        u[cols[use], sl] = -L[rec, lad][:, k, use].T
        obs = use & (cols >= K_eq)
        Mx[cols[obs] - K_eq, sl] = M[rec, lad][:, k, obs].T
        Vx[cols[obs] - K_eq, sl] = V[rec, lad][:, k, obs].T
        start += len(rec)
    u_kn, u_tn = u[:K_eq], u[K_eq:]
    beta_t = targets.beta_t[t_out]

    def curves(mbar, u_tn, M_tn, V_tn):
        f_k, u_kn = np.asarray(mbar.f_k), np.asarray(mbar.u_kn)
        log_D_n = logsumexp(np.log(N_k)[:, None] + f_k[:, None] - u_kn, axis=0)
        log_w = -u_tn - log_D_n[None, :]
        f_t = -logsumexp(log_w, axis=1)
        w = np.exp(log_w + f_t[:, None])
        U = (w * M_tn).sum(1)
        var = (w * V_tn).sum(1) + (w * (M_tn - U[:, None]) ** 2).sum(1)
        F = -(n_spins * math.log(2.0) - (f_t - f_k[0])) / beta_t / n_spins
        return np.array([U / n_spins, beta_t**2 * var / n_spins, F, (U / n_spins - F) * beta_t])

    m0 = _mbar(u_kn, N_k, f_k_init)
    est = curves(m0, u_tn, Mx, Vx)
    rng = np.random.default_rng(seed)
    starts = np.concatenate([[0], np.cumsum(N_k)[:-1]])
    boots = []
    for _ in range(n_bootstrap):
        idx = np.concatenate([s + rng.integers(0, m, m) for s, m in zip(starts, N_k)])
        m = _mbar(u_kn[:, idx], N_k, m0.f_k)
        boots.append(curves(m, u_tn[:, idx], Mx[:, idx], Vx[:, idx]))
    return est, np.std(boots, axis=0, ddof=1)


def _marginal_records(K=16, n_rec=120, seed=1):
    """Records of a toy marginal: every sample x carries (a, b) with L_beta = -beta a + beta^2 b / 2, so that
    M_beta = -dL/dbeta = a - beta b and V_beta = b, drawn near each rung's own mean."""
    rng = np.random.default_rng(seed)
    beta_k = np.concatenate([[0.0], np.linspace(0.08, 1.2, K - 1)])
    beta_t = 1.0 / np.geomspace(0.85, 12.0, 40)
    sigma = np.full(K, 6.0)
    targets = marginal_targets(beta_k, beta_t, sigma, spread=2.5)
    a = rng.normal(-40.0 * beta_k[None, None, :], 6.0, (n_rec, 2, K))
    b = rng.uniform(1.0, 3.0, (n_rec, 2, K))
    bj = np.nan_to_num(targets.beta_kj)[None, None]
    L = -bj * a[..., None] + 0.5 * bj**2 * b[..., None]
    M = a[..., None] - bj * b[..., None]
    V = np.broadcast_to(b[..., None], L.shape).copy()
    return L, M, V, targets, beta_k


def test_replica_exchange_curve_on_blocks_matches_the_dense_pymbar_path():
    """Estimates and bootstrap errors of every output temperature, the windows cut (spread 2.5), two of the
    rungs left out as not equilibrated and a coarser step on one ladder."""
    L, M, V, targets, beta_k = _marginal_records()
    K = len(beta_k)
    K_eq = K - 2
    step_lk = np.ones((2, K), dtype=int)
    step_lk[1, 5:] = 3
    T_grid = 1.0 / targets.beta_t
    t_out = np.flatnonzero(T_grid >= 1.0 / beta_k[K_eq - 1])
    f_init = np.linspace(0.0, 3.0, K_eq)
    curve, w = rb_mbar_curve(L, M, V, targets, K_eq, step_lk, t_out, 100, f_k_init=f_init, n_bootstrap=6, seed=4)
    est, err = _dense_reference(L, M, V, targets, K_eq, step_lk, t_out, 100, f_init, 6, 4)
    assert w == 1.0
    assert np.all(np.isfinite(curve.C_t)) and len(curve.T_t) == len(t_out)
    for got, want in zip((curve.U_t, curve.C_t, curve.F_t, curve.S_t), est):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    for got, want in zip((curve.U_err_t, curve.C_err_t, curve.F_err_t, curve.S_err_t), err):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


# ------------------------------------------------------------------ raw energies (ising_nn.canonical.mbar)
def test_raw_energy_curve_and_beta0_weights_match_pymbar():
    """mbar_curve and the beta = 0 weights of ln g against pymbar's dense MBAR on the same samples and
    resamples (compute_perturbed_free_energies and compute_expectations, as the curve used them)."""
    from ising_nn.canonical.mbar import MBARSamples, log_weights_beta0, mbar_curve

    rng = np.random.default_rng(11)
    beta_k = np.concatenate([[0.0], np.linspace(0.05, 0.9, 11)])
    N_k = rng.integers(150, 250, len(beta_k))
    E_n = np.concatenate([rng.normal(-30.0 * b, 5.0, m) for b, m in zip(beta_k, N_k)])
    T_t = np.geomspace(1.2, 15.0, 25)
    n_spins, B = 50, 5
    curve, f_k = mbar_curve(E_n, N_k, beta_k, T_t, n_spins, n_bootstrap=B, seed=2)

    beta_t = 1.0 / T_t

    def reference(E):
        m = _mbar(beta_k[:, None] * E[None, :], N_k, None)
        u_ln = np.vstack([np.zeros_like(E), beta_t[:, None] * E[None, :]])
        f = m.compute_perturbed_free_energies(u_ln, compute_uncertainty=False)["Delta_f"][0, 1:]
        U = m.compute_expectations(E, u_kn=u_ln[1:], compute_uncertainty=False)["mu"]
        dE = E - E.mean()
        m1 = m.compute_expectations(dE, u_kn=u_ln[1:], compute_uncertainty=False)["mu"]
        m2 = m.compute_expectations(dE * dE, u_kn=u_ln[1:], compute_uncertainty=False)["mu"]
        F = -T_t * (n_spins * math.log(2.0) - f) / n_spins
        return m, np.array([U / n_spins, beta_t**2 * (m2 - m1 * m1) / n_spins, F, (U / n_spins - F) / T_t])

    m0, est = reference(E_n)
    starts = np.concatenate([[0], np.cumsum(N_k)[:-1]])
    draws = np.random.default_rng(2)
    boots = [reference(E_n[np.concatenate([s + draws.integers(0, n, n) for s, n in zip(starts, N_k)])])[1]
             for _ in range(B)]
    err = np.std(boots, axis=0, ddof=1)
    np.testing.assert_allclose(f_k, m0.f_k, rtol=F_RTOL, atol=1e-9)
    for got, want in zip((curve.U_t, curve.C_t, curve.F_t, curve.S_t), est):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    for got, want in zip((curve.U_err_t, curve.C_err_t, curve.F_err_t, curve.S_err_t), err):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
    log_w = log_weights_beta0(MBARSamples(E_n, N_k, beta_k, f_k))
    np.testing.assert_allclose(log_w, np.asarray(m0.Log_W_nk)[:, 0], rtol=1e-10, atol=1e-10)
