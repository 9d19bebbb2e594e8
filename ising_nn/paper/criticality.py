"""The paper's fourth claim, tested: is the specific-heat maximum T_c of a trained network higher than its
shuffle's? (:func:`tc_answer`).

A temperature is *certified* for a network when its population-annealing estimate passes, there and at every
hotter step of the schedule,

1. the families criterion of the method (``M_eff R >= 100 mean rho_t``, :mod:`ising_nn.canonical.annealing`);
2. the R against 4R test: U and C of the runs of a quarter of the population agree with the full ones (a
   systematic error of population annealing falls as 1 / R, so agreement bounds the larger population's by a
   quarter of the errors);
3. where the canonical engine's hot and cold ladders agree (its ``T_equilibrated``), U and C agree with its
   MBAR curve: two independent methods. The engine's curve is MBAR on the exact marginals of either half of the
   layers, weighted (:mod:`ising_nn.canonical.rbmbar`); its C matches the exact loop-free high-temperature value
   sum beta^2 J^2 sech^2(beta J) / N on shuffled MiniLM above T = 7 (``tests/test_scale.py``). MBAR on raw
   energies, the engine's curve before it, had C about ten times noisier and was compared for U alone.
4. where the runs recorded both parities' exact marginals (:mod:`ising_nn.canonical.population`), the estimate
   from the even layers' marginal and the one from the odd layers' agree: two exact estimators of one quantity
   from the same population, which part where it is out of equilibrium (the difference's own jackknife error,
   Student's t on M - 1 degrees of freedom; shuffled MiniLM at 8 x 256 parts below T of about 2:
   ``bench/PARITY_PA.md``). Results from before the records pass it by default, and ``parity_ok_t`` is None.

"Agree" is a two-sided test of the difference over its combined error at family-wise level ``alpha`` over
every U and C compared in that test (Bonferroni: the test is made at ~60-250 temperatures, so a per-point
|z| <= 3 would fail a correct run by chance most of the time), with Student's t on the Welch-Satterthwaite
degrees of freedom (a jackknife over M runs has M - 1; the canonical engine's bootstrap is taken as exact).

A network run without population annealing (the default budget's shuffle, ``pa_shuffled=False``: on shuffled
MiniLM the canonical engine's hot and cold ladders agree down to T = 2.55, 2.09, 1.49 and 1.00 after 1,000,
4,000, 8,000 and 16,000 sweeps, while population annealing of 4 x 512 replicas certifies itself only to 5.1;
``bench/RE_SWEEPS.md``) enters as the canonical engine's curve, certified where its hot and cold ladders agree
(:func:`certify_canonical`).

T_c is the vertex of a quadratic in ln T fitted to C(T) within a relative window around the largest
certified C (its mean over half the window, so that one noisy step does not place it; the window is clipped
at the lowest certified temperature, which must lie at least half a window below that C); its statistical
error is the delete-one-run jackknife of the whole fit, its systematic error the spread over windows of 0.7,
1 and 1.4 times the default. A maximum too close to the lowest certified temperature is not located: the
answer is then a bound, T_c below the certified range. The difference trained minus shuffled is
tested one-sided with Student's t on the jackknife's degrees of freedom. The shuffle is one draw: on MiniLM
the T_c of four independent whole-network shuffles scatter no more than their errors say (Cochran's Q, p =
0.89; ``bench/SHUFFLE_SEEDS.md``), so one stands for the ensemble there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ising_nn.canonical.estimators import jackknife_error
from ising_nn.thermo.agreement import ALPHA
from ising_nn.thermo.agreement import agree as _agree
from ising_nn.thermo.agreement import interp_lnT as _interp

__all__ = ["Certified", "Peak", "TcAnswer", "certify", "certify_canonical", "certified_answer", "fit_peak", "tc_answer",
           "compare_at"]

#: Half-width of the peak fit's window, relative in T.
WINDOW = 0.10


@dataclass(frozen=True)
class Certified:
    """Population annealing's curve with the three tests at every schedule temperature in its range.

    Attributes
    ----------
    T_t : ndarray, shape (n,)
        Ascending temperatures (the schedule's, in the range run).
    U_t, U_err_t, C_t, C_err_t : ndarray, shape (n,)
        The combined estimate and its jackknife error.
    C_jk_mt : ndarray, shape (M, n)
        Its delete-one-run replicates of C.
    families_ok_t, check_ok_t, pt_ok_t : ndarray of bool, shape (n,)
        Each test at each temperature (``pt_ok_t`` True where the canonical engine is not certified).
    z_check_t, z_pt_t, z_pt_C_t : ndarray, shape (n,)
        The larger |z| of U and C against the quarter population; |z| of U, and of C, against the canonical
        engine (NaN where not compared).
    parity_ok_t, z_parity_t : ndarray, shape (n,), or None
        The fourth test at each temperature and the larger |z| of U and C of the odd layers' estimate against
        the even layers' (None without the parities' records).
    rho_t_t, M_eff_t : ndarray, shape (n,)
        Mean family statistic of the runs and the effective number of runs.
    certified_t : ndarray of bool, shape (n,)
        Every test passes here and at every hotter temperature.
    T_cert : float
        The lowest certified temperature (inf: none).
    failed : str
        The first test to fail below ``T_cert`` ("" if none).
    population, runs : int
        0 for the canonical engine (:func:`certify_canonical`).
    method : str
        ``"population annealing"`` or ``"replica exchange"``.
    Tc_err_bootstrap : float
        Replica exchange only: the bootstrap error of the engine's own T_c (the grid maximum of its MBAR curve),
        the statistical error :func:`tc_answer` gives a maximum located on this curve, which has no per-run
        replicates (NaN for population annealing).
    """

    T_t: np.ndarray
    U_t: np.ndarray
    U_err_t: np.ndarray
    C_t: np.ndarray
    C_err_t: np.ndarray
    C_jk_mt: np.ndarray
    families_ok_t: np.ndarray
    check_ok_t: np.ndarray
    pt_ok_t: np.ndarray
    z_check_t: np.ndarray
    z_pt_t: np.ndarray
    z_pt_C_t: np.ndarray
    rho_t_t: np.ndarray
    M_eff_t: np.ndarray
    certified_t: np.ndarray
    T_cert: float
    failed: str
    population: int
    runs: int
    method: str = "population annealing"
    Tc_err_bootstrap: float = math.nan
    parity_ok_t: np.ndarray | None = None
    z_parity_t: np.ndarray | None = None


@dataclass(frozen=True)
class Peak:
    """The maximum of a certified C(T).

    Attributes
    ----------
    Tc, Tc_stat, Tc_syst : float
        Location, its jackknife error and the spread over fit windows (NaN when not located).
    Tc_err : float
        Both in quadrature.
    C_max, C_max_err : float
        The fitted maximum and its jackknife error.
    located : bool
        False when the largest certified C is at the lowest certified temperature (T_c then lies below
        ``bound``) or less than half the window above it.
    bound : float
        The lowest certified temperature.
    upper : float
        Not located because the largest C lies within half a window of ``bound``: T_c < ``upper`` =
        ``bound`` (1 + window / 2) (NaN otherwise, and for a located peak).
    """

    Tc: float
    Tc_stat: float
    Tc_syst: float
    Tc_err: float
    C_max: float
    C_max_err: float
    located: bool
    bound: float
    upper: float = math.nan


@dataclass(frozen=True)
class TcAnswer:
    """Trained against shuffled: certified ranges, peaks, the difference and its one-sided test.

    ``delta``, ``delta_err``: T_c(trained) - T_c(shuffled) when both are located (else NaN); ``t``, ``p_value``:
    its one-sided test, or, when the shuffle's maximum lies at its certified edge, the test of T_c(trained)
    against that bound (``peak_shuffled.upper``). ``dof``: Student's t degrees of freedom of the jackknife; 0
    when neither curve has per-run replicates (both replica exchange: the normal distribution, the bootstrap
    taken as exact).
    """

    model: str
    trained: Certified
    shuffled: Certified
    peak_trained: Peak
    peak_shuffled: Peak
    delta: float
    delta_err: float
    t: float
    dof: int
    p_value: float

    def statement(self) -> str:
        """One paragraph that answers the claim with its numbers."""
        pt, ps = self.peak_trained, self.peak_shuffled

        def one(kind, c, p):
            if not math.isfinite(c.T_cert):
                return (f"{kind}: C(T) is not certified at any temperature run"
                        + (f" (first failing test: {c.failed})" if c.failed else ""))
            where = f"certified down to T = {c.T_cert:.3g}" + (
                " by replica exchange alone" if c.method == "replica exchange" else "")
            if p.located:
                return (f"{kind}: C(T) {where}, maximum C = {p.C_max:.3f} ± {p.C_max_err:.3f} at "
                        f"T_c = {p.Tc:.3f} ± {p.Tc_err:.3f}")
            if np.isfinite(p.upper):
                return f"{kind}: C(T) {where}, largest there, so T_c < {p.upper:.3g}"
            return f"{kind}: C(T) {where}, its maximum not resolved (no curvature within the fit window)"

        s = f"{self.model}. {one('Trained', self.trained, pt)}. {one('Shuffled', self.shuffled, ps)}. "
        if np.isfinite(self.delta):
            s += (f"T_c(trained) - T_c(shuffled) = {self.delta:.2f} ± {self.delta_err:.2f} (t = {self.t:.1f}, "
                  f"{self._dof()}, one-sided p = {self.p_value:.1e}).")
        elif np.isfinite(self.t):
            s += (f"T_c(trained) exceeds the shuffle's bound by {pt.Tc - ps.upper:.2f} ± {pt.Tc_err:.2f} "
                  f"(t = {self.t:.1f}, {self._dof()}, one-sided p = {self.p_value:.1e}), so "
                  "T_c(trained) - T_c(shuffled) is larger still.")
        else:
            s += "The trained maximum is not located, so the claim is not decided here."
        return s

    def _dof(self) -> str:
        return f"{self.dof} dof" if self.dof > 0 else "normal"

    def table(self):
        """One row per network (pandas.DataFrame)."""
        import pandas as pd

        rows = []
        for kind, c, p in (("trained", self.trained, self.peak_trained), ("shuffled", self.shuffled,
                                                                            self.peak_shuffled)):
            rows.append(dict(kind=kind, method=c.method, population=c.population, runs=c.runs, T_cert=c.T_cert,
                             failed_below=c.failed, located=p.located, T_c=p.Tc, T_c_upper=p.upper, T_c_err=p.Tc_err,
                             T_c_stat=p.Tc_stat, T_c_syst=p.Tc_syst, C_max=p.C_max, C_max_err=p.C_max_err))
        return pd.DataFrame(rows)


def certify(main, check, pt=None, alpha: float = ALPHA) -> Certified:
    """The three tests (module docstring) at every temperature of ``main``'s range.

    Parameters
    ----------
    main, check : CachedPopulation
        Population annealing with R and with R / 4 replicas per run.
    pt : CachedThermo, optional
        The canonical engine's result (its curve and ``T_equilibrated`` header).
    alpha : float
        Family-wise level of each agreement test.
    """
    from ising_nn.canonical.annealing import RHO_FACTOR

    est, err, w, jk, _ = main.combined()
    beta_i = main.beta_i
    T_i = 1.0 / np.where(beta_i > 0, beta_i, np.nan)
    lo, hi = float(main.header["tmin"]), float(main.header["tmax"])
    sel = np.flatnonzero((beta_i > 0) & (T_i >= lo * (1 - 1e-12)) & (T_i <= hi * (1 + 1e-12)))[::-1]
    T = T_i[sel]
    U, Ue, C, Ce = est[0, sel], err[0, sel], est[1, sel], err[1, sel]
    M_eff = 1.0 / (w**2).sum(0)
    rho = main.rho_t_mi.mean(0)
    fam_ok = np.cumprod(M_eff * main.population >= RHO_FACTOR * rho).astype(bool)[sel]

    cest, cerr, *_ = check.combined()
    cT = 1.0 / np.where(check.beta_i > 0, check.beta_i, np.nan)
    ok = check.beta_i > 0
    nu, nu_c = main.runs - 1, check.runs - 1
    zu, oku = _agree(U, Ue, nu, _interp(T, cT[ok], cest[0, ok]), _interp(T, cT[ok], cerr[0, ok]), nu_c, alpha / 2)
    zcc, okc = _agree(C, Ce, nu, _interp(T, cT[ok], cest[1, ok]), _interp(T, cT[ok], cerr[1, ok]), nu_c, alpha / 2)
    zc, check_ok = np.fmax(zu, zcc), oku & okc  # outside the check's range: fails

    zp, zp_C, pt_ok = np.full_like(T, np.nan), np.full_like(T, np.nan), np.ones(T.shape, bool)
    if pt is not None:
        cur = pt.curve
        t_eq = float(pt.header.get("T_equilibrated", "inf"))
        inside = T >= t_eq
        if inside.any():
            i, inf = inside, math.inf
            zu, oku = _agree(U[i], Ue[i], nu, _interp(T[i], cur.T_t, cur.U_t), _interp(T[i], cur.T_t, cur.U_err_t),
                             inf, alpha / 2)
            zcc, okc = _agree(C[i], Ce[i], nu, _interp(T[i], cur.T_t, cur.C_t), _interp(T[i], cur.T_t, cur.C_err_t),
                              inf, alpha / 2)
            zp[i], zp_C[i] = zu, zcc
            pt_ok[i] = ~((np.isfinite(zu) & ~oku) | (np.isfinite(zcc) & ~okc))
    par_ok, z_par = _parity_test(main, sel, nu, alpha)
    tests = (("families", fam_ok), ("R against R/4", check_ok), ("against replica exchange", pt_ok),
             ("odd against even layers", np.ones(T.shape, bool) if par_ok is None else par_ok))
    good = fam_ok & check_ok & pt_ok & tests[3][1]
    # cumulative from the hottest temperature down (T ascending, so from the end)
    cert = np.cumprod(good[::-1])[::-1].astype(bool)
    T_cert = float(T[cert].min()) if cert.any() else math.inf
    failed = ""
    below = np.flatnonzero(~cert)
    if below.size:
        k = below[-1]  # the hottest failing temperature
        failed = ", ".join(name for name, t in tests if not t[k])
    return Certified(T, U, Ue, C, Ce, jk[:, 1, sel], fam_ok, check_ok, pt_ok, zc, zp, zp_C, rho[sel], M_eff[sel],
                     cert, T_cert, failed, int(main.population), int(main.runs), parity_ok_t=par_ok,
                     z_parity_t=z_par)


def _parity_test(main, sel, nu: int, alpha: float):
    """``(ok_t, z_t)`` of the fourth test at the steps ``sel`` (module docstring); ``(None, None)`` without the
    parities' records."""
    par = getattr(main, "parities", lambda: None)()
    if par is None:
        return None, None
    (e0, j0), (e1, j1) = par
    d, jd = e1[:2] - e0[:2], j1[:, :2] - j0[:, :2]  # U and C (F is -inf at beta = 0 in both)
    err = jackknife_error(jd)
    zero = np.zeros(len(sel))
    # the difference carries its own error; the second curve of the comparison is exactly zero
    zu, oku = _agree(d[0, sel], err[0, sel], nu, zero, zero, math.inf, alpha / 2)
    zc, okc = _agree(d[1, sel], err[1, sel], nu, zero, zero, math.inf, alpha / 2)
    return oku & okc, np.fmax(zu, zc)


def certify_canonical(pt) -> Certified:
    """The canonical engine's MBAR curve (``pt``: a :class:`~ising_nn.paper.thermo.CachedThermo`) as a
    certified curve, for a network without population annealing: certified from its hottest temperature down to
    where its hot and cold ladders agree (``T_equilibrated``). Its errors are a bootstrap with no per-run
    replicates, so a maximum it locates has no jackknife error (:func:`fit_peak`); :func:`tc_answer` gives it the
    bootstrap error of the engine's grid maximum instead (``Tc_err_bootstrap``), and C's error there."""
    cur = pt.curve
    o = np.argsort(cur.T_t)
    T = np.asarray(cur.T_t, float)[o]
    cert = T >= float(pt.header.get("T_equilibrated", "inf"))
    n, ones, nan = len(T), np.ones(len(T), bool), np.full(len(T), np.nan)
    T_cert = float(T[cert].min()) if cert.any() else math.inf
    return Certified(T, cur.U_t[o], cur.U_err_t[o], cur.C_t[o], cur.C_err_t[o], np.empty((0, n)), ones, ones, ones,
                     nan, nan, nan, nan, nan, cert, T_cert, "hot and cold ladders" if not cert.all() else "", 0, 0,
                     method="replica exchange", Tc_err_bootstrap=float(cur.Tc_err))


def _vertex(lnT, C):
    a, bb, cc = np.polyfit(lnT, C, 2)
    if a >= 0:
        return math.nan, math.nan
    x = -bb / (2 * a)
    if not lnT.min() <= x <= lnT.max():
        return math.nan, math.nan
    return float(math.exp(x)), float(cc - bb * bb / (4 * a))


def fit_peak(T_t, C_t, C_jk_mt, T_cert: float, window: float = WINDOW) -> Peak:
    """Locate the maximum of C over ``T_t >= T_cert`` (module docstring).

    Parameters
    ----------
    T_t, C_t : ndarray, shape (n,)
        Ascending temperatures and C.
    C_jk_mt : ndarray, shape (M, n)
        Delete-one-run replicates of C (M = 0: none, the statistical error is NaN).
    T_cert : float
    window : float
        Relative half-width of the fit.
    """
    keep = T_t >= T_cert
    T, C, J = T_t[keep], C_t[keep], C_jk_mt[:, keep]
    nan = math.nan
    if T.size < 5:
        return Peak(nan, nan, nan, nan, nan, nan, False, T_cert)
    lnT = np.log(T)

    def centre(w, c):
        # the largest mean of C over +-w/2 in ln T: one noisy step does not move the window
        return int(np.argmax([c[np.abs(lnT - x) <= w / 2].mean() for x in lnT]))

    def fit(w, c):
        # clipped at the certified edge, but at least half the window below the maximum must be certified
        i = centre(w, c)
        m = (T >= T[i] / (1 + w)) & (T <= T[i] * (1 + w))
        if T[i] / (1 + w / 2) < T[0] or m.sum() < 5:
            return nan, nan
        return _vertex(lnT[m], c[m])

    Tc, Cmax = fit(window, C)
    if not np.isfinite(Tc):
        edge = T[centre(window, C)] / (1 + window / 2) < T[0]
        return Peak(nan, nan, nan, nan, float(C.max()), nan, False, T_cert,
                    float(T[0] * (1 + window / 2)) if edge else nan)
    M = J.shape[0]
    stat = c_err = nan
    if M > 1:
        reps = np.array([fit(window, J[m]) for m in range(M)])
        stat, c_err = (float(x) for x in jackknife_error(reps))
    others = [fit(f * window, C)[0] for f in (0.7, 1.4)]
    syst = max((abs(t - Tc) for t in others if np.isfinite(t)), default=0.0)
    return Peak(Tc, stat, syst, math.hypot(stat, syst), Cmax, c_err, True, T_cert)


def _with_bootstrap(p: Peak, c: Certified) -> Peak:
    """A maximum located on replica exchange's curve, which has no per-run replicates to refit: the bootstrap
    error of the engine's own T_c (its MBAR curve's grid maximum) stands in for the vertex's statistical error,
    and C's bootstrap error at the vertex for C_max's."""
    if not p.located or c.runs > 0 or not math.isfinite(c.Tc_err_bootstrap):
        return p
    stat = c.Tc_err_bootstrap
    c_err = float(_interp([p.Tc], c.T_t, c.C_err_t)[0])
    return replace(p, Tc_stat=stat, Tc_err=math.hypot(stat, p.Tc_syst), C_max_err=c_err)


def certified_answer(model, thermo, population) -> tuple[tuple, TcAnswer | None]:
    """The certified curves of a trained network and its shuffle, and the answer to the claim: the rule of the
    heat figure and of :func:`ising_nn.analyze`.

    Parameters
    ----------
    model : str
    thermo : (CachedThermo or None, CachedThermo or None)
        The canonical engine's results, trained and shuffled.
    population : (tuple or None, tuple or None)
        Population annealing's ``(R, R / 4)`` results (:func:`~ising_nn.paper.cached_population`), trained and
        shuffled, or None where it was not run.

    Returns
    -------
    (Certified or None, Certified or None), TcAnswer or None
        Population annealing's certified curves (None where not run), and the answer from each network's
        certified curve (population annealing's, else the canonical engine's); None when a network has neither.
    """
    pa = tuple(None if p is None else certify(p[0], p[1], th) for p, th in zip(population, thermo, strict=True))
    both = [c if c is not None or th is None else certify_canonical(th) for c, th in zip(pa, thermo, strict=True)]
    return pa, (tc_answer(model, *both) if None not in both else None)


def tc_answer(model, trained: Certified, shuffled: Certified) -> TcAnswer:
    """Peaks of both certified curves and the one-sided test of T_c(trained) > T_c(shuffled)."""
    from scipy import stats

    pk = [_with_bootstrap(fit_peak(c.T_t, c.C_t, c.C_jk_mt, c.T_cert), c) for c in (trained, shuffled)]
    # the jackknife's degrees of freedom; the canonical engine (runs = 0) has none, its bootstrap taken as exact
    jk = [c.runs for c in (trained, shuffled) if c.runs > 0]
    dof = min(jk) - 1 if jk else 0
    d = e = t = p = math.nan
    if pk[0].located and pk[1].located:
        d, e = pk[0].Tc - pk[1].Tc, math.hypot(pk[0].Tc_err, pk[1].Tc_err)
        t = d / e
    elif pk[0].located and np.isfinite(pk[1].upper):
        # the shuffle's maximum lies below its certified edge: test T_c(trained) against that bound
        t = (pk[0].Tc - pk[1].upper) / pk[0].Tc_err
    if np.isfinite(t):
        p = float(stats.t.sf(t, dof)) if dof > 0 else float(stats.norm.sf(t))
    return TcAnswer(str(model), trained, shuffled, pk[0], pk[1], d, e, t, dof, p)


def compare_at(temps, cert: Certified, pt=None):
    """U and C of population annealing (``cert``) and of the canonical engine (``pt``) at ``temps``, each
    with its error and whether it is certified there (pandas.DataFrame; interpolated in ln T)."""
    import pandas as pd

    rows = []
    for T in temps:
        r = dict(T=T)
        r.update(PA_U=_interp([T], cert.T_t, cert.U_t)[0], PA_U_err=_interp([T], cert.T_t, cert.U_err_t)[0],
                 PA_C=_interp([T], cert.T_t, cert.C_t)[0], PA_C_err=_interp([T], cert.T_t, cert.C_err_t)[0],
                 PA_rho_t=_interp([T], cert.T_t, cert.rho_t_t)[0], PA_certified=bool(T >= cert.T_cert))
        if pt is not None:
            c = pt.curve
            r.update(PT_U=_interp([T], c.T_t, c.U_t)[0], PT_U_err=_interp([T], c.T_t, c.U_err_t)[0],
                     PT_C=_interp([T], c.T_t, c.C_t)[0], PT_C_err=_interp([T], c.T_t, c.C_err_t)[0],
                     PT_certified=bool(T >= float(pt.header.get("T_equilibrated", "inf"))))
        rows.append(r)
    return pd.DataFrame(rows)
