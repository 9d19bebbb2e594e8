"""Density of states g(E) by Wang-Landau sampling: the windows' walk (numba kernels), the run's state and its
checkpoints, replica exchange between windows, the transition-matrix estimate of ln g and the join of the
windows into one ``DOS``. Entry point: :func:`wang_landau`."""

from ising_nn.wanglandau.run import DEFAULT_BINS, wang_landau

__all__ = ["wang_landau", "DEFAULT_BINS"]
