"""Reruns are reproducible to the byte: the figure data recomputed from scratch with the same inputs (and
with another number of threads, as on another machine) are the same file, because every sampler budget
counts work (sweeps, restarts), never seconds."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import torch
from _tiny import save_tiny

from ising_nn.paper import Budget, series
from ising_nn.results.heat import heat_table, write_heat_table

BUDGET = Budget(wl_sweeps=200.0, wl_sweeps_blocks=200.0, bins=60, quench_method="layer", quench_restarts=None,
                blocks=(1,), seeds=(0,), canonical_sweeps=80, canonical_tmin=0.8, canonical_tmax=20.0,
                canonical_bins=120)


@pytest.fixture
def model(tmp_path):
    return save_tiny(tmp_path, "repro", seed=5)


def _figure_data(model, root, threads):
    was_nb, was_torch = numba.get_num_threads(), torch.get_num_threads()
    numba.set_num_threads(threads)
    torch.set_num_threads(threads)
    try:
        r = series.model_results(model, BUDGET, out_dir=root / "dos", verbose=False)
        h = series.heat_results(r, series.dos_replicas(model, BUDGET, out_dir=root / "dos", verbose=False))
        blocks = series.blocks_series(model, BUDGET, full=r, out_dir=root / "dos", verbose=False)
    finally:
        numba.set_num_threads(was_nb)
        torch.set_num_threads(was_torch)
    heat = write_heat_table(heat_table(h), root / "heat.csv")
    return heat.read_bytes(), blocks, r


def test_figure_data_recomputed_from_scratch_are_byte_identical(model, tmp_path):
    a, blocks_a, ra = _figure_data(model, tmp_path / "a", threads=2)
    b, blocks_b, rb = _figure_data(model, tmp_path / "b", threads=1)
    assert len(a) > 1000 and a == b
    np.testing.assert_array_equal(ra.trained.ln_g_k, rb.trained.ln_g_k)
    np.testing.assert_array_equal(ra.shuffled.ln_g_k, rb.shuffled.ln_g_k)
    assert blocks_a.frame().to_csv(float_format="%.10g") == blocks_b.frame().to_csv(float_format="%.10g")
    # the headers say what was run, in units of work
    h = ra.trained.header
    assert h["input.sweeps"] == "200" and h["stop_reason"] != "time limit"
    assert ra.quench_trained.header["input.restarts"] == "None"
