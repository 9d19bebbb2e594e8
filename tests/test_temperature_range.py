"""The canonical engine's range follows the couplings: couplings lambda J at lambda T have the thermodynamics of
J at T, so a budget's temperatures are in units of sqrt(sum J^2 / N) relative to MiniLM's."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _tiny import TINY_BUDGET, save_tiny

from ising_nn.model.files import save_npz
from ising_nn.model.load import load_couplings
from ising_nn.paper import budget, cached_thermo
from ising_nn.paper.budget import REFERENCE_SCALE, temperature_range
from ising_nn.paper.thermo import coupling_scale

BUDGET = TINY_BUDGET


def test_minilm_runs_the_budgets_range_itself():
    s = coupling_scale("minilm")
    assert s == pytest.approx(REFERENCE_SCALE, abs=5e-5)
    assert temperature_range(budget(), s) == (1.0, 10.0)
    assert temperature_range(budget(smoke=True), s) == (8.0, 40.0)


def test_sum_j2_is_the_float64_sum_of_squares():
    c = load_couplings("minilm")
    assert c.sum_J2 == pytest.approx(float(np.dot(c.buffer.astype(np.float64), c.buffer)), rel=1e-12)


def test_couplings_three_times_larger_run_three_times_hotter(tmp_path):
    """The range scales with the couplings, and cached_thermo runs it (header inputs are the temperatures run)."""
    path = save_tiny(tmp_path, "tiny", seed=3)
    c = load_couplings(path)
    path3 = str(save_npz(c.replace(buffer=3 * c.buffer, model="tiny3"), tmp_path / "tiny3.npz"))
    s, s3 = coupling_scale(path), coupling_scale(path3)
    assert s == pytest.approx(math.sqrt(c.sum_J2 / c.n_spins), rel=1e-12) and s3 == pytest.approx(3 * s, rel=1e-6)
    lo, hi = temperature_range(BUDGET, s)
    lo3, hi3 = temperature_range(BUDGET, s3)
    assert lo == pytest.approx(0.8 * s / REFERENCE_SCALE, rel=1e-3) and hi / lo == pytest.approx(25, rel=1e-3)
    assert lo3 == pytest.approx(3 * lo, rel=1e-3) and hi3 == pytest.approx(3 * hi, rel=1e-3)
    th = cached_thermo(path3, b=BUDGET, out_dir=tmp_path / "dos", verbose=False)
    assert (float(th.header["input.tmin"]), float(th.header["input.tmax"])) == (lo3, hi3)
    assert th.curve.T_t[-1] == pytest.approx(hi3, rel=1e-9)

