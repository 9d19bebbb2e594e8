"""The shipped MiniLM results at full size (16,512 spins), checked by independent estimators.

``make figures`` ships, for trained and shuffled MiniLM, the canonical engine's thermodynamics
(``dos/minilm/thermo/*.dat``) and a DOS (``dos/minilm/*.dat``) whose ln g comes from MBAR where the
canonical chains are equilibrated and from Wang-Landau below. These tests read those files (seconds), so
that no commit can ship a DOS that disagrees with the canonical engine; ``make test-slow`` recomputes them.
"""

import math
from pathlib import Path

import numpy as np
import pytest

from ising_nn.canonical.hybrid import JOIN_SIGMAS
from ising_nn.model.load import load_couplings
from ising_nn.paper import CachedThermo, budget, wl_path
from ising_nn.paper.paths import DOS_DIR
from ising_nn.results.dos import read_dos
from ising_nn.thermo.from_dos import thermodynamics

KINDS = ("trained", "shuffled")


def _shipped(kind, dos_dir=DOS_DIR):
    path = Path(dos_dir) / "minilm" / "thermo" / f"{kind}.dat"
    if not path.is_file():
        pytest.skip(f"{path} not there (make figures writes it)")
    return CachedThermo.read(path), read_dos(Path(dos_dir) / "minilm" / f"{kind}.dat")


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_dos_gives_the_canonical_thermodynamics(kind):
    """U(T) and C(T) of the DOS file within four combined standard errors of the canonical engine's, at every
    temperature from the DOS's ``T_valid`` up; the bins are allowed their Sheppard shifts (U by -h^2 / (12 T), C
    by a relative h^2 / (12 sigma^2)). ``T_valid`` is where the canonical energy distribution clears the
    join to Wang-Landau's ln g (3.1 spreads); it must lie within 3 % of the lowest equilibrated temperature.
    Below it the DOS's C(T) leans on Wang-Landau: at ``T_equilibrated`` itself on trained MiniLM it was
    tens of errors off (Wang-Landau's slope of ln g below the join is still biased)."""
    _check_against_canonical(*_shipped(kind))


@pytest.mark.slow
def test_recomputed_minilm_dos_gives_the_canonical_thermodynamics(tmp_path):
    """The whole chain from scratch, as ``make figures`` runs it (about 20 min on 2 cores)."""
    from ising_nn.paper import series

    series.model_results("minilm", budget(), out_dir=tmp_path)
    for kind in KINDS:
        _check_against_canonical(*_shipped(kind, tmp_path))


def _check_against_canonical(th, dos):
    cur, N, h = th.curve, dos.n_spins, dos.bin_width
    T_eq, T_valid = float(th.header["T_equilibrated"]), float(dos.header["T_valid"])
    assert cur.T_t[0] >= T_eq - 5e-5 and T_valid <= 1.03 * T_eq  # the header keeps 4 decimals
    sel = cur.T_t >= T_valid
    T, U, U_err, C, C_err = (x[sel] for x in (cur.T_t, cur.U_t, cur.U_err_t, cur.C_t, cur.C_err_t))
    t = thermodynamics(dos, T)
    sigma = T * np.sqrt(N * C)
    assert (h <= sigma / 3).all(), "DOS bins wider than a third of the canonical energy spread"
    dU = np.abs(t.U_k - U)
    assert (dU <= 4 * U_err + h**2 / (12 * T) / N).all(), float((dU / U_err).max())
    dC = np.abs(t.C_k - C)
    assert (dC <= 4 * C_err + C * h**2 / (12 * sigma**2)).all(), float((dC / C_err).max())


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_dos_says_where_each_part_comes_from(kind):
    th, dos = _shipped(kind)
    assert "MBAR" in dos.header["ln_g_source"] and "Wang-Landau" in dos.header["ln_g_source"]
    E_join = float(dos.header["E_join"])
    assert E_join == pytest.approx(th.E_coldest - JOIN_SIGMAS * th.sigma_coldest, abs=dos.bin_width)
    wl = read_dos(wl_path(Path(DOS_DIR) / "minilm" / f"{kind}.dat"))
    assert int(wl.header["windows_from_pool"]) > 0  # its windows started from canonical states
    assert th.header["input.sweeps"] == str(budget().canonical_sweeps)  # a count of sweeps, not seconds


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_dos_has_the_gaussian_centre_of_variance_sum_j2(kind):
    """Near E = 0, ln g(E) = const - E^2 / (2 sum J^2) + O(E^4 / N^3): a quadratic fitted to ln g over
    |E| <= sigma_0 = sqrt(sum J^2) has its curvature within five of the fit's standard errors of
    -1 / (2 sum J^2), give or take 1e-3 for what the fit leaves out: the quartic term (~1e-4 relative at
    N = 16,512) and the bins (h^2 / (12 sigma_0^2) ~ 3e-4 on the shipped ones)."""
    _, dos = _shipped(kind)
    c = load_couplings("minilm", shuffle=1.0 if kind == "shuffled" else 0.0, seed=0)
    s2 = float(np.dot(c.buffer.astype(np.float64), c.buffer))
    x = dos.E_k / math.sqrt(s2)
    sel = np.abs(x) <= 1.0
    A = np.column_stack([np.ones(sel.sum()), x[sel] ** 2])
    coef, res, *_ = np.linalg.lstsq(A, dos.ln_g_k[sel], rcond=None)
    dof = sel.sum() - 2
    cov = np.linalg.inv(A.T @ A) * float(res[0]) / dof
    assert abs(coef[1] + 0.5) <= 5 * math.sqrt(cov[1, 1]) + 1e-3, (coef[1], math.sqrt(cov[1, 1]))
    np.testing.assert_allclose(dos.ln_g_k, dos.ln_g_k[::-1], atol=1e-6)  # g(E) = g(-E)
