"""``bench.bench_shuffle_seeds``: the ensemble statistics on synthetic shuffles with known answers, and the bench end
to end on a tiny BERT (each shuffle's run starts from the figures' ground-state search of that shuffle; a rerun
samples nothing)."""

import dataclasses
import math

import numpy as np
import pytest
from _hf_models import tiny_bert
from scipy import stats

from ising_nn.paper.budget import SMOKE_BUDGET


def test_identical_shuffles_have_no_spread_and_the_trained_mean_tests_to_one_half():
    from bench.bench_shuffle_seeds import ensemble

    e = ensemble([2.0, 2.0, 2.0], [0.1, 0.1, 0.1], 2.0, 0.05, 7)
    assert e["Q"] == 0 and e["tau"] == 0 and e["p_Q"] == 1 and e["max_pair_z"] == 0
    assert e["t"] == 0 and e["p"] == pytest.approx(0.5)
    # no spread among the shuffles: the error is the trained one alone, on its own dof
    assert e["delta_err"] == pytest.approx(0.05) and e["dof"] == pytest.approx(7)
    exact = ensemble([2.0, 2.0], [0.1, 0.1], 2.5, 0.1, math.inf)  # no dof anywhere: the normal distribution
    assert exact["dof"] == math.inf and exact["p"] == pytest.approx(stats.norm.sf(5.0))


def test_scatter_beyond_the_errors_is_found_and_counted_against_the_claim():
    from bench.bench_shuffle_seeds import ensemble

    rng = np.random.default_rng(0)
    tau, err = 0.3, 0.02
    T = 2.0 + tau * rng.standard_normal(8) + err * rng.standard_normal(8)
    e = ensemble(T, np.full(8, err), 2.9, 0.02, 7)
    assert e["p_Q"] < 1e-6
    assert 0.5 * tau < e["tau"] < 2 * tau  # DerSimonian-Laird, 8 draws
    assert e["sd"] == pytest.approx(T.std(ddof=1))
    # the sample sd sets the error: far weaker than the shuffles' own errors would say
    assert e["delta_err"] == pytest.approx(math.hypot(0.02, T.std(ddof=1) / math.sqrt(8)))
    assert e["delta_err"] > 3 * math.hypot(0.02, err / math.sqrt(8))
    assert e["t_new"] < e["t"] and e["p_new"] > e["p"]
    # Welch-Satterthwaite between the trained jackknife (7) and the shuffles' K - 1 (7)
    assert 7 <= e["dof"] <= 14


def test_chance_scatter_is_calibrated():
    # shuffles that agree within their errors: Cochran's p is uniform, so p < 0.01 about 1 % of the time
    from bench.bench_shuffle_seeds import ensemble

    rng = np.random.default_rng(1)
    err = rng.uniform(0.05, 0.2, 4)
    p = np.array([ensemble(2.0 + err * rng.standard_normal(4), err, 3.0, 0.05, 7)["p_Q"] for _ in range(2000)])
    assert stats.kstest(p, "uniform").pvalue > 1e-3
    with pytest.raises(ValueError):
        ensemble([2.0], [0.1], 3.0, 0.05, 7)
    with pytest.raises(ValueError):
        ensemble([2.0, np.nan], [0.1, 0.1], 3.0, 0.05, 7)


def test_report_per_shuffle_from_the_figures_cold_start_and_a_rerun_without_sampling(tmp_path, monkeypatch):
    import bench.bench_shuffle_seeds as bs
    from ising_nn.paper.cache import cached_quench
    from ising_nn.paper.thermo import CachedThermo

    model = str(tiny_bert(tmp_path / "bert"))
    b = dataclasses.replace(SMOKE_BUDGET, canonical_sweeps=80)
    work, out, dos = tmp_path / "work", tmp_path / "out.md", tmp_path / "dos"
    # the figures' ground-state search of shuffle 1 (make figures caches it for the width figure's seeds)
    q1 = cached_quench(model, shuffle=1.0, seed=1, method=b.quench_method, restarts=b.quench_restarts, out_dir=dos,
                       verbose=False)
    kw = dict(model=model, seeds=(1, 2), sweeps=80, out=str(out), work=str(work), b=b, dos_dir=dos)
    bs.main(**kw)
    first = out.read_text()
    table = first.split("\n## ")[0]
    rows = [line for line in table.splitlines() if line.split("|")[1:2] in ([" 0 "], [" 1 "], [" 2 "])]
    assert len(rows) == 3
    # U and C across the shuffles at the temperatures of MiniLM's units, scaled to this network's couplings
    across = first.split("## U and C across the shuffles")[1]
    assert 2 <= across.count("\n| ") <= 1 + len(bs.TEMPS) and "nan" not in across  # its header and rows
    assert "max_z_U_vs_0" in first and "agree_with_0" in first

    thermo = work / "dos80" / "bert" / "thermo"
    h1, h2 = (CachedThermo.read(thermo / f"shuffled_seed{s}.dat").header for s in (1, 2))
    assert (h1["shuffle_seed"], h2["shuffle_seed"]) == ("1", "2")
    assert float(h1["cold_start_energy_per_spin"]) == pytest.approx(q1.energy_per_spin, abs=1e-6)
    assert (dos / "bert" / "thermo" / "shuffled.dat").exists()  # seed 0 is the figures' own run
    assert not (thermo / "shuffled.dat").exists()

    def no_sampling(*a, **k):
        raise AssertionError("a finished run was sampled again")

    monkeypatch.setattr("ising_nn.canonical.canonical_thermo", no_sampling)
    monkeypatch.setattr("ising_nn.population_annealing", no_sampling)
    bs.main(**kw)
    assert out.read_text().split("\n", 3)[3] == first.split("\n", 3)[3]  # all but the date line's timing
