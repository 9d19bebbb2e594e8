"""Canonical (fixed-temperature) thermodynamics of a layered Ising model.

Owns the layer-block heat bath (torch, any device), replica exchange over an adaptive temperature ladder,
Rao-Blackwellised per-temperature estimators with blocking errors, the hot/cold equilibration test, MBAR
(pymbar) for U, C, F, S on a fine temperature grid, the ``THERMO.dat`` file format, and the density of
states joined from MBAR and Wang-Landau.
"""

from ising_nn.canonical.chain import LayerChains
from ising_nn.canonical.engine import CanonicalResult, RungStats, canonical_thermo
from ising_nn.canonical.hybrid import hybrid_dos
from ising_nn.canonical.ladder import place_ladder
from ising_nn.canonical.mbar import MBARSamples, ThermoCurve, mbar_curve
from ising_nn.results.thermo import read_thermo, write_thermo

__all__ = [
    "LayerChains",
    "canonical_thermo",
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
