"""Oracles for the tests: exact densities of states (enumeration, transfer matrices, rank-one and chain
networks), and slow pure-Python references of the numba kernels that the tests compare bit for bit.
Nothing here is used by the samplers."""

from ising_nn.testing.exact import Levels, enumerate_dos, rank_one_network, transfer_matrix_dos

__all__ = ["Levels", "enumerate_dos", "transfer_matrix_dos", "rank_one_network"]
