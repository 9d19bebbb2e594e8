"""Ground states: the lowest energy E_0 and its spins by five search methods (annealing, layer-wise and
single-spin descents, the authors' scheme), their numba kernels and drivers. Entry point: :func:`quench`."""

from ising_nn.quench.search import METHODS, QuenchResult, mirror, quench

__all__ = ["quench", "QuenchResult", "mirror", "METHODS"]
