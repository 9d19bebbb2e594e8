"""Cached population annealing (ising_nn.paper.population) on the tiny network: the files it writes, their
curve recomputed from the runs' records, a second call that reads instead of sampling, the quarter-population
check, and the sweep's tasks for it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _tiny import TINY_BUDGET, save_tiny

from ising_nn.paper import population as pop
from ising_nn.paper.criticality import certify
from ising_nn.paper.paths import population_path
from ising_nn.paper.sweep import Task, model_tasks

B = dataclasses.replace(TINY_BUDGET, pa_population=32, pa_runs=3, pa_sweeps=2, pa_tmin_trained=2.0,
                        pa_tmin_shuffled=1.5)


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    root = tmp_path_factory.mktemp("pa")
    model = save_tiny(root, "papop", seed=3)
    out = root / "dos"
    full = pop.cached_population(model, b=B, out_dir=out, verbose=False)
    check = pop.cached_population(model, b=B, check=True, out_dir=out, verbose=False)
    return model, out, full, check


def test_files_and_their_curve(cached):
    model, out, full, check = cached
    assert full.path == population_path(model, out_dir=out) and full.path.name == "trained_pa.dat"
    assert check.path.name == "trained_pa_check.dat" and full.path.with_suffix(".npz").is_file()
    assert full.population == 32 and check.population == 8 and full.runs == check.runs == 3
    assert full.header["input.sampler"] == "population annealing" and full.header["input.population"] == "32"
    tmin, tmax = pop.pa_range(B, pop.coupling_scale(model), 0.0)
    assert float(full.header["tmin"]) == tmin and tmin == pytest.approx(2.0 * pop.coupling_scale(model) / 1.5714,
                                                                        rel=1e-3)
    est, err, *_ = full.combined()
    T_i = 1.0 / full.beta_i[1:]
    inside = (T_i >= tmin * (1 - 1e-12)) & (T_i <= tmax * (1 + 1e-12))
    # the file's columns are the combined records at the schedule's temperatures (to the file's 7 digits)
    assert np.allclose(full.curve.T_t, np.sort(T_i[inside]), rtol=1e-6)
    assert np.allclose(full.curve.U_t, est[0, 1:][inside][::-1], rtol=1e-6, atol=1e-12)
    assert np.allclose(full.curve.C_err_t, err[1, 1:][inside][::-1], rtol=1e-6, atol=1e-12)
    assert not any((out / ".checkpoints").glob("*pa*"))  # a finished result leaves no checkpoint
    c = certify(full, check)
    assert c.T_t.size == full.curve.T_t.size and np.isfinite(c.z_check_t).any()


def test_second_call_reads(cached, monkeypatch):
    model, out, full, _ = cached

    def boom(*a, **k):
        raise AssertionError("sampled again")

    monkeypatch.setattr("ising_nn.canonical.population_annealing", boom)
    again = pop.cached_population(model, b=B, out_dir=out, verbose=False)
    assert np.array_equal(again.U_mi, full.U_mi) and again.header == full.header


def test_sweep_has_the_population_tasks(cached):
    model = cached[0]
    kinds = {(t.kind, t.shuffle) for t in model_tasks(model, B)}
    assert {("population", 0.0), ("population", 1.0), ("population-check", 0.0)} <= kinds
    assert not any(t.kind.startswith("population") for t in model_tasks(model, TINY_BUDGET))
    assert Task("population", model).label.startswith("population")


def test_sweep_on_two_workers_writes_the_same_runs(cached, tmp_path):
    """In the figures' sweep a result's runs are tasks of their own (``scheduler="worker"``): on two workers
    the records are the ones computed in one process, bit for bit."""
    from ising_nn.paper.sweep import run_sweep

    model, _, full, check = cached
    report = run_sweep([Task("population", model), Task("population-check", model)], B, out_dir=tmp_path,
                       workers=2, progress=False)
    assert report.ok, report.failed
    for ref, chk in ((full, False), (check, True)):
        got = pop.CachedPopulation.read(population_path(model, check=chk, out_dir=tmp_path))
        for k in ("beta_i", "ln_Z_mi", "U_mi", "var_E_mi", "rho_t_mi", "rho_s_mi", "families_mi"):
            np.testing.assert_array_equal(getattr(got, k), getattr(ref, k), err_msg=k)
