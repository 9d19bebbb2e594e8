"""A tiny 2-block network saved as ``.npz``: the model the pipeline, sweep and report tests run end to end."""

from __future__ import annotations

import itertools

import numpy as np

from ising_nn.model.couplings import Couplings, Provenance
from ising_nn.model.files import save_npz
from ising_nn.paper import Budget

SIZES = (4, 4, 4, 8, 4, 4, 4, 8, 4)  # 44 spins, 4 matrices per block
#: Budgets small enough for the tiny network's end-to-end tests (seconds).
TINY_BUDGET = Budget(wl_sweeps=50.0, wl_sweeps_blocks=50.0, bins=40, quench_method="anneal", quench_restarts=4,
                     blocks=None, seeds=(0,), canonical_sweeps=80, canonical_tmin=0.8, canonical_tmax=20.0,
                     canonical_bins=80)


def save_tiny(folder, name: str, seed: int) -> str:
    rng = np.random.default_rng(seed)
    mats = [rng.normal(size=(a, b)).astype(np.float32) for a, b in itertools.pairwise(SIZES)]
    c = Couplings.from_matrices(mats, Provenance(model=name, family="matrices", matrices_per_block=4, blocks=2))
    return str(save_npz(c, folder / f"{name}.npz"))
