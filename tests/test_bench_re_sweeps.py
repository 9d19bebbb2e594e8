"""``bench.bench_re_sweeps`` end to end on a tiny BERT, shuffled and trained: the longer run starts from the
figures' cold start, the report has a row per run with the cross-check, and a rerun reads everything back without
sampling."""

import dataclasses

from _hf_models import tiny_bert

from ising_nn.paper.budget import SMOKE_BUDGET


def test_report_longer_run_and_a_rerun_from_the_finished_stages(tmp_path, monkeypatch):
    import bench.bench_re_sweeps as br
    from ising_nn.paper.thermo import CachedThermo

    model = str(tiny_bert(tmp_path / "bert"))
    b = dataclasses.replace(SMOKE_BUDGET, canonical_sweeps=80)
    work, out, dos = tmp_path / "work", tmp_path / "out.md", tmp_path / "dos"
    kw = dict(model=model, out=str(out), sweeps=(160,), population=32, runs=2, tmin=1.5, work=str(work), b=b,
              dos_dir=dos)
    br.main(**kw)
    first = out.read_text()
    rows = [l for l in first.splitlines() if l.startswith("| 80 |") or l.startswith("| 160 |")]
    assert len(rows) == 2 + 2 * len(br.TEMPS)  # the summary's two rows and the ladders' table
    assert "methods_agree" in first and "max_z_U" in first and "PA_U" in first

    (fig,) = (dos / "bert" / "thermo").glob("shuffled.dat")
    (longer,) = (work / "dos160" / "bert" / "thermo").glob("shuffled.dat")
    h_fig, h_long = CachedThermo.read(fig).header, CachedThermo.read(longer).header
    assert (h_fig["sweeps"], h_long["sweeps"]) == ("80", "160")
    assert h_long["cold_start_energy_per_spin"] == h_fig["cold_start_energy_per_spin"]

    def no_sampling(*a, **k):
        raise AssertionError("a finished stage was sampled again")

    monkeypatch.setattr("ising_nn.canonical.canonical_thermo", no_sampling)
    monkeypatch.setattr("ising_nn.population_annealing", no_sampling)
    br.main(**kw)
    assert out.read_text().split("\n", 3)[3] == first.split("\n", 3)[3]  # all but the date line's timing


def test_trained_network_runs_longer_against_the_figures_own_population_annealing(tmp_path, monkeypatch):
    import bench.bench_re_sweeps as br
    from ising_nn.paper.thermo import CachedThermo

    model = str(tiny_bert(tmp_path / "bert"))
    b = dataclasses.replace(SMOKE_BUDGET, canonical_sweeps=80)
    work, out, dos = tmp_path / "work", tmp_path / "out.md", tmp_path / "dos"
    kw = dict(model=model, network="trained", out=str(out), sweeps=(160,), work=str(work), b=b, dos_dir=dos)
    br.main(**kw)
    first = out.read_text()
    temps = br.NETWORKS["trained"][1]
    rows = [l for l in first.splitlines() if l.startswith("| 80 |") or l.startswith("| 160 |")]
    assert len(rows) == 2 + 2 * len(temps)
    assert first.startswith("# Longer replica exchange on whole-network trained")
    assert "the figures' own (`dos/`)" in first and "methods_agree" in first and "PA_U" in first

    thermo = dos / "bert" / "thermo"
    h_fig = CachedThermo.read(thermo / "trained.dat").header
    h_long = CachedThermo.read(work / "dos160" / "bert" / "thermo" / "trained.dat").header
    assert (h_fig["sweeps"], h_long["sweeps"]) == ("80", "160")
    assert h_long["cold_start_energy_per_spin"] == h_fig["cold_start_energy_per_spin"]
    # the population annealing compared is the figures' own, not a new run in the work folder
    assert (thermo / "trained_pa.dat").exists() and not list(work.glob("pa_*"))
    assert not (work / "dos160" / "bert" / "thermo" / "shuffled.dat").exists()

    def no_sampling(*a, **k):
        raise AssertionError("a finished stage was sampled again")

    monkeypatch.setattr("ising_nn.canonical.canonical_thermo", no_sampling)
    monkeypatch.setattr("ising_nn.population_annealing", no_sampling)
    br.main(**kw)
    assert out.read_text().split("\n", 3)[3] == first.split("\n", 3)[3]


def test_ladders_against_population_annealing_sides_with_the_ladder_that_agrees():
    """A cold ladder equal to population annealing within its errors agrees down to its lowest rung; a hot ladder
    40 errors above it below T = 4 parts there; the stretch ends at the first parting from the hottest down."""
    from types import SimpleNamespace

    import numpy as np

    from bench.bench_re_sweeps import ladders_against

    rng = np.random.default_rng(0)
    T_t = np.linspace(3.0, 10.0, 200)
    U, C, err = -T_t / 5, 0.3 + 0 * T_t, np.full_like(T_t, 1e-3)
    own = SimpleNamespace(T_t=T_t, U_t=U, U_err_t=err, C_t=C, C_err_t=err, runs=8)
    T_k = np.concatenate([[np.inf], np.geomspace(10.0, 1.0, 120)])  # hottest first, beta = 0 included
    on = lambda y: np.interp(T_k, T_t, y)  # noqa: E731
    cold_U = on(U) + rng.normal(0, 1e-3, T_k.size)
    hot_U = cold_U + np.where(T_k < 4.0, 0.04, 0.0)
    e = np.full(T_k.size, 1e-3)
    pt = SimpleNamespace(T_k=T_k, U_lk=np.stack([hot_U, cold_U]), U_err_lk=np.stack([e, e]),
                         C_lk=np.stack([on(C), on(C)]), C_err_lk=np.stack([e, e]))
    out = ladders_against(pt, own)
    inside = T_k[(T_k >= 3.0) & (T_k <= 10.0)]
    assert out["cold"][0] == inside.min() and out["cold"][1] < 6
    assert out["hot"][0] == inside[inside >= 4.0].min() and out["hot"][1] > 20
