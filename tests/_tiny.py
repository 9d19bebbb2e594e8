"""A tiny 2-block network saved as ``.npz``: the model the pipeline, sweep and report tests run end to end."""

from __future__ import annotations

import itertools

import numpy as np

from ising_nn.model.couplings import Couplings, Provenance
from ising_nn.model.files import save_npz

SIZES = (4, 4, 4, 8, 4, 4, 4, 8, 4)  # 44 spins, 4 matrices per block


def save_tiny(folder, name: str, seed: int) -> str:
    rng = np.random.default_rng(seed)
    mats = [rng.normal(size=(a, b)).astype(np.float32) for a, b in itertools.pairwise(SIZES)]
    c = Couplings.from_matrices(mats, Provenance(model=name, family="matrices", matrices_per_block=4, blocks=2))
    return str(save_npz(c, folder / f"{name}.npz"))
