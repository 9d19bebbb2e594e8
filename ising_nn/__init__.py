"""ising-nn: Ising models of deep neural networks (arXiv:2209.08678).

Neurons are spins, weights are couplings, layer after layer; the package builds the couplings of a
network, samples its density of states and ground states, and computes its thermodynamics.
"""

from ._version import __version__
from .couplings import Couplings, Provenance, WeightStats
from .dosfile import DOS, read_dos, write_dos
from .errors import IsingNNError
from .io import load_authors_folder, load_npz, save_authors_folder, save_npz
from .load import describe, load_couplings
from .quench import QuenchResult, mirror, quench
from .spinsfile import load_spins, save_spins
from .transforms import first_blocks, shuffle
from .wanglandau import wang_landau

__all__ = [
    "__version__",
    "Couplings",
    "Provenance",
    "WeightStats",
    "IsingNNError",
    "load_couplings",
    "describe",
    "load_npz",
    "save_npz",
    "load_authors_folder",
    "save_authors_folder",
    "DOS",
    "read_dos",
    "write_dos",
    "quench",
    "QuenchResult",
    "mirror",
    "wang_landau",
    "canonical_thermo",
    "CanonicalResult",
    "save_spins",
    "load_spins",
    "first_blocks",
    "shuffle",
]


def __getattr__(name):
    # the canonical engine imports torch and pymbar (seconds): only when it is asked for
    if name in ("canonical_thermo", "CanonicalResult"):
        from . import canonical

        return getattr(canonical, name)
    raise AttributeError(f"module 'ising_nn' has no attribute {name!r}")
