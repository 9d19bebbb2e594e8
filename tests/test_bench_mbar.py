"""bench_mbar's stand-in for the engine's old solver: pymbar on the dense u_kn that the blocks stand for gives
the windowed solver's free energies (so the bench times one estimator solved two ways)."""

from __future__ import annotations

import numpy as np
from test_banded import F_RTOL, _windowed

from bench.bench_mbar import pymbar_solve
from ising_nn.canonical import banded


def test_pymbar_on_the_dense_matrix_gives_the_windowed_solution():
    u_kn, N_k = _windowed(window=2, seed=5)
    blocks = banded.blocks_from_dense(u_kn, N_k)
    ref = pymbar_solve(blocks, N_k)
    np.testing.assert_allclose(banded.solve(blocks, N_k), ref, rtol=F_RTOL, atol=F_RTOL * np.abs(ref).max())
