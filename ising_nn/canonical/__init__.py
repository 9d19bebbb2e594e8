"""Canonical (fixed-temperature) thermodynamics of a layered Ising model, by two methods over shared parts.

Shared: the layer-block heat bath (``chain``: torch products, a fused numba pass on the CPU), Rao-Blackwellised
estimators (``estimators``), input checks and checkpoints (``common``), MBAR (``mbar``; its equations solved on
each rung's window of states by ``banded``, pymbar's protocol, pymbar itself the tests' reference).
Replica exchange (``tempering``, ``ladder``, ``exchange``, ``rungs``): a ladder from a hot and a cold start, the
hot/cold equilibration test (``rungs``), MBAR on the exact marginals of either half of the layers, weighted,
for U, C, F, S (``rbmbar``), and the density of states joined from MBAR on raw energies and Wang-Landau (``hybrid``).
Population annealing (``population``: one run, resampling, families; ``annealing``: the schedule, runs on Dask,
their weighted average).
"""

from ising_nn.canonical.annealing import PopulationResult, population_annealing
from ising_nn.canonical.chain import LayerChains
from ising_nn.canonical.hybrid import hybrid_dos
from ising_nn.canonical.ladder import place_ladder
from ising_nn.canonical.mbar import MBARSamples, ThermoCurve, mbar_curve
from ising_nn.canonical.rungs import RungStats
from ising_nn.canonical.tempering import CanonicalResult, canonical_thermo
from ising_nn.results.thermo import read_thermo, write_thermo

__all__ = [
    "LayerChains",
    "canonical_thermo",
    "population_annealing",
    "PopulationResult",
    "CanonicalResult",
    "RungStats",
    "place_ladder",
    "ThermoCurve",
    "MBARSamples",
    "hybrid_dos",
    "mbar_curve",
    "write_thermo",
    "read_thermo",
]
