"""The summary of ``make bench-runs`` (runs of consecutive spins against random spins), on made-up trials."""

from types import SimpleNamespace

import numpy as np
import pytest

from bench.bench_runs import NETWORKS, RUN_LENGTH, Trial, main, summarise


def _trial(seed, run, sweeps, error, low):
    return Trial(next(iter(NETWORKS)), seed, run, sweeps, 0.5, error, 4 * error, low, 0)


def test_summary_pairs_the_seeds_and_takes_the_geometric_mean():
    errs = [0.02, 0.04, 0.01]
    ts = [_trial(s, 1, 1e6, e, 0.1 * s) for s, e in enumerate(errs)]
    # runs: 2.25x the sweeps, errors a quarter, then half, then one -> geometric mean 1/2
    ts += [_trial(s, RUN_LENGTH, 2.25e6, e * f, -0.1) for s, (e, f) in enumerate(zip(errs, (0.25, 0.5, 1.0)))]
    row = summarise(ts)[2].split(" | ")
    assert row[1:3] == ["3", "2.25x"]
    assert row[3] == "0.67x"  # what 2.25x the sweeps alone would give: 1 / sqrt(2.25)
    assert row[4] == "0.0200 / 0.0100"  # medians
    assert row[5].startswith("0.50x (")  # exp(mean(log 1/4, log 1/2, log 1))
    assert row[7] == "+0.1000 +- 0.0577 / -0.1000 +- 0.0000"


@pytest.mark.parametrize("argv", [["--seeds", "1"], ["--seconds", "0"], ["--first-seed", "-1"],
                                  ["--network", "width9"]])
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2


def test_trials_take_the_seeds_and_network_asked_for(monkeypatch):
    import bench.bench_runs as br

    seen = []

    def fake_wl(c, *, bin_width, seed, time_limit, progress, run_length):
        seen.append((c.n_spins, seed, run_length))
        return SimpleNamespace(header={"sweeps": "10", "acceptance": "0.5"})

    monkeypatch.setattr(br, "wang_landau", fake_wl)
    monkeypatch.setattr(br, "errors", lambda exact, d, spacing: (np.full(5, 0.01), 0))
    ts = br.trials(1.0, 2, first_seed=7, networks=[br.SHORT["rank1"]])
    assert seen == [(96, 7, 1), (96, 7, RUN_LENGTH), (96, 8, 1), (96, 8, RUN_LENGTH)]
    assert [t.seed for t in ts] == [7, 7, 8, 8]
