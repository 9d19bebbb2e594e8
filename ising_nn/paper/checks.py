"""Independent checks of a full-size result: a DOS against the canonical engine, the Gaussian centre of ln g,
the symmetry g(E) = g(-E), and the canonical engine's own accuracy. ``tests/test_scale.py`` asserts them on the
shipped MiniLM files; ``bench/bench_paper_run.py`` reports them for a paper-sized model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ising_nn.results.dos import DOS

__all__ = ["CanonicalAgreement", "GaussianCentre", "dos_against_canonical", "gaussian_centre", "C_accuracy"]

#: A DOS agrees with the canonical engine when U and C lie within this many combined standard errors.
AGREE_SIGMAS = 4.0
#: The centre's curvature must lie within this many of the fit's standard errors of -1/2 ...
CENTRE_SIGMAS = 5.0
#: ... give or take this much for what the quadratic fit leaves out (the quartic term, the bins).
CENTRE_SLACK = 1e-3


@dataclass(frozen=True)
class CanonicalAgreement:
    """U(T) and C(T) of a DOS against the canonical engine's, at every grid temperature from ``T_valid`` up.

    Attributes
    ----------
    T_valid, T_equilibrated : float
        Where the DOS's ln g is MBAR's (header ``T_valid``); the lowest equilibrated rung.
    n_T : int
        Grid temperatures compared.
    bin_over_spread : float
        Largest bin width over the canonical energy spread T sqrt(N C) (at most 1/3 for valid C).
    z_U, z_C : float
        Largest |DOS - canonical| minus the bins' Sheppard shift, in units of the canonical standard error.
    """

    T_valid: float
    T_equilibrated: float
    n_T: int
    bin_over_spread: float
    z_U: float
    z_C: float

    @property
    def ok(self) -> bool:
        return (self.bin_over_spread <= 1 / 3 and self.z_U <= AGREE_SIGMAS and self.z_C <= AGREE_SIGMAS
                and self.T_valid <= 1.03 * self.T_equilibrated)


def dos_against_canonical(curve, T_equilibrated: float, dos: DOS) -> CanonicalAgreement:
    """Compare ``dos`` with a canonical :class:`~ising_nn.results.thermo.ThermoCurve` from ``T_valid`` up.

    The bins are allowed their Sheppard shifts: U by -h^2 / (12 T N), C by a relative h^2 / (12 sigma^2).
    """
    from ising_nn.thermo.from_dos import thermodynamics

    N, h = dos.n_spins, dos.bin_width
    T_valid = float(dos.header["T_valid"])
    sel = curve.T_t >= T_valid
    T, U, U_err, C, C_err = (x[sel] for x in (curve.T_t, curve.U_t, curve.U_err_t, curve.C_t, curve.C_err_t))
    t = thermodynamics(dos, T)
    sigma = T * np.sqrt(N * C)
    z_U = (np.abs(t.U_k - U) - h**2 / (12 * T) / N) / U_err
    z_C = (np.abs(t.C_k - C) - C * h**2 / (12 * sigma**2)) / C_err
    return CanonicalAgreement(T_valid, float(T_equilibrated), int(sel.sum()), float((h / sigma).max()),
                              float(z_U.max()), float(z_C.max()))


@dataclass(frozen=True)
class GaussianCentre:
    """The curvature of ln g near E = 0 in units x = E / sqrt(sum J^2), exactly -1/2 for N -> infinity.

    Attributes
    ----------
    curvature, curvature_err : float
        The quadratic coefficient fitted over |x| <= 1 and its standard error.
    asymmetry : float
        max |ln g(E) - ln g(-E)| over the file.
    """

    curvature: float
    curvature_err: float
    asymmetry: float

    @property
    def ok(self) -> bool:
        return abs(self.curvature + 0.5) <= CENTRE_SIGMAS * self.curvature_err + CENTRE_SLACK


def gaussian_centre(dos: DOS, sum_J2: float) -> GaussianCentre:
    """Fit ln g(E) = a + b x^2, x = E / sqrt(sum J^2), over |x| <= 1 (ln g = const - E^2 / (2 sum J^2) +
    O(E^4 / N^3) near the centre)."""
    x = dos.E_k / math.sqrt(sum_J2)
    sel = np.abs(x) <= 1.0
    A = np.column_stack([np.ones(sel.sum()), x[sel] ** 2])
    coef, res, *_ = np.linalg.lstsq(A, dos.ln_g_k[sel], rcond=None)
    cov = np.linalg.inv(A.T @ A) * float(res[0]) / (sel.sum() - 2)
    return GaussianCentre(float(coef[1]), math.sqrt(cov[1, 1]), float(np.abs(dos.ln_g_k - dos.ln_g_k[::-1]).max()))


def C_accuracy(curve, T_equilibrated: float) -> float:
    """Largest relative standard error of C over the equilibrated part of the grid (T >= T_equilibrated)."""
    sel = curve.T_t >= T_equilibrated
    return float((curve.C_err_t[sel] / curve.C_t[sel]).max())
