"""The shipped MiniLM results at full size (16,512 spins), checked by independent estimators.

``make figures`` ships, for trained and shuffled MiniLM, the canonical engine's thermodynamics
(``dos/minilm/thermo/*.dat``) and a DOS (``dos/minilm/*.dat``) whose ln g comes from MBAR where the
canonical chains are equilibrated and from Wang-Landau below. These tests read those files (seconds), so
that no commit can ship a DOS that disagrees with the canonical engine; ``make test-slow`` recomputes them.
"""

from pathlib import Path

import numpy as np
import pytest

from ising_nn.canonical.hybrid import JOIN_SIGMAS
from ising_nn.canonical.mbar import mbar_ln_g
from ising_nn.model.load import load_couplings
from ising_nn.paper import CachedThermo, budget, wl_path
from ising_nn.paper.checks import AGREE_SIGMAS, CENTRE_SIGMAS, CENTRE_SLACK, dos_against_canonical, gaussian_centre
from ising_nn.paper.paths import DOS_DIR
from ising_nn.results.dos import DOS, read_dos
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
    T_eq = float(th.header["T_equilibrated"])
    assert th.curve.T_t[0] >= T_eq - 5e-5  # the header keeps 4 decimals
    # the DOS's ln g above the join is MBAR's on the raw energies: its thermodynamics are that curve's
    a = dos_against_canonical(th.raw_curve, T_eq, dos)
    assert a.T_valid <= 1.03 * T_eq, (a.T_valid, T_eq)
    assert a.bin_over_spread <= 1 / 3, "DOS bins wider than a third of the canonical energy spread"
    assert a.z_U <= AGREE_SIGMAS, a.z_U
    assert a.z_C <= AGREE_SIGMAS, a.z_C


@pytest.mark.parametrize("kind", KINDS)
def test_binned_mbar_ln_g_reproduces_the_mbar_curve(kind):
    """The DOS's ln g above the join is MBAR's, binned: its U(T) and C(T) must be the MBAR curve's own, from
    the same samples, within a quarter of the curve's errors beyond the bins' Sheppard shifts. Summing each
    bin's beta = 0 weights without the local-temperature factor broke this (up to 0.7 errors here, 5 at
    gpt2's size, where a bin spans 12 units of ln g)."""
    th, dos = _shipped(kind)
    cur, N, h = th.raw_curve, dos.n_spins, dos.bin_width
    edges = np.concatenate([dos.E_k - 0.5 * h, [dos.E_k[-1] + 0.5 * h]])
    E_b, lng_b = mbar_ln_g(th.samples, N, edges)
    t = thermodynamics(DOS(E_b, lng_b, N, {}), cur.T_t)  # the held bins only: no Wang-Landau, no join
    sigma = cur.T_t * np.sqrt(N * cur.C_t)
    dU = np.abs(t.U_k - cur.U_t) - h**2 / (12 * cur.T_t) / N
    dC = np.abs(t.C_k - cur.C_t) - cur.C_t * h**2 / (12 * sigma**2)
    assert (dU <= 0.25 * cur.U_err_t).all(), float((dU / cur.U_err_t).max())
    assert (dC <= 0.25 * cur.C_err_t).all(), float((dC / cur.C_err_t).max())


def test_the_agreement_check_fails_a_dos_whose_temperature_is_off_by_one_percent():
    """The check can fail: tilting ln g by 0.01 E / T_valid (beta off by 1 % at T_valid) is caught."""
    th, dos = _shipped("shuffled")
    eps = 0.01 / float(dos.header["T_valid"])
    tilted = DOS(dos.E_k, dos.ln_g_per_spin_k + eps * dos.E_k / dos.n_spins, dos.n_spins, dict(dos.header))
    assert dos_against_canonical(th.raw_curve, float(th.header["T_equilibrated"]), dos).ok
    assert not dos_against_canonical(th.raw_curve, float(th.header["T_equilibrated"]), tilted).ok


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_dos_says_where_each_part_comes_from(kind):
    th, dos = _shipped(kind)
    assert "MBAR" in dos.header["ln_g_source"] and "Wang-Landau" in dos.header["ln_g_source"]
    E_join = float(dos.header["E_join"])
    assert E_join == pytest.approx(th.E_coldest - JOIN_SIGMAS * th.sigma_coldest, abs=dos.bin_width)
    wl = read_dos(wl_path(Path(DOS_DIR) / "minilm" / f"{kind}.dat"))
    assert int(wl.header["windows_from_pool"]) > 0  # its windows started from canonical states
    shuffle = 0.0 if kind == "trained" else 1.0
    assert th.header["input.sweeps"] == str(budget().sweeps_canonical(shuffle))  # a count of sweeps, not seconds


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_dos_has_the_gaussian_centre_of_variance_sum_j2(kind):
    """Near E = 0, ln g(E) = const - E^2 / (2 sum J^2) + O(E^4 / N^3): a quadratic fitted to ln g over
    |E| <= sigma_0 = sqrt(sum J^2) has its curvature within five of the fit's standard errors of
    -1 / (2 sum J^2), give or take 1e-3 for what the fit leaves out: the quartic term (~1e-4 relative at
    N = 16,512) and the bins (h^2 / (12 sigma_0^2) ~ 3e-4 on the shipped ones)."""
    _, dos = _shipped(kind)
    c = load_couplings("minilm", shuffle=1.0 if kind == "shuffled" else 0.0, seed=0)
    g = gaussian_centre(dos, c.sum_J2)
    assert abs(g.curvature + 0.5) <= CENTRE_SIGMAS * g.curvature_err + CENTRE_SLACK, g
    assert g.asymmetry <= 1e-6  # g(E) = g(-E)


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_engine_curve_agrees_with_raw_energy_mbar(kind):
    """Two estimators from the same run: MBAR on the layers' exact marginals (the engine's curve) and MBAR
    on the raw energies (what the DOS rests on) agree in U and C within four combined errors at every
    temperature, and the marginal's C is the more precise (median error ratio 2.7 on shuffled MiniLM, about 10
at its highest temperatures). (F and S are
    checked against exact values below: the raw estimator's 10-replicate bootstrap errors of S are too small,
    4.9 errors off the exact S on shuffled MiniLM at T = 7.75.)"""
    th, _ = _shipped(kind)
    cur, raw = th.curve, th.raw_curve
    np.testing.assert_allclose(cur.T_t, raw.T_t, rtol=1e-6)  # the .dat keeps 7 digits
    for name in ("U", "C"):
        a, ea, b, eb = (getattr(x, f"{name}{s}_t") for x in (cur, raw) for s in ("", "_err"))
        z = np.abs(a - b) / np.hypot(ea, eb)
        assert z.max() <= AGREE_SIGMAS, (name, float(cur.T_t[np.argmax(z)]), float(z.max()))
    # Rao-Blackwell: the marginal's C is never the less precise, beyond the noise of the errors themselves
    assert (raw.C_err_t / cur.C_err_t >= 1.0).mean() >= 0.9, raw.C_err_t / cur.C_err_t


def test_shipped_shuffled_thermodynamics_match_the_exact_high_temperature_expansion():
    """Shuffled MiniLM above T = 7: the loop-free expansion ln Z = N ln 2 + sum ln cosh(beta J) is exact up to
    loops of four couplings of random sign (about 1e-5 in C per spin here, ten times below the errors), so
    U = -sum J tanh(beta J) / N, C = sum (beta J)^2 sech^2(beta J) / N, F = -T ln Z / N, S = (U - F) / T. The
    canonical engine's curve and population annealing's must both match all four at family-wise level 0.01
    (Bonferroni over the temperatures and the four)."""
    from scipy.stats import norm

    from ising_nn.paper.paths import population_path
    from ising_nn.paper.population import CachedPopulation

    th, _ = _shipped("shuffled")
    c = load_couplings("minilm", shuffle=1.0, seed=0)
    J = np.concatenate([np.asarray(m, dtype=np.float64).ravel() for m in c.J])
    N = c.n_spins
    pa_path = population_path("minilm", shuffle=1.0)
    curves = {"replica exchange": th.curve}
    if pa_path.is_file():
        curves["population annealing"] = CachedPopulation.read(pa_path).curve
    for name, cur in curves.items():
        sel = cur.T_t >= 7.0
        T = cur.T_t[sel]
        assert T.size >= 10, name
        x = J[None, :] / T[:, None]
        U = -(J[None, :] * np.tanh(x)).sum(1) / N
        C = (x**2 / np.cosh(x) ** 2).sum(1) / N
        F = -T * (N * np.log(2.0) + np.log(np.cosh(x)).sum(1)) / N
        S = (U - F) / T
        crit = norm.isf(0.01 / (2 * 4 * T.size))
        for q, exact in (("U", U), ("C", C), ("F", F), ("S", S)):
            z = np.abs(getattr(cur, f"{q}_t")[sel] - exact) / getattr(cur, f"{q}_err_t")[sel]
            assert z.max() <= crit, (name, q, float(T[np.argmax(z)]), float(z.max()), crit)
