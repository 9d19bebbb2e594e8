"""ising-nn: Ising models of deep neural networks (arXiv:2209.08678).

Neurons are spins, weights are couplings, layer after layer; the package builds the couplings of a
network, samples its density of states and ground states, and computes its thermodynamics.
"""

from ising_nn._version import __version__
from ising_nn.errors import IsingNNError
from ising_nn.model.couplings import Couplings, Provenance, WeightStats
from ising_nn.model.files import load_authors_folder, load_npz, save_authors_folder, save_npz
from ising_nn.model.load import describe, load_couplings
from ising_nn.model.transforms import first_blocks, shuffle
from ising_nn.quench.search import QuenchResult, mirror, quench
from ising_nn.results.dos import DOS, read_dos, write_dos
from ising_nn.results.spins import load_spins, save_spins
from ising_nn.thermo.agreement import Agreement, agreement
from ising_nn.wanglandau.run import wang_landau

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
    "population_annealing",
    "PopulationResult",
    "agreement",
    "Agreement",
    "analyze",
    "save_spins",
    "load_spins",
    "first_blocks",
    "shuffle",
]


def __getattr__(name):
    # the canonical engine imports torch and pymbar (seconds): only when it is asked for
    if name in ("canonical_thermo", "CanonicalResult", "population_annealing", "PopulationResult"):
        from ising_nn import canonical

        return getattr(canonical, name)
    if name == "analyze":  # pandas and Dask: only when asked for
        from ising_nn.paper.analyze import analyze

        return analyze
    raise AttributeError(f"module 'ising_nn' has no attribute {name!r}")
