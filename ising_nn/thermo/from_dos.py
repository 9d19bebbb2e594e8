"""Canonical thermodynamics from a density of states, and the paper's own specific-heat recipe.

Physical (:func:`thermodynamics`), k_B = 1, energies and temperatures in the couplings' units: with
``Z(T) = sum_k g(E_k) exp(-E_k / T)`` over the energy bins k,

* ``U = <E> / N``, ``C = (<E^2> - <E>^2) / (N T^2)`` (the variance is summed about the mean, never as a
  difference of two large numbers),
* ``F = -T ln Z / N`` and ``S = (U - F) / T`` per spin (absolute when ``sum_k g = 2^N``, as in our files),
* ``T_c``: the maximum of C(T), refined by Brent's method between the neighbours of the best grid point, so
  it does not depend on the temperature grid.

Every sum is a log-sum-exp over ``ln g(E_k) - E_k / T``, so N of 10^5 spins (ln g ~ 10^5) is no problem.

Paper style (:func:`paper_style_heat`), kept apart on purpose: the recipe that reproduces the published
specific-heat figures (``../shared/PAPER.md``): E' = E / W with W the width of the *trained* model's DOS
(used for the shuffled curve too), bin weights ``exp(column2 - E'/T)`` with column 2 (ln g / N) taken as it
is, ``C = (<E'^2> - <E'>^2) / T^2`` for T in (0, 1]. It needs no N and is not the physical specific heat
(its C(T -> 0) = 1 comes from the truncated energy window).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import logsumexp

from ising_nn.errors import IsingNNError
from ising_nn.results.dos import DOS, read_dos

__all__ = [
    "Thermo",
    "TcEstimate",
    "PaperStyleHeat",
    "thermodynamics",
    "replica_tc",
    "tc_estimate",
    "temperature_grid",
    "paper_style_heat",
    "canonical_moments",
    "smooth_dos",
]

_CELLS = 1 << 22  # temperatures x bins handled per block: bounds the memory of the weight matrix


def _as_dos(dos: DOS | str | os.PathLike) -> DOS:
    if isinstance(dos, DOS):
        return dos
    if isinstance(dos, (str, os.PathLike)):
        return read_dos(dos)
    raise IsingNNError(f"expected a DOS or the path of a DOS file, got {type(dos).__name__}")


def _check_T(T_k) -> np.ndarray:
    T = np.atleast_1d(np.asarray(T_k, dtype=np.float64))
    if T.ndim != 1 or T.size == 0 or not np.isfinite(T).all() or (T <= 0).any():
        raise IsingNNError("temperatures must be a non-empty 1-D array of finite positive numbers")
    return T


def canonical_moments(E_m: np.ndarray, ln_g_m: np.ndarray, T_k: np.ndarray):
    """Canonical ``ln Z``, ``<E>`` and ``Var E`` of a binned density of states.

    Parameters
    ----------
    E_m : ndarray, shape (M,)
        Bin energies.
    ln_g_m : ndarray, shape (M,)
        ln g(E_m), any additive constant (it shifts ``ln Z`` only).
    T_k : ndarray, shape (K,)
        Temperatures, positive.

    Returns
    -------
    ln_Z_k, mean_k, var_k : ndarray, shape (K,)
    """
    E = np.asarray(E_m, dtype=np.float64)
    ln_g = np.asarray(ln_g_m, dtype=np.float64)
    beta = 1.0 / _check_T(T_k)
    # Energies measured from the lowest bin keep every exponent's energy term <= 0 and well scaled.
    E0 = float(E.min())
    dE = E - E0
    ln_Z = np.empty_like(beta)
    mean = np.empty_like(beta)
    var = np.empty_like(beta)
    step = max(1, _CELLS // max(E.size, 1))
    for a in range(0, beta.size, step):
        b = beta[a : a + step, None]
        x = ln_g[None, :] - b * dE[None, :]
        lz = logsumexp(x, axis=1)
        w = np.exp(x - lz[:, None])
        m = w @ dE
        var[a : a + step] = np.einsum("km,km->k", w, (dE[None, :] - m[:, None]) ** 2)
        mean[a : a + step] = m + E0
        ln_Z[a : a + step] = lz - beta[a : a + step] * E0
    return ln_Z, mean, var


def _even_design(x: np.ndarray, degree: int) -> np.ndarray:
    """Legendre polynomials P_0, P_2, ..., P_degree at x (even: g(E) = g(-E) for the layered models)."""
    return np.polynomial.legendre.legvander(x, degree)[:, 0::2]


_CV_BLOCK = 5  # bins held out together: wider than the correlation of WL noise between neighbouring bins


def _cv_degree(x: np.ndarray, ln_g: np.ndarray, top: int) -> int:
    """Even degree minimising the held-out error of blocks of ``_CV_BLOCK`` adjacent bins.

    Why blocks, not alternate bins: Wang-Landau noise is correlated over neighbouring bins, so a fit to the
    even bins predicts the odd ones too well and the degree runs to the cap, ringing in ln g'' (measured on
    MiniLM: alternate bins pick degree 40 and leave several maxima of C(T), blocks of 5 bins fewer). Each
    block is held out with its mirror image (a mirrored file would otherwise leak it), and the end bins are
    never held out, so a score is an interpolation, not an extrapolation.
    """
    M = x.size
    blocks = []
    for a in range(1, M // 2 - _CV_BLOCK, _CV_BLOCK):
        blocks.append(np.unique(np.r_[a : a + _CV_BLOCK, M - a - _CV_BLOCK : M - a]))
    best = (np.inf, 2)
    for D in range(2, top + 1, 2):
        # Exact held-out residuals without refitting: for a least-squares fit with hat matrix H = Q Q^T,
        # leaving block b out gives residuals (I - H_bb)^-1 r_b.
        Q, R = np.linalg.qr(_even_design(x, D))
        r = ln_g - Q @ (Q.T @ ln_g)
        err = 0.0
        for b in blocks:
            Qb = Q[b]
            err += float(np.sum(np.linalg.solve(np.eye(b.size) - Qb @ Qb.T, r[b]) ** 2))
        best = min(best, (err, D))
    return best[1]


def smooth_dos(dos: DOS | str | os.PathLike, degree: int | None = None, *, refine: int | None = None,
               max_degree: int = 40) -> DOS:
    """OPT-IN smoothing: ln g(E) replaced by its least-squares fit by an even polynomial in x = E / E_span.

    Wang-Landau noise in ln g has second differences far larger than the true curvature, so beta(E) is not
    monotone and C(T) is a comb of spikes; the fit keeps the large-scale shape and drops that noise. Only
    even Legendre polynomials of x = E / max|E| are used (g(E) = g(-E) exactly). The raw DOS is the default
    everywhere; this is a model of ln g, not a measurement, and its degree decides what survives.

    Parameters
    ----------
    dos : DOS or path (needs N)
    degree : int, optional
        Even polynomial degree; default chosen automatically by :func:`_cv_degree` (block cross-validation)
        among the even degrees in [2, ``max_degree``] below half the number of bins.
    refine : int, optional
        Evaluate the fit on bins ``refine`` times finer over the same range (1 keeps the original ``E_k``).
        Default: automatic, the smallest factor (at most 64) that makes the new bin width at most a quarter
        of the narrowest canonical energy spread ``1 / sqrt(max |d^2 ln g / dE^2|)`` of the fit. Why: where
        that spread is below a bin (the steep low-energy end of a coarse DOS), the canonical weight hops from
        bin to bin and C(T) oscillates with T however smooth ln g is (a Schottky peak per pair of bins).

    Returns
    -------
    DOS
        Same N, ``sum g = 2^N``, header ``smoothing: even polynomial degree D (auto|given)``.
    """
    d = _as_dos(dos)
    if d.n_spins is None:
        raise IsingNNError("smooth_dos needs the number of spins N; this DOS has none (a headerless file)")
    if refine is not None and int(refine) < 1:
        raise IsingNNError(f"refine must be a positive integer, got {refine}")
    E, ln_g = d.E_k, d.ln_g_k
    span = float(np.abs(E).max())
    if E.size < 4 * _CV_BLOCK or span == 0:
        raise IsingNNError(f"smooth_dos needs at least {4 * _CV_BLOCK} energy bins, got {E.size}")
    x = E / span
    top = min(int(max_degree), 2 * ((E.size // 2 - 1) // 2))
    if degree is None:
        how = "auto"
        degree = _cv_degree(x, ln_g, top)
    else:
        how = "given"
        if int(degree) < 0 or int(degree) % 2 or int(degree) >= E.size:
            raise IsingNNError(f"degree must be an even integer in [0, {E.size - 1}], got {degree}")
    degree = int(degree)
    c = np.linalg.lstsq(_even_design(x, degree), ln_g, rcond=None)[0]
    if refine is None:
        c_full = np.zeros(degree + 1)
        c_full[0::2] = c
        curv = np.abs(np.polynomial.legendre.legval(x, np.polynomial.legendre.legder(c_full, 2))).max()
        refine = int(np.clip(np.ceil(4.0 * np.median(np.diff(E)) * np.sqrt(curv) / span), 1, 64))
    refine = int(refine)
    E_new = E if refine == 1 else np.linspace(E[0], E[-1], (E.size - 1) * int(refine) + 1)
    fit = _even_design(E_new / span, degree) @ c
    fit += d.n_spins * np.log(2.0) - logsumexp(fit)
    header = dict(d.header)
    if refine > 1:
        header["bin_width"] = str(float(E_new[1] - E_new[0]))
    header["smoothing"] = f"even polynomial degree {degree} ({how})"
    if refine > 1:
        header["smoothing"] += f", bins refined {refine}x"
    return DOS.from_ln_g(E_new, fit, d.n_spins, header)


def _heat(E, ln_g, T, n) -> np.ndarray:
    _, _, var = canonical_moments(E, ln_g, T)
    return var / (n * np.asarray(T, dtype=np.float64) ** 2)


def temperature_grid(dos: DOS | str | os.PathLike, points: int = 400) -> np.ndarray:
    """A geometric temperature grid that brackets the specific-heat peak of ``dos``.

    From ``T_lo``, where ``<E>`` sits a tenth of a bin (or 0.1 % of the way, if less) above ``E_min`` on its
    way up to its infinite-temperature value, to ``T_hi``, where it is 75 % of the way up: the canonical
    energy crosses the whole low-energy part of the spectrum, where C(T) peaks; then a factor 1.5 wider on
    both sides. Both ends are found by root
    finding on ``<E>(T)``, which rises monotonically with T.

    Returns
    -------
    T_k : ndarray, shape (points,)
    """
    d = _as_dos(dos)
    if d.E_k.size < 3:
        raise IsingNNError(f"a temperature grid needs a DOS of at least 3 bins, got {d.E_k.size}")
    if points < 3:
        raise IsingNNError(f"points must be at least 3, got {points}")
    E, ln_g = d.E_k, d.ln_g_per_spin_k * (d.n_spins or 1)
    span = d.E_max - d.E_min
    w = np.exp(ln_g - ln_g.max())
    u_inf = float((w * E).sum() / w.sum())

    def frac(logT: float) -> float:
        _, m, _ = canonical_moments(E, ln_g, np.array([np.exp(logT)]))
        return (m[0] - d.E_min) / (u_inf - d.E_min)

    lo, hi = np.log(span * 1e-9), np.log(span * 1e6)
    f_lo = frac(lo)
    targets = []
    # Cold end: <E> within a tenth of a bin of E_min (or 0.1 % of the way up), where C(T) has fallen to ~0.
    cold = min(1e-3, 0.1 * d.bin_width / (u_inf - d.E_min))
    for t in (cold, 0.75):
        # When even the coldest bracket end sits above the target, the lowest bin is not the coldest state
        # (ln g rises steeply): start from there.
        targets.append(lo if f_lo >= t else brentq(lambda x, t=t: frac(x) - t, lo, hi, xtol=1e-6))
    # A margin of a factor 1.5 on both ends: where ln g is not concave, <E> jumps at one temperature and
    # both targets can sit on the jump itself.
    a, b = targets[0] - np.log(1.5), max(targets[1], targets[0] + 1.0) + np.log(1.5)
    return np.exp(np.linspace(a, b, points))


@dataclass(frozen=True, eq=False)
class Thermo:
    """Canonical thermodynamics of one density of states on a temperature grid (k_B = 1).

    Index k runs over temperatures (as the thermodynamic states of pymbar).

    Attributes
    ----------
    T_k : ndarray, shape (K,)
        Temperatures, in the couplings' energy units.
    mean_E_k, mean_E2_k : ndarray, shape (K,)
        ``<E>`` and ``<E^2>`` of the total energy.
    U_k, C_k, F_k, S_k : ndarray, shape (K,)
        Energy, specific heat, free energy and entropy per spin.
    ln_Z_k : ndarray, shape (K,)
        ln Z (absolute when ``sum g = 2^N``).
    n_spins : int
    Tc : float
        Temperature of the maximum of C(T) (NaN when the maximum is at an end of the grid).
    C_max : float
        C(Tc).
    Tc_err : float
        Uncertainty of ``Tc``, estimated as ``Tc_err_method`` says.
    Tc_err_method : str
        ``"binning"``: |Tc - Tc of the same DOS with bins merged in pairs| (the discretisation error of the
        energy bins; the grid adds nothing because Tc is refined off the grid). Replica spreads come from
        :func:`replica_tc`.
    peak_interior : bool
        Whether C(T) has its maximum strictly inside the grid.
    header : dict
        The DOS file's header.
    """

    T_k: np.ndarray
    mean_E_k: np.ndarray
    mean_E2_k: np.ndarray
    U_k: np.ndarray
    C_k: np.ndarray
    F_k: np.ndarray
    S_k: np.ndarray
    ln_Z_k: np.ndarray
    n_spins: int
    Tc: float
    C_max: float
    Tc_err: float
    Tc_err_method: str
    peak_interior: bool
    header: dict


def _peak(E, ln_g, n, T) -> tuple[float, float, bool, np.ndarray]:
    _, mean, var = canonical_moments(E, ln_g, T)
    C = var / (n * T**2)
    i = int(np.argmax(C))
    if i == 0 or i == T.size - 1:
        return float("nan"), float(C[i]), False, C
    # Where ln g is not concave, <E> jumps and C(T) is a spike narrower than the grid spacing: the steepest
    # rise of <E> between grid points still brackets it, so refine there too and keep the higher maximum.
    j = int(np.argmax(np.diff(mean) / np.diff(T)))
    best = (float(T[i]), float(C[i]))
    for a, b in {(T[i - 1], T[i + 1]), (T[j], T[j + 1])}:
        # Brent on log T inside the bracket: Tc no longer depends on the grid.
        res = minimize_scalar(
            lambda x: -_heat(E, ln_g, np.array([np.exp(x)]), n)[0],
            bounds=(np.log(a), np.log(b)),
            method="bounded",
            options={"xatol": 1e-10},
        )
        if -res.fun > best[1]:
            best = (float(np.exp(res.x)), float(-res.fun))
    return best[0], best[1], True, C


def _merge_pairs(E: np.ndarray, ln_g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bins merged two by two: g adds up, the energy is the pair's centre (a DOS at twice the bin width)."""
    m = E.size // 2 * 2
    E2 = 0.5 * (E[0:m:2] + E[1:m:2])
    g2 = np.logaddexp(ln_g[0:m:2], ln_g[1:m:2])
    if E.size % 2:
        E2 = np.append(E2, E[-1])
        g2 = np.append(g2, ln_g[-1])
    return E2, g2


def thermodynamics(
    dos: DOS | str | os.PathLike,
    T_k: np.ndarray | None = None,
    *,
    n_spins: int | None = None,
    points: int = 400,
    smooth: bool = False,
) -> Thermo:
    """Canonical thermodynamics per spin of ``dos`` (k_B = 1).

    Parameters
    ----------
    dos : DOS or path
        A density of states; ours carries N, the authors' headerless files need ``n_spins``.
    T_k : ndarray, shape (K,), optional
        Temperatures; default :func:`temperature_grid` with ``points`` points.
    n_spins : int, optional
        N, overriding (or supplying) the DOS's own.
    smooth : bool
        Opt-in: replace ln g by :func:`smooth_dos` (automatic degree) first. Default False: the raw DOS.

    Returns
    -------
    Thermo
    """
    d = _as_dos(dos)
    n = n_spins if n_spins is not None else d.n_spins
    if n is None:
        raise IsingNNError(
            "the physical specific heat needs the number of spins N, and this DOS has none (a headerless "
            "file); pass n_spins (CLI: --n-spins N), or use the paper-style curve, which needs no N"
        )
    if int(n) < 1:
        raise IsingNNError(f"n_spins must be a positive integer, got {n}")
    n = int(n)
    if d.E_k.size < 3:
        raise IsingNNError(f"thermodynamics needs a DOS of at least 3 energy bins, got {d.E_k.size}")
    d = DOS(d.E_k, d.ln_g_per_spin_k, n, d.header)
    if smooth:
        d = smooth_dos(d)
    T = temperature_grid(d, points) if T_k is None else _check_T(T_k)
    E, ln_g = d.E_k, d.ln_g_k
    ln_Z, mean, var = canonical_moments(E, ln_g, T)
    tc, cmax, interior, C = _peak(E, ln_g, n, T)
    tc_err = float("nan")
    if interior:
        E2, g2 = _merge_pairs(E, ln_g)
        tc2 = _peak(E2, g2, n, T)[0] if E2.size >= 3 else float("nan")
        tc_err = abs(tc2 - tc)
    U = mean / n
    F = -T * ln_Z / n
    return Thermo(
        T_k=T,
        mean_E_k=mean,
        mean_E2_k=var + mean**2,
        U_k=U,
        C_k=C,
        F_k=F,
        S_k=(U - F) / T,
        ln_Z_k=ln_Z,
        n_spins=n,
        Tc=tc,
        C_max=cmax,
        Tc_err=tc_err,
        Tc_err_method="binning",
        peak_interior=interior,
        header=dict(d.header),
    )


@dataclass(frozen=True)
class TcEstimate:
    """T_c over independent DOS replicas (seeds): mean, standard error and the values.

    ``Tc_err`` is the standard error of the mean, ``std / sqrt(n)`` with ``ddof = 1`` (NaN for one replica).
    """

    Tc: float
    Tc_err: float
    Tc_std: float
    Tc_r: tuple[float, ...]
    method: str = "replicas"


def tc_estimate(tcs: Sequence[float]) -> TcEstimate:
    """Mean and standard error of T_c values from independent replicas."""
    a = np.asarray(tcs, dtype=np.float64)
    if a.size == 0:
        raise IsingNNError("a T_c estimate needs at least one replica")
    std = float(a.std(ddof=1)) if a.size > 1 else float("nan")
    return TcEstimate(float(a.mean()), std / np.sqrt(a.size), std, tuple(float(x) for x in a))


def replica_tc(doses: Sequence[DOS | str | os.PathLike], *, n_spins: int | None = None) -> TcEstimate:
    """T_c of each replica DOS (e.g. Wang-Landau runs with different seeds) and their spread."""
    if len(doses) == 0:
        raise IsingNNError("replica_tc needs at least one DOS")
    return tc_estimate([thermodynamics(d, n_spins=n_spins).Tc for d in doses])


# ---------------------------------------------------------------------------------------- paper style
@dataclass(frozen=True, eq=False)
class PaperStyleHeat:
    """The paper's specific-heat curve (see the module docstring): NOT the physical specific heat.

    Attributes
    ----------
    T_k, C_k : ndarray, shape (K,)
        Dimensionless temperature in (0, 1] and the paper-style C.
    width : float
        W used to scale the energies (the trained model's DOS width).
    Tc : float
        Grid temperature of the maximum of C (as the authors take it, ``T[argmax C]``).
    Tc_err : float
        Half the grid spacing at Tc.
    """

    T_k: np.ndarray
    C_k: np.ndarray
    width: float
    Tc: float
    Tc_err: float
    header: dict


def paper_style_heat(
    dos: DOS | str | os.PathLike,
    width: float | None = None,
    T_k: np.ndarray | None = None,
    *,
    trained: DOS | str | os.PathLike | None = None,
) -> PaperStyleHeat:
    """The paper's specific-heat recipe, reproducing its published figures and T_c values.

    Parameters
    ----------
    dos : DOS or path
        Column 2 (``ln_g_per_spin_k``) is used as it is, whatever its base.
    width : float, optional
        W to scale energies by; default the width of ``trained``, or of ``dos`` itself (a trained model).
    T_k : ndarray, shape (K,), optional
        Default ``0.001, 0.002, ..., 1``.
    trained : DOS or path, optional
        The trained model's DOS, whose width scales both curves.
    """
    d = _as_dos(dos)
    if width is not None and trained is not None:
        raise IsingNNError("give either width or trained, not both")
    if width is None:
        width = (_as_dos(trained) if trained is not None else d).width
    width = float(width)
    if not np.isfinite(width) or width <= 0:
        raise IsingNNError(f"the paper-style width must be a positive number, got {width}")
    T = np.arange(1, 1001) / 1000.0 if T_k is None else _check_T(T_k)
    _, _, var = canonical_moments(d.E_k / width, d.ln_g_per_spin_k, T)
    C = var / T**2
    i = int(np.argmax(C))
    dT = np.diff(T)
    half = 0.5 * float(dT[min(i, dT.size - 1)]) if dT.size else float("nan")
    return PaperStyleHeat(T, C, width, float(T[i]), half, dict(d.header))
