"""``THERMO.dat``: canonical thermodynamics per spin, ``# key: value`` header lines, then columns
``T U U_err C C_err F F_err S S_err`` at a fixed precision (byte-identical reruns)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ising_nn.errors import IsingNNError
from ising_nn.results.textfile import atomic_path, format_header, read_header

__all__ = ["ThermoCurve", "write_thermo", "read_thermo", "COLUMNS"]

COLUMNS = ("T", "U", "U_err", "C", "C_err", "F", "F_err", "S", "S_err")


@dataclass(frozen=True)
class ThermoCurve:
    """Thermodynamics per spin on a temperature grid (k_B = 1, the couplings' energy units).

    Attributes
    ----------
    T_t : ndarray, shape (n_T,)
    U_t, C_t, F_t, S_t : ndarray, shape (n_T,)
        Energy, specific heat, free energy and entropy per spin.
    U_err_t, C_err_t, F_err_t, S_err_t : ndarray, shape (n_T,)
        Bootstrap standard errors.
    Tc, Tc_err : float
        Temperature of the maximum of C on the grid (parabolic refinement) and its bootstrap standard error.
    Tc_at_edge : bool
        The maximum lies at an end of the grid: T_c is then only a bound.
    """

    T_t: np.ndarray
    U_t: np.ndarray
    U_err_t: np.ndarray
    C_t: np.ndarray
    C_err_t: np.ndarray
    F_t: np.ndarray
    F_err_t: np.ndarray
    S_t: np.ndarray
    S_err_t: np.ndarray
    Tc: float
    Tc_err: float
    Tc_at_edge: bool


def write_thermo(curve: ThermoCurve, path: str | os.PathLike, header: dict) -> Path:
    """Write ``curve`` with ``header`` to ``path`` atomically."""
    data = np.column_stack([getattr(curve, n + "_t") if not n.endswith("_err") else
                            getattr(curve, n[:-4] + "_err_t") for n in COLUMNS])
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(format_header(header))
            fh.write("# " + " ".join(COLUMNS) + "\n")
            np.savetxt(fh, data, fmt="%.6e")
    return Path(path)


def read_thermo(path: str | os.PathLike) -> tuple[ThermoCurve, dict[str, str]]:
    """Read a file written by :func:`write_thermo`: ``(curve, header)``."""
    try:
        header = read_header(path)
        data = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError) as exc:
        raise IsingNNError(f"cannot read thermodynamics file {str(path)!r}: {exc}") from exc
    if data.shape[1] != len(COLUMNS):
        raise IsingNNError(f"{str(path)!r} has {data.shape[1]} columns, expected {len(COLUMNS)} ({' '.join(COLUMNS)})")
    cols = dict(zip(COLUMNS, data.T))
    curve = ThermoCurve(cols["T"], cols["U"], cols["U_err"], cols["C"], cols["C_err"], cols["F"], cols["F_err"],
                        cols["S"], cols["S_err"], float(header.get("T_c", "nan")),
                        float(header.get("T_c_err", "nan")), header.get("T_c_at_edge") == "True")
    return curve, header
