"""Thermodynamics from a density of states: U, C, F, S per spin on a temperature grid, the peak of C (T_c)
and its spread over replicas, and the paper's own (normalised) specific-heat curves; and whether two curves of
one network agree (``agreement``: the range two independent methods cross-validate). The canonical engine that
measures them directly lives in :mod:`ising_nn.canonical`."""

from ising_nn.thermo.agreement import Agreement, agreement
from ising_nn.thermo.from_dos import (
    PaperStyleHeat,
    TcEstimate,
    Thermo,
    paper_style_heat,
    replica_tc,
    tc_estimate,
    temperature_grid,
    thermodynamics,
)

__all__ = ["Agreement", "agreement", "Thermo", "TcEstimate", "PaperStyleHeat", "thermodynamics", "replica_tc",
           "tc_estimate", "temperature_grid", "paper_style_heat"]
