"""The T_c answer's logic (ising_nn.paper.criticality) on populations whose records are designed: each of
the three tests decides the certified range when it alone fails, the rule is cumulative from hot, a peak
fit recovers the vertex of a parabola in ln T exactly, its jackknife is the delete-one formula, a maximum at
the certified edge is a bound, and the one-sided test is Student's t."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from ising_nn.canonical import ThermoCurve
from ising_nn.paper.criticality import certify, certify_canonical, compare_at, fit_peak, tc_answer
from ising_nn.paper.population import CachedPopulation

N, M, R = 200, 4, 100
BETA = np.concatenate([[0.0], 1.0 / np.geomspace(20.0, 1.0, 240)])
T_STEP = 1.0 / BETA[1:]


def c_true(T, T0):
    return 0.4 - 0.1 * (np.log(T) - np.log(T0)) ** 2


def population(T0=3.0, rho_hot=2.0, rho_cold=10.0, T_rho=2.0, bias_below=None, bias=0.0):
    """M runs whose C peaks at T0 (each run's variance scaled by 1 +- 1e-5), U = -1/T (offsets +-1e-5,
    so that U's jackknife error is 6.5e-6), rho_t above ``T_rho`` small enough for the families criterion
    (M R >= 100 rho_t) and too large below; ``bias`` added to every run's U below ``bias_below``."""
    off = np.array([-1.5, -0.5, 0.5, 1.5])[:, None] * 1e-5
    T = np.concatenate([[np.inf], T_STEP])
    U = np.concatenate([[0.0], -1.0 / T_STEP])[None, :] + off
    var = np.concatenate([[1.0], N * c_true(T_STEP, T0) * T_STEP**2])[None, :] * (1 + off)
    if bias_below is not None:
        U = U + np.where(T < bias_below, bias, 0.0)[None, :]
    rho = np.where(T >= T_rho, rho_hot, rho_cold)[None, :].repeat(M, 0)
    z = np.zeros((M, BETA.size))
    header = {"tmin": "1.0", "tmax": "10.0"}
    return CachedPopulation(None, header, BETA, z, U, var, rho, rho, z.astype(int) + 1, R, N, Path("x"))


def pt_result(T_eq, shift_at=None, C_shift_at=None, T0=3.0, Tc_err=math.nan):
    T = np.geomspace(1.0, 10.0, 300)
    U, C = -1.0 / T, c_true(T, T0)
    if shift_at is not None:
        U = U + np.where(np.abs(T - shift_at) < 0.2, 0.05, 0.0)
    if C_shift_at is not None:
        C = C + np.where(np.abs(T - C_shift_at) < 0.2, 0.05, 0.0)
    e = np.full_like(T, 1e-3)
    curve = ThermoCurve(T, U, e, C, e, U, e, U, e, math.nan, Tc_err, False)
    return SimpleNamespace(curve=curve, header={"T_equilibrated": str(T_eq)})


def test_families_decide_alone():
    p = population(T_rho=2.0)
    c = certify(p, population(T_rho=2.0))
    assert c.T_cert == pytest.approx(T_STEP[T_STEP >= 2.0].min()) and c.failed == "families"
    assert np.all(np.diff(c.T_t) > 0) and c.T_t.min() >= 1.0 - 1e-9 and c.T_t.max() <= 10.0 + 1e-9
    assert np.array_equal(c.certified_t, c.T_t >= c.T_cert)
    assert np.allclose(c.U_t, -1.0 / c.T_t) and np.allclose(c.C_t, c_true(c.T_t, 3.0), atol=1e-6)


def test_quarter_population_decides_when_it_disagrees():
    c = certify(population(), population(bias_below=4.0, bias=0.05))
    assert c.T_cert == pytest.approx(T_STEP[T_STEP >= 4.0].min(), rel=1e-9) and c.failed == "R against R/4"
    assert np.nanmax(c.z_check_t[c.certified_t]) < 1e-6 and np.nanmin(c.z_check_t[~c.certified_t]) > 3
    # a bias within the errors (one combined error is 9.1e-6) passes
    assert certify(population(), population(bias_below=4.0, bias=1e-5)).T_cert < 2.1


def test_replica_exchange_disagreeing_where_equilibrated_cuts_everything_below():
    c = certify(population(), population(), pt_result(T_eq=6.0, shift_at=8.0))
    assert 8.0 < c.T_cert < 8.6 and c.failed == "against replica exchange"
    ok = certify(population(), population(), pt_result(T_eq=6.0))
    assert ok.T_cert < 2.1 and np.isnan(ok.z_pt_t[ok.T_t < 6.0]).all() and (ok.z_pt_t[ok.T_t >= 6.05] < 3).all()
    # below replica exchange's equilibrated range it is not compared
    below = certify(population(), population(), pt_result(T_eq=9.0, shift_at=8.0))
    assert below.T_cert < 2.1
    # C decides too
    cc = certify(population(), population(), pt_result(T_eq=6.0, C_shift_at=7.0))
    assert 7.0 < cc.T_cert < 7.6 and cc.failed == "against replica exchange"
    assert np.nanmax(cc.z_pt_C_t) > 10 and np.nanmax(cc.z_pt_t) < 3


def test_peak_fit_recovers_the_vertex_and_the_jackknife():
    T = np.geomspace(1.0, 10.0, 400)
    C = c_true(T, 2.5)
    deltas = np.array([0.01, -0.02, 0.005, 0.0])
    J = np.stack([c_true(T, 2.5 * math.exp(d)) for d in deltas])
    p = fit_peak(T, C, J, T_cert=1.0)
    assert p.located and p.Tc == pytest.approx(2.5, rel=1e-9) and p.C_max == pytest.approx(0.4, rel=1e-9)
    v = 2.5 * np.exp(deltas)
    assert p.Tc_stat == pytest.approx(math.sqrt(3 / 4 * np.sum((v - v.mean()) ** 2)), rel=1e-6)
    assert p.Tc_syst == pytest.approx(0.0, abs=1e-9)
    # the certified range ends above the peak: C rises to its edge, T_c is a bound
    edge = fit_peak(T, C, J, T_cert=3.0)
    assert not edge.located and edge.bound == 3.0 and np.isnan(edge.Tc)
    # the window would leave the certified range
    assert not fit_peak(T, C, J, T_cert=2.4).located


def test_answer_and_its_one_sided_test():
    tr = certify(population(T0=5.0, T_rho=1.0), population(T0=5.0, T_rho=1.0))
    sh = certify(population(T0=2.0, T_rho=1.0), population(T0=2.0, T_rho=1.0))
    a = tc_answer("net", tr, sh)
    assert a.peak_trained.Tc == pytest.approx(5.0, rel=1e-3) and a.peak_shuffled.Tc == pytest.approx(2.0, rel=1e-3)
    assert a.delta == pytest.approx(a.peak_trained.Tc - a.peak_shuffled.Tc)
    assert a.dof == M - 1 and a.p_value == pytest.approx(stats.t.sf(a.delta / a.delta_err, M - 1))
    assert "T_c(trained) - T_c(shuffled)" in a.statement() and len(a.table()) == 2
    cut = certify(population(T0=2.0, T_rho=2.5), population(T0=2.0, T_rho=2.5))
    b = tc_answer("net", tr, cut)
    assert np.isnan(b.delta) and b.peak_shuffled.upper == pytest.approx(cut.T_cert * 1.05)
    assert b.t == pytest.approx((b.peak_trained.Tc - b.peak_shuffled.upper) / b.peak_trained.Tc_err)
    assert b.p_value == pytest.approx(stats.t.sf(b.t, M - 1)) and "exceeds the shuffle's bound" in b.statement()
    assert "largest there, so T_c < " in b.statement()
    df = compare_at([2.0, 3.0, 5.0], cut, pt_result(T_eq=4.0))
    assert list(df.PA_certified) == [False, True, True] and list(df.PT_certified) == [False, False, True]


def with_parities(p, bias_below=None, bias=0.0, seed=0):
    """``p`` with both parities' records: each run's U plus independent noise of 1e-7 per parity (so that their
    difference has a jackknife error), ``bias`` added to the odd layers' U below ``bias_below``."""
    import dataclasses

    rng = np.random.default_rng(seed)
    U = p.U_mi[:, None, :] + rng.normal(0.0, 1e-7, (p.runs, 2, BETA.size))
    if bias_below is not None:
        U[:, 1] += np.where(np.concatenate([[np.inf], T_STEP]) < bias_below, bias, 0.0)
    return dataclasses.replace(p, U_mpi=U, var_E_mpi=np.repeat(p.var_E_mi[:, None, :], 2, axis=1))


def test_the_two_parities_decide_alone_where_they_part():
    """The fourth test: two parities that agree change nothing; a bias of the odd layers' estimate below T = 4
    (main and check alike, so that R against R/4 passes) ends the certified range there, this test alone failing;
    results without the records leave it out."""
    base = certify(population(T_rho=1.0), population(T_rho=1.0))
    assert base.parity_ok_t is None and base.z_parity_t is None
    same = certify(with_parities(population(T_rho=1.0)), with_parities(population(T_rho=1.0), seed=1))
    assert same.parity_ok_t.all() and same.T_cert == base.T_cert and np.isfinite(same.z_parity_t).all()
    split = certify(with_parities(population(T_rho=1.0), bias_below=4.0, bias=1e-4),
                    with_parities(population(T_rho=1.0), bias_below=4.0, bias=1e-4, seed=1))
    assert split.T_cert == pytest.approx(T_STEP[T_STEP >= 4.0].min()) and split.failed == "odd against even layers"
    assert split.check_ok_t.all() and not split.parity_ok_t[split.T_t < 4.0].any()


def test_nothing_certified_reads_as_words():
    """Too few families everywhere: no certified temperature, and the statement says so (no inf, no nan)."""
    none = certify(population(T_rho=20.0), population(T_rho=20.0))
    assert math.isinf(none.T_cert) and not none.certified_t.any() and none.failed == "families"
    s = tc_answer("net", none, none).statement()
    assert "not certified at any temperature run (first failing test: families)" in s
    assert "inf" not in s and "nan" not in s and "not decided" in s


def test_agreement_tests_hold_their_false_alarm_rate_on_pure_noise():
    """Two correct populations (8 runs, independent noise at each of 240 temperatures, no bias): the R
    against R/4 test fails in at most about ALPHA = 0.01 of the trials, not in most of them as a per-point
    |z| <= 3 would."""
    def noisy(rng, m=8):
        U = np.concatenate([[0.0], -1.0 / T_STEP])[None, :] + rng.normal(0.0, 1e-3, (m, BETA.size))
        U[:, 0] = 0.0
        var = np.concatenate([[1.0], N * c_true(T_STEP, 3.0) * T_STEP**2])[None, :].repeat(m, 0)
        z = np.zeros((m, BETA.size))
        rho = np.ones((m, BETA.size))
        return CachedPopulation(None, {"tmin": "1.0", "tmax": "10.0"}, BETA, z, U, var, rho, rho,
                                z.astype(int) + 1, R, N, Path("x"))

    rng = np.random.default_rng(7)
    trials = 200
    fails = sum(certify(noisy(rng), noisy(rng)).failed == "R against R/4" for _ in range(trials))
    # Bonferroni over correlated U and C makes the level conservative: at most ALPHA on average; 8 of 200
    # has probability < 1e-3 if the true rate is ALPHA = 0.01
    assert fails <= 8, fails
    per_point = sum(
        np.nanmax(certify(p, q).z_check_t) > 3 for p, q in ((noisy(rng), noisy(rng)) for _ in range(20)))
    assert per_point >= 10  # the old per-point rule would have failed a correct run in most trials


def test_replica_exchange_alone_answers_for_a_network_without_population_annealing():
    """The default budget's shuffle: certified where the hot and cold ladders agree, its maximum below that edge
    a bound that the trained peak is tested against; a maximum it locates has no jackknife: its statistical error
    is the engine's bootstrap error of its own T_c (none without one, and then no test), and two replica-exchange
    curves are tested with the normal distribution."""
    tr = certify(population(T0=5.0, T_rho=1.0), population(T0=5.0, T_rho=1.0))
    sh = certify_canonical(pt_result(T_eq=2.5))
    assert sh.method == "replica exchange" and sh.runs == 0 and sh.C_jk_mt.shape == (0, sh.T_t.size)
    assert np.all(np.diff(sh.T_t) > 0) and sh.T_cert >= 2.5 and sh.T_cert == sh.T_t[sh.certified_t].min()
    assert np.array_equal(sh.certified_t, sh.T_t >= 2.5) and sh.failed == "hot and cold ladders"
    edge = certify_canonical(pt_result(T_eq=3.5))  # C still rising at its certified edge
    a = tc_answer("net", tr, edge)
    assert not a.peak_shuffled.located and a.peak_shuffled.upper == pytest.approx(edge.T_cert * 1.05)
    assert a.dof == M - 1 and a.p_value == pytest.approx(stats.t.sf(a.t, M - 1))
    assert "by replica exchange alone" in a.statement() and list(a.table().method) == [
        "population annealing", "replica exchange"]
    # located by replica exchange: the vertex, but no replicates, so no error and no test
    low = certify_canonical(pt_result(T_eq=1.0))
    b = tc_answer("net", tr, low)
    assert b.peak_shuffled.located and b.peak_shuffled.Tc == pytest.approx(3.0, rel=1e-6)
    assert math.isnan(b.peak_shuffled.Tc_stat) and math.isnan(b.t) and math.isnan(b.p_value)
    boot = certify_canonical(pt_result(T_eq=1.0, Tc_err=0.04))
    c = tc_answer("net", tr, boot)
    pk = c.peak_shuffled
    assert pk.Tc == b.peak_shuffled.Tc and pk.Tc_stat == 0.04
    assert pk.Tc_err == pytest.approx(math.hypot(0.04, pk.Tc_syst))
    assert pk.C_max_err == pytest.approx(1e-3) and c.dof == M - 1
    assert c.p_value == pytest.approx(stats.t.sf(c.delta / c.delta_err, M - 1))
    both = tc_answer("net", certify_canonical(pt_result(T_eq=1.0, T0=5.0, Tc_err=0.05)), boot)
    assert both.dof == 0 and both.delta == pytest.approx(2.0, rel=1e-5)
    assert both.delta_err == pytest.approx(math.hypot(both.peak_trained.Tc_err, pk.Tc_err))
    assert both.p_value == pytest.approx(stats.norm.sf(both.delta / both.delta_err))
    assert "normal, one-sided p" in both.statement()
