"""``bench.bench_crosscheck`` end to end on a tiny BERT: the report, and a rerun that reads the finished stages
back from ``--work`` instead of sampling again, with the whole-network shuffle's section."""

import re

import pytest
from _hf_models import tiny_bert


@pytest.fixture
def tiny(monkeypatch):
    import bench.bench_crosscheck as bc

    monkeypatch.setattr(bc, "untuned_bert", tiny_bert)
    return bc


def test_report_and_a_rerun_from_the_finished_stages(tiny, tmp_path, monkeypatch):
    work, out = tmp_path / "work", tmp_path / "out.md"
    tiny.main(str(out), None, 32, 2, 80, str(work), shuffled=True)
    first = out.read_text()
    assert sorted(p.name for p in work.glob("*.pkl")) == ["pa_32.pkl", "pa_8.pkl", "pt.pkl", "pt_shuffled.pkl"]
    assert "352 spins" in first and "C(T)'s maximum." in first and "core-hours" in first
    assert "## Against its whole-network shuffle" in first and "- shuffled across the network: scale spread" in first
    assert re.search(r"\| T \| PA_U \|", first)

    def no_sampling(*a, **k):
        raise AssertionError("a finished stage was sampled again")

    monkeypatch.setattr("ising_nn.canonical_thermo", no_sampling)
    monkeypatch.setattr("ising_nn.population_annealing", no_sampling)
    tiny.main(str(out), None, 32, 2, 80, str(work), shuffled=True)
    assert out.read_text() == first  # the stages' own seconds, not the rerun's, are reported
