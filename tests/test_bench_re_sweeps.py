"""``bench.bench_re_sweeps`` end to end on a tiny BERT: the longer run starts from the figures' cold start, the
report has a row per run with the cross-check, and a rerun reads everything back without sampling."""

import dataclasses

from ising_nn.paper.budget import SMOKE_BUDGET


def _tiny_bert(folder):
    import torch
    import transformers

    torch.manual_seed(0)
    cfg = transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                  vocab_size=100)
    transformers.BertModel(cfg).save_pretrained(folder)
    return str(folder)


def test_report_longer_run_and_a_rerun_from_the_finished_stages(tmp_path, monkeypatch):
    import bench.bench_re_sweeps as br
    from ising_nn.paper.thermo import CachedThermo

    model = _tiny_bert(tmp_path / "bert")
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
