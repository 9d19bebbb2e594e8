"""Population annealing (ising_nn.canonical.population / .annealing) against exact answers.

Exact thermodynamics come from enumerating every state of a 16-spin network; the resampling, the adaptive
step and the family statistics are checked against their definitions; checkpoints against an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy.special import logsumexp, softmax
from scipy.stats import norm
from test_canonical import SMALL, _exact_thermo, _net

from ising_nn.canonical import population_annealing
from ising_nn.canonical.annealing import combine_runs
from ising_nn.canonical.population import _overlap, anneal_population, family_sizes, next_beta, systematic_resample
from ising_nn.errors import IsingNNError
from ising_nn.testing.exact import enumerate_energies

PA_KW = dict(tmin=0.5, tmax=5.0, population=400, runs=8, sweeps=2, overlap=0.8, seed=3, progress=False)


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def small():
    c = _net(SMALL, seed=0)
    return c, enumerate_energies(c)


@pytest.fixture(scope="module")
def small_pa(small):
    return population_annealing(small[0], **PA_KW, precision="float32")


# ---------------------------------------------------------------------------------------------- pieces
def test_systematic_resampling_gives_floor_or_ceil_copies_and_keeps_the_size():
    rng = np.random.default_rng(0)
    for _ in range(50):
        R = int(rng.integers(5, 200))
        log_w = rng.normal(scale=3.0, size=R)
        idx = systematic_resample(log_w, float(rng.random()))
        assert idx.shape == (R,) and np.all(np.diff(idx) >= 0)
        n = np.bincount(idx, minlength=R)
        expected = R * np.exp(log_w - logsumexp(log_w))
        assert np.all(n >= np.floor(expected) - 1e-9) and np.all(n <= np.ceil(expected) + 1e-9)


def test_systematic_resampling_is_unbiased():
    """Mean copies over many uniforms equal R p_r (each count is floor or ceil: bounded, so a normal bound)."""
    rng = np.random.default_rng(1)
    R, n = 12, 20_000
    log_w = rng.normal(size=R)
    expected = R * np.exp(log_w - logsumexp(log_w))
    counts = np.mean([np.bincount(systematic_resample(log_w, u), minlength=R) for u in rng.random(n)], axis=0)
    sd = np.sqrt((expected - np.floor(expected)) * (np.ceil(expected) - expected) / n) + 1e-12
    assert np.all(np.abs(counts - expected) <= 5 * sd + 1e-9)


def test_family_statistics_follow_their_definitions():
    assert family_sizes(np.arange(10)) == pytest.approx((1.0, 1.0, 10))
    assert family_sizes(np.zeros(10, int)) == pytest.approx((10.0, 10.0, 1))
    fam = np.array([0, 0, 0, 1])  # nu = 3/4, 1/4
    rho_t, rho_s, f = family_sizes(fam)
    assert rho_t == pytest.approx(4 * (0.75**2 + 0.25**2))
    assert rho_s == pytest.approx(4 * np.exp(0.75 * np.log(0.75) + 0.25 * np.log(0.25)))
    assert f == 2


def test_adaptive_step_lands_on_the_overlap():
    rng = np.random.default_rng(2)
    E = rng.normal(scale=30.0, size=500)
    for target in (0.5, 0.85, 0.95):
        b = next_beta(E, 0.3, 10.0, target)
        assert 0.3 < b < 10.0
        assert _overlap(E, b - 0.3) == pytest.approx(target, abs=1e-6)
    assert next_beta(E, 0.3, 0.30001, 0.85) == 0.30001  # the last step is clipped to the end


# ---------------------------------------------------------------------------------------------- exact answers
def test_weighted_average_matches_enumeration(small, small_pa):
    """U, C, F, S at every output temperature within Z jackknife errors of the exact values (Bonferroni over
    the 4 observables and all temperatures), and the errors are not inflated (the mean z^2 is below 3)."""
    c, E = small
    cu = small_pa.curve
    exact = _exact_thermo(E, np.zeros_like(E), c.n_spins, cu.T_t)
    z_crit = norm.isf(1e-3 / (2 * 4 * len(cu.T_t)))
    zs = []
    for name, x in zip(("U", "C", "F", "S"), exact):
        got, err = getattr(cu, name + "_t"), getattr(cu, name + "_err_t")
        assert np.all(err > 0), name
        z = (got - x) / err
        assert np.all(np.abs(z) <= z_crit), (name, z)
        zs.append(z)
    assert np.mean(np.square(zs)) < 3.0


def _one_parity(runs, p):
    """The runs as if they had recorded parity ``p``'s marginal alone (0: even layers, 1: odd)."""
    return [dataclasses.replace(r, U_i=r.U_pi[p], var_E_i=r.var_E_pi[p], U_pi=None, var_E_pi=None) for r in runs]


def test_each_parity_matches_enumeration_and_the_weight_combines_them(small, small_pa):
    """Each parity's marginal alone is an exact estimator (U and C within Bonferroni jackknife errors of
    enumeration); the records' U and Var E are the two parities' mean; the result is w odd + (1 - w) even with the
    header's weight, the minimum-variance one from the jackknife replicates of C over the output steps; a run
    without the two records is combined from the mean, as before the parities were kept."""
    from ising_nn.canonical.annealing import output_steps
    from ising_nn.canonical.rbmbar import parity_weight

    c, E = small
    r, N = small_pa, small[0].n_spins
    sel = output_steps(r.beta_i, PA_KW["tmin"], PA_KW["tmax"])
    T = r.T_i[sel]
    exact = _exact_thermo(E, np.zeros_like(E), N, T)
    z_crit = norm.isf(1e-3 / (2 * 2 * 2 * len(T)))
    est, err, jk = {}, {}, {}
    for p in (0, 1):
        e, er, _, j, w_nan = combine_runs(_one_parity(r.runs, p), N, sel)
        assert math.isnan(w_nan)
        est[p], err[p], jk[p] = e[:, sel], er[:, sel], j[:, :, sel]
        for q, x in ((0, exact[0]), (1, exact[1])):
            assert np.all(np.abs(est[p][q] - x) <= z_crit * err[p][q]), (p, q)
    for run in r.runs:
        np.testing.assert_allclose(run.U_i, run.U_pi.mean(0), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(run.var_E_i, run.var_E_pi.mean(0), rtol=1e-12)
    w = float(r.header["marginal_weight_odd"])
    assert 0.0 <= w <= 1.0 and w == pytest.approx(parity_weight(np.stack([jk[1][:, 1], jk[0][:, 1]], axis=1)),
                                                   abs=5e-5)
    assert np.any(np.abs(est[1][1] - est[0][1]) > 0)  # two different estimators
    w = parity_weight(np.stack([jk[1][:, 1], jk[0][:, 1]], axis=1))
    np.testing.assert_allclose(r.curve.U_t, w * est[1][0] + (1 - w) * est[0][0], rtol=1e-12)
    np.testing.assert_allclose(r.curve.C_t, w * est[1][1] + (1 - w) * est[0][1], rtol=1e-12)
    assert np.all(r.curve.C_err_t <= w * err[1][1] + (1 - w) * err[0][1] + 1e-15)
    old = [dataclasses.replace(run, U_pi=None, var_E_pi=None) for run in r.runs]
    e, _, _, _, w_old = combine_runs(old, N, sel)
    assert math.isnan(w_old) and not np.array_equal(e[1, sel], r.curve.C_t)
    w_mi = softmax(np.stack([run.ln_Z_i for run in old]), axis=0)  # the runs' weights Z_m / sum Z
    np.testing.assert_allclose(e[0], (w_mi * np.stack([run.U_i for run in old])).sum(0), rtol=1e-12, atol=1e-15)


def test_free_energy_of_every_run_comes_from_the_normalisations(small, small_pa):
    """Each run's ln Z(beta) at every step, against the exact one, within a bound from the spread of the runs."""
    c, E = small
    T = small_pa.T_i[1:]
    exact_ln_Z = logsumexp(-E[None, :] / T[:, None], axis=1)
    ln_Z = np.stack([r.ln_Z_i[1:] for r in small_pa.runs])
    sd = ln_Z.std(0, ddof=1) / np.sqrt(len(ln_Z))
    assert np.all(np.abs(ln_Z.mean(0) - exact_ln_Z) <= 5 * sd + 1e-9)


def test_result_reports_schedule_families_and_equilibrium(small_pa):
    r = small_pa
    assert r.beta_i[0] == 0 and np.all(np.diff(r.beta_i) > 0) and r.beta_i[-1] == pytest.approx(1 / PA_KW["tmin"])
    assert r.rho_t_mi.shape == (PA_KW["runs"], len(r.beta_i)) and np.all(r.rho_t_mi >= 1)
    assert np.all(r.families_mi[:, 0] == PA_KW["population"])
    assert np.all(np.diff(r.families_mi, axis=1) <= 0)  # families only die out
    assert r.T_equilibrated <= PA_KW["tmax"]
    for k in ("population", "runs", "sweeps_per_step", "overlap", "T_equilibrated", "rho_t_at_tmin", "precision",
              "T_c"):
        assert k in r.header


@pytest.mark.parametrize("precision", ["split-bf16", "int8x3"])
def test_reduced_precision_fields_agree_with_enumeration(small, precision):
    c, E = small
    r = population_annealing(c, **{**PA_KW, "runs": 4}, precision=precision)
    cu = r.curve
    exact = _exact_thermo(E, np.zeros_like(E), c.n_spins, cu.T_t)
    z_crit = norm.isf(1e-3 / (2 * 2 * len(cu.T_t)))
    for name, x in zip(("U", "C"), exact[:2]):
        z = (getattr(cu, name + "_t") - x) / getattr(cu, name + "_err_t")
        assert np.all(np.abs(z) <= z_crit), (name, z)


def test_runs_with_other_schedules_are_not_combined(small):
    c, _ = small
    a = anneal_population(c, beta_max=1.0, population=16, sweeps=1, seed=0, overlap=0.5, precision="float32")
    b = anneal_population(c, beta_max=1.0, population=16, sweeps=1, seed=1, overlap=0.9, precision="float32")
    with pytest.raises(ValueError, match="share their schedule"):
        combine_runs([a, b], c.n_spins)


def test_fewer_sweeps_above_tmax_spend_them_where_asked_and_stay_exact(small, monkeypatch):
    """hot_sweeps: that many sweeps at each step above tmax, ``sweeps`` below (counted), the header says so, and
    U, C still agree with enumeration."""
    from ising_nn.canonical.chain import LayerChains

    c, E = small
    calls: list[float] = []
    real = LayerChains.half_sweep

    def counted(self, parity, beta, measure=True):
        calls.append(beta)
        return real(self, parity, beta, measure)

    monkeypatch.setattr(LayerChains, "half_sweep", counted)
    r = population_annealing(c, **{**PA_KW, "runs": 4, "sweeps": 3}, hot_sweeps=1, precision="float32")
    monkeypatch.undo()
    per_beta = {b: calls.count(b) // 2 for b in set(calls)}
    hot = [n for b, n in per_beta.items() if b < 1 / PA_KW["tmax"]]
    cold = [n for b, n in per_beta.items() if b >= 1 / PA_KW["tmax"]]
    # the pilot and 4 runs share the schedule: 5 visits per temperature
    assert hot and cold and set(hot) == {5 * 1} and set(cold) == {5 * 3}
    assert r.header["sweeps_above_tmax"] == 1 and r.header["sweeps_per_step"] == 3
    exact = _exact_thermo(E, np.zeros_like(E), c.n_spins, r.curve.T_t)
    z_crit = norm.isf(1e-3 / (2 * 2 * len(r.curve.T_t)))
    for name, x in zip(("U", "C"), exact[:2]):
        z = (getattr(r.curve, name + "_t") - x) / getattr(r.curve, name + "_err_t")
        assert np.all(np.abs(z) <= z_crit), (name, z)
    # hot_sweeps equal to sweeps is the plain run, bit for bit
    _same(population_annealing(c, **QUICK, hot_sweeps=QUICK["sweeps"]), population_annealing(c, **QUICK))


# ---------------------------------------------------------------------------------------------- reproducibility
QUICK = dict(tmin=0.5, tmax=5.0, population=32, runs=2, sweeps=1, overlap=0.6, seed=4, progress=False,
             precision="float32")


def _same(a, b):
    for f in ("T_t", "U_t", "U_err_t", "C_t", "C_err_t", "F_t", "F_err_t", "S_t", "S_err_t"):
        np.testing.assert_array_equal(getattr(a.curve, f), getattr(b.curve, f), err_msg=f)
    for ra, rb in zip(a.runs, b.runs):
        np.testing.assert_array_equal(ra.spins, rb.spins)
    how = ("seconds", "run_seconds", "threads_per_run")  # how it ran, not what it found
    assert {k: v for k, v in a.header.items() if k not in how} == {k: v for k, v in b.header.items()
                                                                    if k not in how}


def test_unmeasured_sweeps_change_nothing(small, monkeypatch):
    """Sweeps before a step's last take no sums (with int8x3, two digits' products and the third where needed):
    the result equals a run whose every sweep is measured, bit for bit."""
    from ising_nn.canonical.chain import LayerChains

    c, _ = small
    kw = {**QUICK, "sweeps": 3, "precision": "int8x3"}
    fast = population_annealing(c, **kw)
    real = LayerChains.half_sweep
    seen = []

    def always(self, parity, beta, measure=True):
        seen.append(measure)
        return real(self, parity, beta, True)

    monkeypatch.setattr(LayerChains, "half_sweep", always)
    slow = population_annealing(c, **kw)
    assert seen.count(False) == 2 * seen.count(True) > 0  # two of every three sweeps unmeasured
    _same(fast, slow)


def test_same_seed_same_result_other_seed_other_result(small):
    c, _ = small
    a = population_annealing(c, **QUICK)
    _same(a, population_annealing(c, **QUICK))
    assert not np.array_equal(population_annealing(c, **{**QUICK, "seed": 5}).curve.U_t, a.curve.U_t)


def test_runs_become_tasks_of_the_cluster_that_calls_them(small):
    """scheduler="worker" (the figures' sweep): called from a Dask task, the runs are tasks of the same cluster
    (the scheduler saw them), and the result is the one computed in this process."""
    from distributed import Client, LocalCluster

    c, _ = small
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster, set_as_default=False) as client:
        r = client.submit(population_annealing, c, **QUICK, scheduler="worker", pure=False).result()
        prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    assert any(p.startswith("population-annealing-run") for p in prefixes), prefixes
    _same(r, population_annealing(c, **QUICK))
    # the runs' own seconds (and the pilot's), not the caller's wall: to the header's 0.1 s
    assert float(r.header["run_seconds"]) >= sum(x.seconds for x in r.runs) - 0.05


def test_runs_on_a_local_cluster_or_a_given_scheduler_give_the_same_result(small):
    """scheduler="local" (``ising-nn thermo --method pa --scheduler local``) and a scheduler's address: the runs
    are tasks there, with no default Dask client in this process, and the result is the in-process one."""
    from distributed import Client, LocalCluster, default_client

    c, _ = small
    with pytest.raises(ValueError):
        default_client()  # none: the runs must not lean on one
    _same(population_annealing(c, **QUICK, scheduler="local"), population_annealing(c, **QUICK))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        _same(population_annealing(c, **QUICK, scheduler=cluster.scheduler_address),
              population_annealing(c, **QUICK))
        with Client(cluster, set_as_default=False) as client:
            prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    assert any(p.startswith("population-annealing-run") for p in prefixes), prefixes


def test_stopped_run_resumes_to_the_uninterrupted_result(small, tmp_path):
    c, _ = small
    full = population_annealing(c, **QUICK)
    ck = tmp_path / "ck"
    with pytest.raises(IsingNNError, match="time limit"):
        population_annealing(c, **QUICK, checkpoint=ck, time_limit=1e-9)
    with np.load(ck / "pilot.npz") as z:
        assert len(z["rec_beta"]) == 2 and json.loads(str(z["meta"]))["method"] == "population-annealing"
    rest = population_annealing(c, **QUICK, checkpoint=ck, resume=True)
    _same(rest, full)
    again = population_annealing(c, **QUICK, checkpoint=ck, resume=True)  # every run finished: read back
    _same(again, full)
    assert sorted(p.name for p in ck.iterdir()) == ["pilot.npz", "run0.npz", "run1.npz"]


def test_a_checkpoint_without_the_parities_resumes_on_their_mean(small, tmp_path):
    """A checkpoint written before the runs kept each parity's records: the run resumes to the same chain, and
    the result is combined from the parities' mean, which the header says."""
    c, _ = small
    full = population_annealing(c, **QUICK)
    ck = tmp_path / "ck"
    with pytest.raises(IsingNNError, match="time limit"):
        population_annealing(c, **QUICK, checkpoint=ck, time_limit=1e-9)
    population_annealing(c, **QUICK, checkpoint=ck, resume=True)
    for path in ck.glob("run*.npz"):  # drop the parities' records, as an older version wrote them
        with np.load(path) as z:
            kept = {k: z[k] for k in z.files if k not in ("rec_U_even", "rec_U_odd", "rec_var_E_even",
                                                          "rec_var_E_odd")}
        np.savez(path, **kept)
    old = population_annealing(c, **QUICK, checkpoint=ck, resume=True)
    assert old.header["marginal_weight_odd"].startswith("0.5 (the parities' mean")
    assert full.header["marginal_weight_odd"] != old.header["marginal_weight_odd"]
    for ro, rf in zip(old.runs, full.runs, strict=True):
        np.testing.assert_array_equal(ro.spins, rf.spins)
        np.testing.assert_array_equal(ro.U_i, rf.U_i)
        assert np.isnan(ro.U_pi).all()


def test_damaged_or_foreign_checkpoints_are_refused_in_one_line(small, tmp_path):
    c, _ = small
    ck = tmp_path / "ck"
    population_annealing(c, **QUICK, checkpoint=ck)
    data = (ck / "run1.npz").read_bytes()
    (ck / "run1.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(IsingNNError, match=r"run1\.npz' is unreadable .*remove"):
        population_annealing(c, **QUICK, checkpoint=ck, resume=True)
    (ck / "run1.npz").write_bytes(b"garbage")
    with pytest.raises(IsingNNError, match="unreadable"):
        population_annealing(c, **QUICK, checkpoint=ck, resume=True)
    (ck / "run1.npz").unlink()
    with pytest.raises(IsingNNError, match="other inputs .*population"):
        population_annealing(c, **{**QUICK, "population": 40}, checkpoint=ck, resume=True)
    np.savez(ck / "pilot.npz", meta=json.dumps({"method": "replica-exchange", "params": {}}))
    with pytest.raises(IsingNNError, match="not a population-annealing checkpoint"):
        population_annealing(c, **QUICK, checkpoint=ck, resume=True)


def test_a_changed_fixed_point_scheme_is_another_hamiltonian(small, tmp_path, monkeypatch):
    """int8x3 results name their rounding of the couplings (header and checkpoint), so neither a cache nor a
    checkpoint written under another scheme is taken for this one; float32 results carry no such field."""
    from ising_nn.canonical import chain
    from ising_nn.kernels.fixed import FIXED_POINT

    c, _ = small
    kw = {**QUICK, "precision": "int8x3"}
    assert population_annealing(c, **kw).header["fixed_point"] == FIXED_POINT
    assert "fixed_point" not in population_annealing(c, **QUICK).header
    ck = tmp_path / "ck"
    monkeypatch.setattr(chain, "FIXED_POINT", "three int8 digits, one step for every matrix")
    with pytest.raises(IsingNNError, match="time limit"):
        population_annealing(c, **kw, checkpoint=ck, time_limit=1e-9)
    monkeypatch.undo()
    with pytest.raises(IsingNNError, match="other inputs .*fixed_point"):
        population_annealing(c, **kw, checkpoint=ck, resume=True)


@pytest.mark.parametrize("bad, match", [
    ({"population": 4}, "population"), ({"runs": 1}, "runs"), ({"overlap": 1.5}, "overlap"),
    ({"sweeps": 0}, "sweeps"), ({"hot_sweeps": 0}, "hot_sweeps"), ({"tmin": 6.0}, "tmin must be below tmax"),
    ({"precision": "fp8"}, "precision"),
])
def test_bad_inputs_get_one_line(small, bad, match):
    with pytest.raises(IsingNNError, match=match):
        population_annealing(small[0], **{**QUICK, **bad})
